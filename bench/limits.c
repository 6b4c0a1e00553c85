/* Two physical limits of this machine, on T threads, printed as JSON:
 *   read_gbs: memory read bandwidth, summing a buffer far larger than the
 *             caches with 256-bit loads (each thread its own slice);
 *   int8_gops: int8 dot-product peak, 12 independent accumulator chains per
 *             thread of the widest int8 dot product the CPU has: AVX-512
 *             VNNI vpdpbusd (64 MACs), AVX-VNNI vpdpbusd on ymm (32), or
 *             AVX2 vpmaddubsw + vpmaddwd + vpaddd (32 MACs per three
 *             instructions); one MAC counts as two ops;
 *   amx_gops: where the CPU has AMX-INT8 (and Linux grants its state), the
 *             same for tdpbusd: four independent 16 x 16 x 64 tile products
 *             per step per thread, the shape of qcc's AMX blocks; else 0;
 *   amx_loaded_gops: the same blocks with their four tile loads per step
 *             (two of rows, two of weights) from 64-byte aligned buffers of
 *             16 KiB in all (L1), as a kernel must load them; else 0;
 *   amx_l2_gops: the same with the loads walking 1 MiB (L2), as a kernel's
 *             rows and weight panels stream from L2; else 0.
 * Built by bench_quant.py with the host compiler: clang -O2 -march=native,
 * once as this program and once as a shared library for
 * limits_read_window_gbs (below), which the benchmark calls between calls
 * of the kernels it times. */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__AMX_INT8__) && defined(__AMX_TILE__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
  const uint8_t *data;
  size_t bytes;
  int reps;
  int64_t sink;
  long iters;
  const char *isa;
} job;

static void *read_slice(void *p) {
  job *j = p;
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (int r = 0; r < j->reps; ++r)
    for (size_t i = 0; i < j->bytes; i += 128) {
      acc0 = _mm256_add_epi64(acc0, _mm256_load_si256((const __m256i *)(j->data + i)));
      acc1 = _mm256_add_epi64(acc1, _mm256_load_si256((const __m256i *)(j->data + i + 32)));
      acc2 = _mm256_add_epi64(acc2, _mm256_load_si256((const __m256i *)(j->data + i + 64)));
      acc3 = _mm256_add_epi64(acc3, _mm256_load_si256((const __m256i *)(j->data + i + 96)));
    }
  __m256i s = _mm256_add_epi64(_mm256_add_epi64(acc0, acc1), _mm256_add_epi64(acc2, acc3));
  int64_t out[4];
  _mm256_storeu_si256((__m256i *)out, s);
  j->sink = out[0] + out[1] + out[2] + out[3];
  return NULL;
}

#define CHAINS 12
static void *dot_loop(void *p) {
  job *j = p;
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  int64_t sink = 0;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  __m512i a5 = _mm512_set1_epi8(3), b5 = _mm512_set1_epi8(-2), acc5[CHAINS];
  for (int c = 0; c < CHAINS; ++c)
    acc5[c] = _mm512_set1_epi32(c);
  for (long i = 0; i < j->iters; ++i)
    for (int c = 0; c < CHAINS; ++c)
      acc5[c] = _mm512_dpbusd_epi32(acc5[c], a5, b5);
  for (int c = 0; c < CHAINS; ++c)
    sink += _mm512_reduce_add_epi32(acc5[c]);
  j->isa = "avx512vnni vpdpbusd";
  (void)a, (void)b, (void)ones;
#elif defined(__AVXVNNI__)
  __m256i acc[CHAINS];
  for (int c = 0; c < CHAINS; ++c)
    acc[c] = _mm256_set1_epi32(c);
  for (long i = 0; i < j->iters; ++i)
    for (int c = 0; c < CHAINS; ++c)
      acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
  for (int c = 0; c < CHAINS; ++c)
    sink += _mm256_extract_epi32(acc[c], 0);
  j->isa = "avx-vnni vpdpbusd";
  (void)ones;
#else
  __m256i acc[CHAINS], bc[CHAINS];
  for (int c = 0; c < CHAINS; ++c) {
    acc[c] = _mm256_set1_epi32(c);
    bc[c] = _mm256_add_epi8(b, _mm256_set1_epi8((char)c));
  }
  for (long i = 0; i < j->iters; ++i) {
    /* a is opaque each step: the products cannot be hoisted or shared. */
    __asm__ volatile("" : "+x"(a));
    for (int c = 0; c < CHAINS; ++c)
      acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, bc[c]), ones));
  }
  for (int c = 0; c < CHAINS; ++c)
    sink += _mm256_extract_epi32(acc[c], 0);
  j->isa = "avx2 vpmaddubsw+vpmaddwd+vpaddd";
#endif
  j->sink = sink;
  return NULL;
}

static int macs_per_step(void) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  return 64;
#else
  return 32;
#endif
}

/* Runs fn on jobs[0 .. threads) at once; the seconds until all finished. */
static double run_threads(void *(*fn)(void *), job *jobs, int threads) {
  pthread_t tid[64];
  double t0 = now();
  for (int t = 0; t < threads; ++t)
    pthread_create(&tid[t], NULL, fn, &jobs[t]);
  for (int t = 0; t < threads; ++t)
    pthread_join(tid[t], NULL);
  return now() - t0;
}

#if defined(__AMX_INT8__) && defined(__AMX_TILE__)
typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} amx_config;

/* With j->reps set, each step loads its row and weight tiles, from
 * j->bytes of each (64-byte aligned: a tile row across two cache lines
 * costs two loads, which would halve the figure). */
static void *amx_loop(void *p) {
  job *j = p;
  const uint8_t *a = j->data, *b = j->data + (j->bytes ? j->bytes : 2048);
  int32_t c[16 * 16];
  amx_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int i = 0; i < 8; ++i) {
    cfg.rows[i] = 16;
    cfg.colsb[i] = 64;
  }
  _tile_loadconfig(&cfg);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, b, 64);
  _tile_loadd(7, b, 64);
  for (long i = 0; i < j->iters; ++i) {
    if (j->reps) {
      const long at = (long)(((size_t)i * 2048) % j->bytes);
      _tile_loadd(4, a + at, 64);
      _tile_loadd(5, a + at + 1024, 64);
      _tile_loadd(6, b + at, 64);
      _tile_loadd(7, b + at + 1024, 64);
    }
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  _tile_stored(0, c, 64);
  _tile_release();
  j->sink = c[0];
  return NULL;
}

/* tdpbusd GOP/s on `threads` threads, without tile loads (span 0) or
 * with loads over `span` bytes of rows and as many of weights per thread;
 * 0 where Linux refuses the state or memory runs out. */
static double amx_peak(int threads, size_t span) {
  if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) != 0)
    return 0;
  size_t per = span ? 2 * span : 4096;
  uint8_t *buf = aligned_alloc(64, per * (size_t)threads);
  if (!buf)
    return 0;
  memset(buf, 1, per * (size_t)threads);
  job jobs[64];
  double best = 0;
  long iters = 2000000;
  for (int trial = 0; trial < 3; ++trial) {
    for (int t = 0; t < threads; ++t)
      jobs[t] = (job){buf + per * (size_t)t, span, span != 0, 0, iters, ""};
    double seconds = run_threads(amx_loop, jobs, threads);
    double gops = 2.0 * 16 * 16 * 64 * 4 * (double)iters * threads / seconds / 1e9;
    best = gops > best ? gops : best;
  }
  free(buf);
  return best;
}
#else
static double amx_peak(int threads, size_t span) {
  (void)threads, (void)span;
  return 0;
}
#endif

/* GB/s of `threads` threads summing `bytes` at `data` `reps` times, each
 * thread its own slice. */
static double read_gbs(const uint8_t *data, size_t bytes, int threads, int reps) {
  job jobs[64];
  for (int t = 0; t < threads; ++t)
    jobs[t] = (job){data + bytes / threads * t, bytes / threads, reps, 0, 0, ""};
  return (double)reps * bytes / run_threads(read_slice, jobs, threads) / 1e9;
}

/* Read bandwidth over the next `window` bytes of a buffer four windows
 * long (1 GiB at least), summed by `threads` threads. Successive calls walk
 * the buffer, so with a window larger than the last-level cache each one
 * reads from memory. A window takes a few milliseconds: the benchmark puts
 * one beside each timed decode call, so both see the same spell of a VM
 * whose bandwidth changes from one second to the next. */
double limits_read_window_gbs(int threads, size_t window) {
  static uint8_t *buf;
  static size_t bytes, at;
  if (threads < 1 || threads > 64 || window < 4096 * (size_t)threads)
    return 0;
  window -= window % (4096 * (size_t)threads);
  size_t want = window * 4 > ((size_t)1 << 30) ? window * 4 : (size_t)1 << 30;
  if (bytes < want) {
    free(buf);
    buf = aligned_alloc(4096, want);
    if (!buf)
      return bytes = 0, 0;
    memset(buf, 1, want);
    bytes = want, at = 0;
  }
  if (at + window > bytes)
    at = 0;
  at += window;
  return read_gbs(buf + at - window, window, threads, 1);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 64)
    threads = 1;
  size_t bytes = (size_t)1 << 30;
  uint8_t *buf = aligned_alloc(64, bytes);
  if (!buf)
    return 1;
  memset(buf, 1, bytes);
  job jobs[64];
  double best_read = 0;
  for (int trial = 0; trial < 3; ++trial) {
    double gbs = read_gbs(buf, bytes, threads, 2);
    best_read = gbs > best_read ? gbs : best_read;
  }
  free(buf);

  double best_dot = 0;
  const char *isa = "";
  long iters = 20000000;
  for (int trial = 0; trial < 3; ++trial) {
    for (int t = 0; t < threads; ++t)
      jobs[t] = (job){NULL, 0, 0, 0, iters, ""};
    double seconds = run_threads(dot_loop, jobs, threads);
    double ops = 2.0 * macs_per_step() * CHAINS * (double)iters * threads;
    double gops = ops / seconds / 1e9;
    best_dot = gops > best_dot ? gops : best_dot;
    isa = jobs[0].isa;
  }
  printf("{\"threads\": %d, \"read_gbs\": %.2f, \"int8_gops\": %.1f, \"int8_isa\": \"%s\", "
         "\"amx_gops\": %.1f, \"amx_loaded_gops\": %.1f, \"amx_l2_gops\": %.1f}\n",
         threads, best_read, best_dot, isa, amx_peak(threads, 0), amx_peak(threads, 8192),
         amx_peak(threads, 512 * 1024));
  return 0;
}

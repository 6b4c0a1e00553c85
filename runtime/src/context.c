/*===- context.c - the run-time context: thread pool, scratch, arena -------===
 *
 * Workers are started on first use and kept until the instance goes away.
 * A parallel region hands out chunks through an atomic ticket; the calling
 * thread works too, and waits for the chunks, not for the workers. Between
 * regions workers spin briefly before sleeping, because a model runs many
 * short regions back to back. When the threads fit in the CPUs the process
 * may use, each worker is pinned to one of them, leaving the first for the
 * caller.
 *===----------------------------------------------------------------------===*/
#include "runtime.h"

/* pthread objects as opaque storage: 64 bytes covers the mutex and condition
 * variable of glibc and musl on x86-64 and arm64. */
typedef union { char bytes[64]; long long align; } qcc_mutex;
typedef union { char bytes[64]; long long align; } qcc_cond;
typedef unsigned long qcc_thread;
int pthread_create(qcc_thread *, const void *, void *(*)(void *), void *);
int pthread_join(qcc_thread, void **);
int pthread_mutex_init(qcc_mutex *, const void *);
int pthread_mutex_destroy(qcc_mutex *);
int pthread_mutex_lock(qcc_mutex *);
int pthread_mutex_unlock(qcc_mutex *);
int pthread_cond_init(qcc_cond *, const void *);
int pthread_cond_destroy(qcc_cond *);
int pthread_cond_wait(qcc_cond *, qcc_mutex *);
int pthread_cond_broadcast(qcc_cond *);
int pthread_cond_signal(qcc_cond *);
int get_nprocs(void);
/* Linux's CPU mask calls (glibc, musl and bionic); the mask is cpu_set_t's
 * 1024 bits, pid 0 the calling thread. */
typedef struct { unsigned long bits[1024 / (8 * sizeof(unsigned long))]; } qcc_cpu_mask;
int sched_getaffinity(int pid, size_t size, qcc_cpu_mask *mask);
int sched_setaffinity(int pid, size_t size, const qcc_cpu_mask *mask);
enum { MASK_WORD_BITS = 8 * sizeof(unsigned long) };

enum { SPIN_ITERATIONS = 1 << 14 };

static inline void cpu_relax(void) {
/* Builtins rather than inline asm: qcc's object emission has no assembler
 * parser. */
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __builtin_arm_yield();
#endif
}

typedef struct qcc_rt_pool qcc_rt_pool;
typedef struct {
  qcc_rt_pool *pool;
  int index;
  int cpu; /* the CPU this worker is pinned to, or -1 */
} worker_arg;

/* A region's chunks are claimed through `ticket`: its high 32 bits name
 * the region (the low bits of its generation), its low 32 bits the next
 * unclaimed chunk. The caller waits for `done` to count every chunk, never
 * for the workers themselves: a worker the OS has put to sleep may wake
 * long after the caller has done all the work (on a VM, a millisecond or
 * more), and then finds nothing left. A late worker that read the next
 * region's fields half-written cannot act on them: the caller closes the
 * ticket before writing them, so its claim fails. */
#define TICKET(gen, chunk) (((uint64_t)(uint32_t)(gen) << 32) | (uint32_t)(chunk))
#define TICKET_CLOSED 0xffffffffu

struct qcc_rt_pool {
  qcc_mutex lock;
  qcc_cond wake, done_cond;
  int workers;
  qcc_thread threads[QCC_MAX_THREADS];
  worker_arg args[QCC_MAX_THREADS];
  uint64_t generation; /* atomic: the current region */
  int stop;            /* atomic */
  uint64_t ticket;     /* atomic */
  int64_t done;        /* atomic: chunks finished in the current region */
  /* The current region; atomics, read by workers while the caller may be
   * writing the next one's. */
  qcc_rt_task_fn fn;
  void *data;
  int64_t n, grain, chunks;
};

/* Claims and runs chunks of region `gen` until none is left or the region
 * has changed. */
static void run_chunks(qcc_rt_pool *p, uint64_t gen, int thread) {
  for (;;) {
    uint64_t t = __atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE);
    if (t >> 32 != (uint32_t)gen)
      return;
    qcc_rt_task_fn fn = __atomic_load_n(&p->fn, __ATOMIC_RELAXED);
    void *data = __atomic_load_n(&p->data, __ATOMIC_RELAXED);
    int64_t n = __atomic_load_n(&p->n, __ATOMIC_RELAXED);
    int64_t grain = __atomic_load_n(&p->grain, __ATOMIC_RELAXED);
    int64_t chunks = __atomic_load_n(&p->chunks, __ATOMIC_RELAXED);
    /* Pairs with the caller's fence after closing the ticket: fields read
     * from the next region make the claim below fail. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    int64_t chunk = (int64_t)(uint32_t)t;
    if (chunk >= chunks)
      return;
    if (!__atomic_compare_exchange_n(&p->ticket, &t, t + 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      continue;
    int64_t begin = chunk * grain, end = begin + grain < n ? begin + grain : n;
    fn(data, begin, end, thread);
    if (__atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL) == chunks) {
      pthread_mutex_lock(&p->lock);
      pthread_cond_signal(&p->done_cond);
      pthread_mutex_unlock(&p->lock);
    }
  }
}

static void *worker_main(void *raw) {
  worker_arg *arg = raw;
  qcc_rt_pool *p = arg->pool;
  uint64_t seen = 0;
  if (arg->cpu >= 0) {
    /* Unpinned, a woken worker was often placed on the caller's CPU and
     * stayed there for milliseconds while the other CPU idled: on a 2-CPU
     * VM, a third of the calls after a pause ran at half speed or worse.
     * Failing to pin only loses that. */
    qcc_cpu_mask mask;
    memset(&mask, 0, sizeof mask);
    mask.bits[arg->cpu / MASK_WORD_BITS] |= 1ul << (arg->cpu % MASK_WORD_BITS);
    (void)sched_setaffinity(0, sizeof mask, &mask);
  }
  for (;;) {
    uint64_t gen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
    for (int i = 0; gen == seen && i < SPIN_ITERATIONS; ++i) {
      cpu_relax();
      gen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
    }
    if (gen == seen) {
      pthread_mutex_lock(&p->lock);
      while ((gen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE)) == seen &&
             !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
        pthread_cond_wait(&p->wake, &p->lock);
      pthread_mutex_unlock(&p->lock);
    }
    if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
      return NULL;
    seen = gen;
    run_chunks(p, gen, arg->index);
  }
}

static void pool_stop(qcc_rt_pool *p) {
  pthread_mutex_lock(&p->lock);
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->workers; ++i)
    pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done_cond);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

/* Starts num_threads - 1 workers; NULL if none could start. */
static qcc_rt_pool *pool_start(int num_threads) {
  qcc_rt_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done_cond, NULL);
  /* The CPUs this process may use, in order; workers are pinned only when
   * every thread can have one of its own. */
  int cpus[QCC_MAX_THREADS], ncpus = 0;
  qcc_cpu_mask allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int c = 0; c < 1024 && ncpus < num_threads; ++c)
      if (allowed.bits[c / MASK_WORD_BITS] >> (c % MASK_WORD_BITS) & 1)
        cpus[ncpus++] = c;
  const int pin = ncpus == num_threads;
  for (int i = 0; i < num_threads - 1; ++i) {
    p->args[i].pool = p;
    p->args[i].index = i + 1;
    p->args[i].cpu = pin ? cpus[i + 1] : -1;
    if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0)
      break;
    p->workers = i + 1;
  }
  if (p->workers == 0) {
    pool_stop(p);
    return NULL;
  }
  return p;
}

int qcc_rt_default_threads(void) {
  int n = get_nprocs();
  return n < 1 ? 1 : n > QCC_MAX_THREADS ? QCC_MAX_THREADS : n;
}

void qcc_rt_context_init(qcc_rt_context *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->num_threads = 1;
}

void qcc_rt_context_release(qcc_rt_context *ctx) {
  if (ctx->pool)
    pool_stop(ctx->pool);
  ctx->pool = NULL;
  for (int i = 0; i < QCC_MAX_THREADS; ++i) {
    free(ctx->scratch[i]);
    ctx->scratch[i] = NULL;
    ctx->scratch_size[i] = 0;
  }
  free(ctx->arena);
  ctx->arena = NULL;
  ctx->arena_size = 0;
  free(ctx->operands);
  ctx->operands = NULL;
  ctx->operands_size = 0;
}

void qcc_rt_context_set_threads(qcc_rt_context *ctx, int n) {
  n = n < 1 ? 1 : n > QCC_MAX_THREADS ? QCC_MAX_THREADS : n;
  if (n == ctx->num_threads)
    return;
  if (ctx->pool)
    pool_stop(ctx->pool);
  ctx->pool = NULL;
  ctx->num_threads = n;
}

/* *buf grown to hold at least `bytes` (contents not kept), returned 64-byte
 * aligned; NULL on OOM. */
static void *grow_aligned(void **buf, size_t *size, size_t bytes) {
  if (*size < bytes) {
    free(*buf);
    /* Over-allocate so the returned pointer can be 64-byte aligned. */
    *buf = malloc(bytes + 64);
    *size = *buf ? bytes : 0;
    if (!*buf)
      return NULL;
  }
  uintptr_t p = (uintptr_t)*buf;
  return (void *)((p + 63) & ~(uintptr_t)63);
}

void *qcc_rt_scratch(qcc_rt_context *ctx, int thread, size_t bytes) {
  return grow_aligned(&ctx->scratch[thread], &ctx->scratch_size[thread], bytes);
}

void *qcc_rt_operands(qcc_rt_context *ctx, size_t bytes) {
  return grow_aligned(&ctx->operands, &ctx->operands_size, bytes);
}

void qcc_rt_parallel_for(qcc_rt_context *ctx, int64_t n, int64_t grain,
                         qcc_rt_task_fn fn, void *data) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  if (ctx && ctx->num_threads > 1 && !ctx->pool && n > grain)
    ctx->pool = pool_start(ctx->num_threads);
  if (!ctx || !ctx->pool || n <= grain) {
    fn(data, 0, n, 0);
    return;
  }
  qcc_rt_pool *p = ctx->pool;
  const int64_t chunks = (n - 1) / grain + 1;
  if (chunks >= TICKET_CLOSED) {
    fn(data, 0, n, 0);
    return;
  }
  /* Only this thread writes the generation and the region's fields. */
  const uint64_t gen = __atomic_load_n(&p->generation, __ATOMIC_RELAXED) + 1;
  __atomic_store_n(&p->ticket, TICKET(gen, TICKET_CLOSED), __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&p->fn, fn, __ATOMIC_RELAXED);
  __atomic_store_n(&p->data, data, __ATOMIC_RELAXED);
  __atomic_store_n(&p->n, n, __ATOMIC_RELAXED);
  __atomic_store_n(&p->grain, grain, __ATOMIC_RELAXED);
  __atomic_store_n(&p->chunks, chunks, __ATOMIC_RELAXED);
  __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->ticket, TICKET(gen, 0), __ATOMIC_RELEASE);
  pthread_mutex_lock(&p->lock);
  __atomic_store_n(&p->generation, gen, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  run_chunks(p, gen, 0);
  for (int i = 0; __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != chunks && i < SPIN_ITERATIONS;
       ++i)
    cpu_relax();
  if (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != chunks) {
    pthread_mutex_lock(&p->lock);
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != chunks)
      pthread_cond_wait(&p->done_cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
  }
}

/* The arena as a rank-1 byte memref descriptor, returned through MLIR's C
 * interface. With a context the block is kept and grown across runs; without
 * one it lives for a single call and qcc_rt_arena_done frees it. */
typedef struct {
  void *allocated, *aligned;
  int64_t offset, size, stride;
} qcc_rt_bytes;

void _mlir_ciface_qcc_rt_arena(qcc_rt_bytes *out, qcc_rt_context *ctx, int64_t bytes) {
  void *raw = NULL;
  if (bytes < 1)
    bytes = 1;
  if (ctx) {
    if (ctx->arena_size < (size_t)bytes) {
      free(ctx->arena);
      ctx->arena = malloc((size_t)bytes + 64);
      ctx->arena_size = ctx->arena ? (size_t)bytes : 0;
    }
    raw = ctx->arena;
  } else {
    raw = malloc((size_t)bytes + 64);
  }
  /* Out of memory has no error path in generated code: stop here rather
   * than write through a null pointer. */
  if (!raw)
    __builtin_trap();
  out->allocated = raw;
  out->aligned = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  out->offset = 0;
  out->size = bytes;
  out->stride = 1;
}

void _mlir_ciface_qcc_rt_arena_done(qcc_rt_context *ctx, qcc_rt_bytes *arena) {
  if (!ctx)
    free(arena->allocated);
}

/* The arena plan for symbolic shapes: buffer i, live over positions
 * [intervals[2i], intervals[2i+1]] (in allocation order), goes just above
 * every earlier buffer still live when it is allocated; offsets are 64-byte
 * aligned. `live` is scratch for n indices. Returns the arena size. The
 * compiler applies the same rule to static shapes. */
int64_t qcc_rt_plan(int64_t n, intptr_t intervals, intptr_t sizes, intptr_t offsets,
                    intptr_t live) {
  const int64_t *iv = (const int64_t *)intervals, *sz = (const int64_t *)sizes;
  int64_t *off = (int64_t *)offsets, *act = (int64_t *)live;
  int64_t total = 0, nact = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = 0, keep = 0;
    for (int64_t a = 0; a < nact; ++a) {
      int64_t j = act[a];
      if (iv[2 * j + 1] <= iv[2 * i])
        continue; /* freed before i is allocated */
      act[keep++] = j;
      int64_t end = off[j] + (sz[j] + 63) / 64 * 64;
      o = end > o ? end : o;
    }
    nact = keep;
    act[nact++] = i;
    off[i] = o;
    int64_t end = o + (sz[i] + 63) / 64 * 64;
    total = end > total ? end : total;
  }
  return total;
}

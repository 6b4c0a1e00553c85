/*===- runtime.h - what generated code and the C API share at run time -----===
 *
 * The runtime is compiled freestanding to LLVM bitcode (one file serves every
 * libc of a target), so the few libc and pthread entry points it uses are
 * declared here rather than taken from system headers.
 *===----------------------------------------------------------------------===*/
#ifndef QCC_RUNTIME_H
#define QCC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

void *malloc(size_t);
void *calloc(size_t, size_t);
void free(void *);
void *memcpy(void *, const void *, size_t);
void *memset(void *, int, size_t);

/* Upper bound on worker threads an instance may use. */
#define QCC_MAX_THREADS 64

struct qcc_rt_pool;

/* Per-instance execution state handed to the generated code. A NULL context
 * is valid everywhere: it means one thread and scratch memory from malloc. */
typedef struct qcc_rt_context {
  int num_threads;
  struct qcc_rt_pool *pool; /* started lazily when num_threads > 1 */
  /* Per-thread scratch for the kernels (packed operand panels). */
  void *scratch[QCC_MAX_THREADS];
  size_t scratch_size[QCC_MAX_THREADS];
  /* The intermediate-buffer arena the generated code plans offsets into. */
  void *arena;
  size_t arena_size;
  /* Operands a kernel prepares on the calling thread before its tasks run
   * (quantized activation rows), reused from call to call. */
  void *operands;
  size_t operands_size;
} qcc_rt_context;

/* Runs fn(data, begin, end, thread) over [0, n) split into chunks of
 * `grain`; `thread` in [0, num_threads) names the executing thread so fn
 * can pick its scratch. Which thread runs which chunk never changes any
 * result, only the time. */
typedef void (*qcc_rt_task_fn)(void *data, int64_t begin, int64_t end, int thread);
void qcc_rt_parallel_for(qcc_rt_context *ctx, int64_t n, int64_t grain,
                         qcc_rt_task_fn fn, void *data);
/* Scratch of at least `bytes` for `thread`, 64-byte aligned; NULL on OOM. */
void *qcc_rt_scratch(qcc_rt_context *ctx, int thread, size_t bytes);
/* The calling thread's operand buffer of at least `bytes`, 64-byte aligned,
 * valid until the next call; NULL on OOM. */
void *qcc_rt_operands(qcc_rt_context *ctx, size_t bytes);

/* The float matmul kernel (sgemm.c): C[b] += A[b] * B[b] for up to three
 * batch dims; operands are data addresses and element strides. */
void qcc_rt_sgemm(qcc_rt_context *ctx, int64_t m, int64_t n, int64_t k, int64_t b0,
                  int64_t b1, int64_t b2, intptr_t a, int64_t a_rs, int64_t a_cs,
                  int64_t a_b0, int64_t a_b1, int64_t a_b2, intptr_t b, int64_t b_rs,
                  int64_t b_cs, int64_t b_b0, int64_t b_b1, int64_t b_b2, intptr_t c,
                  int64_t c_rs, int64_t c_cs, int64_t c_b0, int64_t c_b1, int64_t c_b2);
/* The same with B pre-packed by the compiler: ceil(n / panel_width) panels
 * of k x panel_width floats, k-major, shared by every batch entry. */
void qcc_rt_sgemm_packed(qcc_rt_context *ctx, int64_t m, int64_t n, int64_t k,
                         int64_t b0, int64_t b1, int64_t b2, intptr_t a, int64_t a_rs,
                         int64_t a_cs, int64_t a_b0, int64_t a_b1, int64_t a_b2,
                         intptr_t b, int64_t panel_width, intptr_t c, int64_t c_rs,
                         int64_t c_cs, int64_t c_b0, int64_t c_b1, int64_t c_b2);

/* Header of a quantized weight packed by qcc-pack-weights; the tiles follow
 * (docs/Kernels.md). The compiler writes it, the quantized kernels
 * (qgemm.c) read it: both sides must agree field for field. */
#define QCC_RT_QWEIGHT_MAGIC 0x31574351 /* "QCW1" */
typedef struct qcc_rt_qweight {
  int64_t magic;
  int64_t bits;  /* 4 or 8 */
  int64_t k, n;  /* logical weight [K, N] */
  int64_t group; /* K per scale, a multiple of 8 (per column: K rounded up) */
  int64_t nr;    /* columns per tile */
  int64_t flags; /* QCC_RT_QWEIGHT_F16_SCALES */
  int64_t reserved;
} qcc_rt_qweight;
#define QCC_RT_QWEIGHT_F16_SCALES 1 /* scales stored as f16, not f32 */
/* An integer matmul's weight: one group over all of K, the stored values
 * already centered (all in [-127, 127]), zero points 0, and each column's
 * int32 sum of them where the scales would be. */
#define QCC_RT_QWEIGHT_INT_SUMS 2

/* y[m x n] = x[m x k] * W + bias + res (bias and res may be NULL; res
 * is added after bias); rows x_rs / res_rs / y_rs floats apart. With
 * int8_act, rows of x are quantized first: with act_scale if it is not 0,
 * else per row. */
void qcc_rt_qlinear_impl(qcc_rt_context *ctx, const float *x, int64_t x_rs, int64_t m,
                         const qcc_rt_qweight *w, const float *bias, const float *res,
                         int64_t res_rs, float *y, int64_t y_rs, int64_t int8_act,
                         float act_scale);

/* ONNX MatMulInteger with a packed (QCC_RT_QWEIGHT_INT_SUMS) weight:
 * y[m x n] = (a - a_zp) * W in int32, a being int8 (a_unsigned 0) or uint8
 * rows a_rs bytes apart, a_zp NULL (0), one value, or one per row
 * (zp_count 1 or m). Sums past the range of int32 wrap, as they would in
 * any int32 accumulation. */
void qcc_rt_qmatmul_impl(qcc_rt_context *ctx, const uint8_t *a, int64_t a_rs, int64_t m,
                         int64_t a_unsigned, const uint8_t *a_zp, int64_t zp_count,
                         const qcc_rt_qweight *w, int32_t *y, int64_t y_rs);

/* The same with y in f32: each int32 sum converted to f32 and multiplied
 * by scales[n] (scales[0] when scale_count is 1; else it is n), as a
 * separate cast and multiply would round it. */
void qcc_rt_qmatmul_scaled_impl(qcc_rt_context *ctx, const uint8_t *a, int64_t a_rs, int64_t m,
                                int64_t a_unsigned, const uint8_t *a_zp, int64_t zp_count,
                                const qcc_rt_qweight *w, const float *scales,
                                int64_t scale_count, float *y, int64_t y_rs);

/* ONNX DynamicQuantizeLinear over n contiguous floats: lo = min(x, 0),
 * hi = max(x, 0), scale = (hi - lo) / 255 (1 when that is 0), zero point
 * clamp(round_even(-lo / scale), 0, 255), q = clamp(round_even(x / scale)
 * + zero point, 0, 255), every step rounded as the reference lowering
 * rounds it. */
void qcc_rt_dynamic_quantize_u8_impl(qcc_rt_context *ctx, const float *x, int64_t n, uint8_t *q,
                                     float *scale, uint8_t *zp);

void qcc_rt_context_init(qcc_rt_context *ctx);
void qcc_rt_context_release(qcc_rt_context *ctx);
/* Changes the thread count; the pool restarts on next use. */
void qcc_rt_context_set_threads(qcc_rt_context *ctx, int n);
/* Number of CPUs online, at least 1. */
int qcc_rt_default_threads(void);

#endif

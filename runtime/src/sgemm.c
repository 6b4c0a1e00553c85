/*===- sgemm.c - the float matmul kernel generated code calls --------------===
 *
 * C[b] += A[b] * B[b] for up to three batch dims, every operand addressed by
 * element strides (0 broadcasts), so transposed and broadcast views need no
 * copies. Compiled once per vector ISA (QCC_VL floats per register, an
 * QCC_MR x QCC_NR register tile); the compiler links the variant matching
 * the target CPU.
 *
 * B may also come pre-packed (qcc_rt_sgemm_packed): constant weights are
 * laid out by the compiler as ceil(N / NR) panels, each K x NR floats,
 * k-major, columns past N zero. A packed block of B is then a sub-range of
 * that array and the kernel reads weights straight from read-only data.
 *
 * Every C element is computed as one chain c = c + a[k] * b[k] in increasing
 * k, starting from C's value: blocking, packing and the split across threads
 * never change the result, so it is identical for any thread count.
 *===----------------------------------------------------------------------===*/
#include "runtime.h"

#ifndef QCC_VL
#define QCC_VL 4
#endif
#ifndef QCC_MR
#define QCC_MR 6
#endif
#ifndef QCC_NR
#define QCC_NR (2 * QCC_VL)
#endif
#define NV (QCC_NR / QCC_VL)

/* Cache blocking: a KC x NC block of B and an MC x KC block of A are packed
 * per thread; one KC x NR micro-panel of B stays in L1 while the A panels
 * stream past it. When all rows fit one A block, B is used once and the
 * block widens to NC_WIDE, so packing reads long runs of each weight row
 * (weights usually come from memory, not cache). */
enum { KC = 256, NC = 512, NC_WIDE = 4096, MC = 20 * QCC_MR };
/* Below this many rows B is streamed unpacked (matrix-vector regime). */
enum { SMALL_M = 8 };
/* Up to this many rows a pre-packed B is streamed panel by panel. */
enum { SMALL_M_PACKED = 4 };
/* Panels streamed together in that regime: enough independent
 * accumulator chains (M x P x NV of them) to hide the FMA latency. */
#define SMALL_PANELS(M) ((M) * NV >= 8 ? 1 : (8 + (M) * NV - 1) / ((M) * NV))

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

typedef float vf __attribute__((vector_size(QCC_VL * 4), aligned(4)));

static inline vf vload(const float *p) { return *(const vf *)p; }
static inline void vstore(float *p, vf v) { *(vf *)p = v; }

typedef struct {
  int64_t m, n, k;
  int64_t batch[3];
  const float *a;
  int64_t a_rs, a_cs, a_bs[3];
  const float *b;
  int64_t b_rs, b_cs, b_bs[3];
  float *c;
  int64_t c_rs, c_cs, c_bs[3];
  qcc_rt_context *ctx;
  /* B is pre-packed in NR-column panels of k x NR floats. */
  int packed;
  /* Few rows and unit column strides: B streamed unpacked (or, when packed,
   * panel by panel). */
  int small;
  /* Work split: tasks = batches x m_tiles x n_tiles. */
  int64_t m_tile, n_tile, m_tiles, n_tiles;
} gemm;

/* Packs rows [i0, i0+mc) x cols [p0, p0+kc) of A into MR-row panels,
 * k-major within a panel, zero-padding missing rows. */
static void pack_a(const gemm *g, const float *a, int64_t i0, int64_t mc, int64_t p0,
                   int64_t kc, float *dst) {
  for (int64_t i = 0; i < mc; i += QCC_MR) {
    int64_t rows = mc - i < QCC_MR ? mc - i : QCC_MR;
    for (int64_t p = 0; p < kc; ++p) {
      const float *src = a + (i0 + i) * g->a_rs + (p0 + p) * g->a_cs;
      int r = 0;
      for (; r < rows; ++r)
        dst[r] = src[r * g->a_rs];
      for (; r < QCC_MR; ++r)
        dst[r] = 0.0f;
      dst += QCC_MR;
    }
  }
}

/* Packs rows [p0, p0+kc) x cols [j0, j0+nc) of B into NR-column panels,
 * zero-padding missing columns. B is read row by row, the order hardware
 * prefetchers follow; the panels are written as parallel streams. */
static void pack_b(const gemm *g, const float *b, int64_t p0, int64_t kc, int64_t j0,
                   int64_t nc, float *dst) {
  for (int64_t p = 0; p < kc; ++p) {
    const float *row = b + (p0 + p) * g->b_rs + j0 * g->b_cs;
    for (int64_t j = 0; j < nc; j += QCC_NR) {
      int64_t cols = nc - j < QCC_NR ? nc - j : QCC_NR;
      float *out = dst + j * kc + p * QCC_NR;
      const float *src = row + j * g->b_cs;
      int c = 0;
      if (g->b_cs == 1 && cols == QCC_NR) {
        for (int v = 0; v < NV; ++v)
          vstore(out + v * QCC_VL, vload(src + v * QCC_VL));
        c = QCC_NR;
      }
      for (; c < cols; ++c)
        out[c] = src[c * g->b_cs];
      for (; c < QCC_NR; ++c)
        out[c] = 0.0f;
    }
  }
}

/* The register tile: C[MR x NR] (row stride ldc, unit column stride) +=
 * packed A panel * packed B panel over kc. */
static void kernel(int64_t kc, const float *restrict ap, const float *restrict bp,
                   float *restrict c, int64_t ldc) {
  vf acc[QCC_MR][NV];
  for (int i = 0; i < QCC_MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = vload(c + i * ldc + v * QCC_VL);
  for (int64_t p = 0; p < kc; ++p) {
    vf bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = vload(bp + v * QCC_VL);
    for (int i = 0; i < QCC_MR; ++i) {
      float a = ap[i];
      for (int v = 0; v < NV; ++v)
        acc[i][v] = acc[i][v] + a * bv[v];
    }
    ap += QCC_MR;
    bp += QCC_NR;
  }
  for (int i = 0; i < QCC_MR; ++i)
    for (int v = 0; v < NV; ++v)
      vstore(c + i * ldc + v * QCC_VL, acc[i][v]);
}

/* B[p][j], packed or strided. */
static inline float b_at(const gemm *g, const float *b, int64_t p, int64_t j) {
  if (g->packed)
    return b[(j / QCC_NR) * g->k * QCC_NR + p * QCC_NR + j % QCC_NR];
  return b[p * g->b_rs + j * g->b_cs];
}

/* One task: a batch entry's rows [i0, i1) x cols [j0, j1), packed path. */
static void packed_tile(gemm *g, const float *a, const float *b, float *c, int64_t i0,
                        int64_t i1, int64_t j0, int64_t j1, int thread) {
  /* Whole panels per block: with packed B, block starts are panel starts. */
  int64_t nc_max = (i1 - i0 <= MC ? NC_WIDE : NC) / QCC_NR * QCC_NR;
  if (nc_max > j1 - j0)
    nc_max = ceil_div(j1 - j0, QCC_NR) * QCC_NR;
  size_t need = (size_t)(KC * nc_max + MC * KC + QCC_MR * QCC_NR) * sizeof(float);
  float *bpack = qcc_rt_scratch(g->ctx, thread, need);
  if (!bpack) {
    /* No scratch memory: the same sums, one element at a time. */
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = j0; j < j1; ++j) {
        float acc = c[i * g->c_rs + j * g->c_cs];
        for (int64_t p = 0; p < g->k; ++p)
          acc = acc + a[i * g->a_rs + p * g->a_cs] * b_at(g, b, p, j);
        c[i * g->c_rs + j * g->c_cs] = acc;
      }
    return;
  }
  float *apack = bpack + KC * nc_max, *tmp = apack + MC * KC;
  for (int64_t jc = j0; jc < j1; jc += nc_max) {
    int64_t nc = j1 - jc < nc_max ? j1 - jc : nc_max;
    for (int64_t pc = 0; pc < g->k; pc += KC) {
      int64_t kc = g->k - pc < KC ? g->k - pc : KC;
      if (!g->packed)
        pack_b(g, b, pc, kc, jc, nc, bpack);
      for (int64_t ic = i0; ic < i1; ic += MC) {
        int64_t mc = i1 - ic < MC ? i1 - ic : MC;
        pack_a(g, a, ic, mc, pc, kc, apack);
        for (int64_t jr = 0; jr < nc; jr += QCC_NR) {
          int64_t nr = nc - jr < QCC_NR ? nc - jr : QCC_NR;
          for (int64_t ir = 0; ir < mc; ir += QCC_MR) {
            int64_t mr = mc - ir < QCC_MR ? mc - ir : QCC_MR;
            float *ct = c + (ic + ir) * g->c_rs + (jc + jr) * g->c_cs;
            const float *ap = apack + ir * kc;
            const float *bp = g->packed ? b + (jc + jr) * g->k + pc * QCC_NR
                                        : bpack + jr * kc;
            if (mr == QCC_MR && nr == QCC_NR && g->c_cs == 1) {
              kernel(kc, ap, bp, ct, g->c_rs);
              continue;
            }
            /* Edge or strided tile: through a dense temporary. */
            for (int64_t i = 0; i < mr; ++i)
              for (int64_t j = 0; j < nr; ++j)
                tmp[i * QCC_NR + j] = ct[i * g->c_rs + j * g->c_cs];
            kernel(kc, ap, bp, tmp, QCC_NR);
            for (int64_t i = 0; i < mr; ++i)
              for (int64_t j = 0; j < nr; ++j)
                ct[i * g->c_rs + j * g->c_cs] = tmp[i * QCC_NR + j];
          }
        }
      }
    }
  }
}

/* Few rows, B with unit column stride: stream B once, k-major, keeping this
 * task's slice of C hot. */
static void small_tile(gemm *g, const float *a, const float *b, float *c, int64_t j0,
                       int64_t j1) {
  enum { KB = 4 };
  /* Columns per pass so the C slice stays within 16 KiB. */
  int64_t width = (4096 / (g->m > 0 ? g->m : 1)) & ~(int64_t)(QCC_VL - 1);
  if (width < QCC_VL)
    width = QCC_VL;
  for (int64_t jc = j0; jc < j1; jc += width) {
    int64_t je = j1 - jc < width ? j1 : jc + width;
    int64_t jv = jc + ((je - jc) & ~(int64_t)(QCC_VL - 1));
    int64_t p = 0;
    for (; p + KB <= g->k; p += KB) {
      const float *b0 = b + p * g->b_rs;
      for (int64_t i = 0; i < g->m; ++i) {
        const float *ar = a + i * g->a_rs + p * g->a_cs;
        float a0 = ar[0], a1 = ar[g->a_cs], a2 = ar[2 * g->a_cs], a3 = ar[3 * g->a_cs];
        float *cr = c + i * g->c_rs;
        for (int64_t j = jc; j < jv; j += QCC_VL) {
          vf acc = vload(cr + j);
          acc = acc + a0 * vload(b0 + j);
          acc = acc + a1 * vload(b0 + g->b_rs + j);
          acc = acc + a2 * vload(b0 + 2 * g->b_rs + j);
          acc = acc + a3 * vload(b0 + 3 * g->b_rs + j);
          vstore(cr + j, acc);
        }
        for (int64_t j = jv; j < je; ++j) {
          float acc = cr[j];
          acc = acc + a0 * b0[j];
          acc = acc + a1 * b0[g->b_rs + j];
          acc = acc + a2 * b0[2 * g->b_rs + j];
          acc = acc + a3 * b0[3 * g->b_rs + j];
          cr[j] = acc;
        }
      }
    }
    for (; p < g->k; ++p) {
      const float *br = b + p * g->b_rs;
      for (int64_t i = 0; i < g->m; ++i) {
        float av = a[i * g->a_rs + p * g->a_cs];
        float *cr = c + i * g->c_rs;
        for (int64_t j = jc; j < jv; j += QCC_VL)
          vstore(cr + j, vload(cr + j) + av * vload(br + j));
        for (int64_t j = jv; j < je; ++j)
          cr[j] = cr[j] + av * br[j];
      }
    }
  }
}

/* M rows (M <= SMALL_M_PACKED) x P panels of pre-packed B starting at
 * column j, streaming the panels once; `cols` of the P * NR are in C. */
static inline __attribute__((always_inline)) void
small_panels(const gemm *g, const float *a, const float *b, float *c, int64_t j,
             int64_t cols, int M, int P) {
  vf acc[SMALL_M_PACKED][4][NV];
  float tmp[SMALL_M_PACKED][4 * QCC_NR];
  int direct = cols == P * QCC_NR && g->c_cs == 1;
  for (int i = 0; i < M; ++i) {
    float *cr = c + i * g->c_rs + j * g->c_cs;
    if (!direct) {
      for (int64_t q = 0; q < P * QCC_NR; ++q)
        tmp[i][q] = q < cols ? cr[q * g->c_cs] : 0.0f;
      cr = tmp[i];
    }
    for (int q = 0; q < P; ++q)
      for (int v = 0; v < NV; ++v)
        acc[i][q][v] = vload(cr + q * QCC_NR + v * QCC_VL);
  }
  const float *bp = b + j * g->k;
  int64_t panel = g->k * QCC_NR;
  for (int64_t p = 0; p < g->k; ++p) {
    for (int i = 0; i < M; ++i) {
      float av = a[i * g->a_rs + p * g->a_cs];
      for (int q = 0; q < P; ++q)
        for (int v = 0; v < NV; ++v)
          acc[i][q][v] = acc[i][q][v] + av * vload(bp + q * panel + v * QCC_VL);
    }
    bp += QCC_NR;
  }
  for (int i = 0; i < M; ++i) {
    float *cr = direct ? c + i * g->c_rs + j : tmp[i];
    for (int q = 0; q < P; ++q)
      for (int v = 0; v < NV; ++v)
        vstore(cr + q * QCC_NR + v * QCC_VL, acc[i][q][v]);
    if (!direct)
      for (int64_t q = 0; q < cols; ++q)
        c[i * g->c_rs + (j + q) * g->c_cs] = tmp[i][q];
  }
}

static void small_packed_rows(const gemm *g, const float *a, const float *b, float *c,
                              int64_t j0, int64_t j1, int M) {
  int P = SMALL_PANELS(M);
  for (int64_t j = j0; j < j1; j += P * QCC_NR) {
    int64_t cols = j1 - j < P * QCC_NR ? j1 - j : P * QCC_NR;
    int panels = (int)ceil_div(cols, QCC_NR);
    /* Constant M and P in each call, so the accumulators stay in registers. */
#define PANELS_CASE(MM)                                                        \
  if (M == MM) {                                                               \
    if (panels == SMALL_PANELS(MM))                                            \
      small_panels(g, a, b, c, j, cols, MM, SMALL_PANELS(MM));                 \
    else                                                                       \
      for (int q = 0; q < panels; ++q)                                         \
        small_panels(g, a, b, c, j + q * QCC_NR,                               \
                     cols - q * QCC_NR < QCC_NR ? cols - q * QCC_NR : QCC_NR,  \
                     MM, 1);                                                   \
    continue;                                                                  \
  }
    PANELS_CASE(1)
    PANELS_CASE(2)
    PANELS_CASE(3)
    PANELS_CASE(4)
#undef PANELS_CASE
  }
}

/* Few rows, pre-packed B: rows in groups of up to SMALL_M_PACKED. */
static void small_packed_tile(const gemm *g, const float *a, const float *b, float *c,
                              int64_t j0, int64_t j1) {
  for (int64_t i = 0; i < g->m; i += SMALL_M_PACKED) {
    int rows = g->m - i < SMALL_M_PACKED ? (int)(g->m - i) : SMALL_M_PACKED;
    small_packed_rows(g, a + i * g->a_rs, b, c + i * g->c_rs, j0, j1, rows);
  }
}

static void run_task(void *data, int64_t begin, int64_t end, int thread) {
  gemm *g = data;
  for (int64_t t = begin; t < end; ++t) {
    int64_t rest = t;
    int64_t jt = rest % g->n_tiles; rest /= g->n_tiles;
    int64_t it = rest % g->m_tiles; rest /= g->m_tiles;
    int64_t i2 = rest % g->batch[2]; rest /= g->batch[2];
    int64_t i1 = rest % g->batch[1]; rest /= g->batch[1];
    int64_t i0 = rest;
    const float *a = g->a + i0 * g->a_bs[0] + i1 * g->a_bs[1] + i2 * g->a_bs[2];
    const float *b = g->b + i0 * g->b_bs[0] + i1 * g->b_bs[1] + i2 * g->b_bs[2];
    float *c = g->c + i0 * g->c_bs[0] + i1 * g->c_bs[1] + i2 * g->c_bs[2];
    int64_t m0 = it * g->m_tile, m1 = m0 + g->m_tile < g->m ? m0 + g->m_tile : g->m;
    int64_t n0 = jt * g->n_tile, n1 = n0 + g->n_tile < g->n ? n0 + g->n_tile : g->n;
    if (g->small && g->packed)
      small_packed_tile(g, a, b, c, n0, n1);
    else if (g->small)
      small_tile(g, a, b, c, n0, n1);
    else
      packed_tile(g, a, b, c, m0, m1, n0, n1, thread);
  }
}

static void run_gemm(gemm *g) {
  qcc_rt_context local, *ctx = g->ctx;
  if (!ctx) {
    qcc_rt_context_init(&local);
    ctx = g->ctx = &local;
  }
  /* Split rows and columns until every thread has a couple of tasks;
   * columns first (each task then packs only its share of B). */
  int threads = ctx->num_threads;
  int64_t batches = g->batch[0] * g->batch[1] * g->batch[2];
  /* Waking the pool costs microseconds: small products stay on one thread. */
  int64_t work = g->m * g->n * g->k * batches;
  int64_t want = threads > 1 && work >= ((int64_t)1 << 20) ? 2 * (int64_t)threads : 1;
  /* Column tiles start at panel boundaries (of the packed B, or of the
   * streaming small path's C slices). */
  int64_t n_align = g->small ? (g->packed ? 4 * QCC_NR : 64) : QCC_NR;
  while (batches * g->m_tiles * g->n_tiles < want) {
    if (g->n_tile >= 2 * n_align) {
      g->n_tile = ceil_div(ceil_div(g->n_tile, 2), n_align) * n_align;
      g->n_tiles = ceil_div(g->n, g->n_tile);
    } else if (g->m_tile >= 2 * QCC_MR && !g->small) {
      g->m_tile = ceil_div(ceil_div(g->m_tile, 2), QCC_MR) * QCC_MR;
      g->m_tiles = ceil_div(g->m, g->m_tile);
    } else {
      break;
    }
  }
  qcc_rt_parallel_for(ctx, batches * g->m_tiles * g->n_tiles, 1, run_task, g);
  if (ctx == &local)
    qcc_rt_context_release(&local);
}

void qcc_rt_sgemm(qcc_rt_context *ctx, int64_t m, int64_t n, int64_t k, int64_t b0,
                 int64_t b1, int64_t b2, intptr_t a, int64_t a_rs, int64_t a_cs,
                 int64_t a_b0, int64_t a_b1, int64_t a_b2, intptr_t b, int64_t b_rs,
                 int64_t b_cs, int64_t b_b0, int64_t b_b1, int64_t b_b2, intptr_t c,
                 int64_t c_rs, int64_t c_cs, int64_t c_b0, int64_t c_b1, int64_t c_b2) {
  if (m <= 0 || n <= 0 || b0 <= 0 || b1 <= 0 || b2 <= 0 || k <= 0)
    return;
  gemm g = {m, n, k, {b0, b1, b2}, (const float *)a, a_rs, a_cs, {a_b0, a_b1, a_b2},
            (const float *)b, b_rs, b_cs, {b_b0, b_b1, b_b2}, (float *)c, c_rs, c_cs,
            {c_b0, c_b1, c_b2}, ctx, 0,
            m < SMALL_M && b_cs == 1 && c_cs == 1, m, n, 1, 1};
  run_gemm(&g);
}

void qcc_rt_sgemm_packed(qcc_rt_context *ctx, int64_t m, int64_t n, int64_t k,
                         int64_t b0, int64_t b1, int64_t b2, intptr_t a, int64_t a_rs,
                         int64_t a_cs, int64_t a_b0, int64_t a_b1, int64_t a_b2,
                         intptr_t b, int64_t panel_width, intptr_t c, int64_t c_rs,
                         int64_t c_cs, int64_t c_b0, int64_t c_b1, int64_t c_b2) {
  if (m <= 0 || n <= 0 || b0 <= 0 || b1 <= 0 || b2 <= 0 || k <= 0)
    return;
  gemm g = {m, n, k, {b0, b1, b2}, (const float *)a, a_rs, a_cs, {a_b0, a_b1, a_b2},
            (const float *)b, QCC_NR, 1, {0, 0, 0}, (float *)c, c_rs, c_cs,
            {c_b0, c_b1, c_b2}, ctx, 1, m <= SMALL_M_PACKED, m, n, 1, 1};
  if (panel_width != QCC_NR) {
    /* Packed for another kernel variant (the compiler and the linked kernel
     * disagree): still the right sums, element by element. */
    for (int64_t t = 0; t < b0 * b1 * b2; ++t) {
      int64_t i2 = t % b2, i1 = (t / b2) % b1, i0 = t / (b1 * b2);
      const float *at = g.a + i0 * a_b0 + i1 * a_b1 + i2 * a_b2;
      float *ct = g.c + i0 * c_b0 + i1 * c_b1 + i2 * c_b2;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          float acc = ct[i * c_rs + j * c_cs];
          for (int64_t p = 0; p < k; ++p)
            acc = acc + at[i * a_rs + p * a_cs] *
                            g.b[(j / panel_width) * k * panel_width + p * panel_width +
                                j % panel_width];
          ct[i * c_rs + j * c_cs] = acc;
        }
    }
    return;
  }
  run_gemm(&g);
}

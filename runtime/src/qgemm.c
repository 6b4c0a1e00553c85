/*===- qgemm.c - quantized linear layers on packed weights -----------------===
 *
 * y = x * dequantize(W) + bias (+ residual) with W packed at compile time by
 * qcc-pack-weights (layout in docs/Kernels.md, header in runtime.h). With
 * int8 activations each row of x is quantized once per call (symmetric,
 * scale max|row| / 127, round half to even) and the group dot products
 * accumulate exactly in int32; the float epilogue runs in the order of the
 * reference (python/qcc/quant_ref.py):
 *   t = 0; for g: t = t + float(acc_g) * s_w[g];  y = s_row * t (+ bias)
 * (the residual of a fused skip connection is added last, as its add was)
 * so every variant gives bit-identical results (the AVX2 prefill kernel for
 * int4 weights gets the same integers from a + 128 against centered
 * weights). Weight-only layers compute
 * x * (float(q - zp) * s_w) in float.
 *
 * Integer matmuls (ONNX MatMulInteger) run on the same int8 kernels with an
 * int32 epilogue: rows of a become int8 a' = a - off (off = 128 for uint8,
 * else 0) and y = sum(a' * w) + (off - a_zp) * colsum(w), the weights
 * stored centered with their column sums beside them.
 *
 * The portable scalar code below is the reference every vector kernel is
 * tested against; it is also what targets without a vector variant run.
 *===----------------------------------------------------------------------===*/
#include "runtime.h"

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

/* The MLIR C-interface descriptors of the kernel's operands. */
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} qcc_rt_f32_2d;
typedef struct {
  float *allocated, *aligned;
  int64_t offset, size, stride;
} qcc_rt_f32_1d;
typedef struct {
  int8_t *allocated, *aligned;
  int64_t offset, size, stride;
} qcc_rt_i8_1d;
typedef struct {
  uint8_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} qcc_rt_u8_2d;
typedef struct {
  int32_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} qcc_rt_i32_2d;

/* What one call works on, shared by the tasks. */
typedef struct {
  qcc_rt_context *ctx;
  const qcc_rt_qweight *w;
  const uint8_t *tiles;
  int64_t m, groups, kp, block_bytes, tile_bytes;
  int64_t zp_at;    /* offset of the zero points in a block */
  int f16_scales;   /* scales stored as f16 */
  const float *x; /* float rows (weight-only), x_rs floats apart */
  int64_t x_rs;
  const int8_t *qa; /* int8 rows of kp values, qs bytes apart */
  int64_t qs;
  float act_scale;  /* static activation scale; 0: per row from max|row| */
  const float *sa;  /* row scales */
  const int32_t *asum; /* per row and group: sum of the row's int8 values */
  const float *bias;
  const float *res; /* residual added last, res_rs floats apart; or NULL */
  int64_t res_rs;
  float *y;
  int64_t y_rs;
  /* Integer matmul: int8/uint8 rows (flip 0x80 turns uint8 into a'), the
   * per-row (off - a_zp) and the int32 output, y_rs apart. */
  const uint8_t *a;
  int64_t a_rs;
  uint8_t a_flip;
  const int32_t *corr;
  int32_t *yi;
  /* With ys, yi holds f32: each sum converted and multiplied by ys[n] (by
   * ys[0] when ys_n is 1). */
  const float *ys;
  int64_t ys_n;
  int qa_unsigned; /* int8 rows stored as a + 128 (the int4 panel kernel) */
  int amx;         /* rows run on AMX tiles, qa padded to 32 rows */
  /* AMX over K in chunks: this pass covers K-bytes [k0, k1) of kp; sums
   * wait between passes in part (32 x 16 int32 per row block and tile). */
  int64_t k0, k1;
  int32_t *part;
} qlinear_job;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* AMX kernels take the rows in blocks of this many, the last one padded. */
#define QCC_AMX_ROWS 32
static int64_t amx_row_blocks(const qlinear_job *j) { return ceil_div(j->m, QCC_AMX_ROWS); }

/* Integer matmul output (r, n): the sum, or its f32 scaling. */
static inline void put_qmm(const qlinear_job *j, int64_t r, int64_t n, int32_t v) {
  int32_t *at = j->yi + r * j->y_rs + n;
  if (j->ys) {
    float f = (float)v * j->ys[j->ys_n == 1 ? 0 : n];
    __builtin_memcpy(at, &f, sizeof f);
  } else {
    *at = v;
  }
}

/* Round half to even for |v| < 2^22 in the default rounding mode, without
 * libm (the runtime is freestanding). */
static float round_even(float v) {
  const float magic = 12582912.0f; /* 1.5 * 2^23 */
  return v >= 0 ? (v + magic) - magic : (v - magic) + magic;
}

static int64_t weight_bytes(const qcc_rt_qweight *w) { return w->group * w->nr * w->bits / 8; }

/* IEEE half to float without F16C or libm. */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
  if (exp == 31)
    bits = sign | 0x7f800000u | (man << 13);
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (man << 13);
  else if (man == 0)
    bits = sign;
  else { /* subnormal: normalize */
    exp = 113;
    while (!(man & 1024)) {
      man <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((man & 1023) << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

static const uint8_t *block_of(const qlinear_job *j, int64_t k, int64_t n) {
  return j->tiles + ((n / j->w->nr) * j->groups + k / j->w->group) * j->block_bytes;
}

/* Logical q[k][n] - zp as stored (k, n inside the padded tile). */
static int32_t centered(const qlinear_job *j, int64_t k, int64_t n) {
  const qcc_rt_qweight *w = j->w;
  int64_t nr = w->nr, kg = k % w->group, c = n % nr;
  const uint8_t *blk = block_of(j, k, n);
  if (w->bits == 8)
    return (int8_t)blk[(kg / 4) * nr * 4 + c * 4 + kg % 4] - (int8_t)blk[j->zp_at + c];
  int64_t pair = kg / 8, half = (kg % 8) / 4;
  uint8_t byte = blk[pair * nr * 4 + c * 4 + kg % 4];
  int32_t nib = half ? byte >> 4 : byte & 15;
  return nib - (int32_t)blk[j->zp_at + c];
}

static float scale_of(const qlinear_job *j, int64_t k, int64_t n) {
  const uint8_t *at = block_of(j, k, n) + weight_bytes(j->w);
  int64_t c = n % j->w->nr;
  if (j->f16_scales) {
    uint16_t h;
    __builtin_memcpy(&h, at + 2 * c, 2);
    return half_to_float(h);
  }
  float s;
  __builtin_memcpy(&s, at + 4 * c, sizeof s);
  return s;
}

/* Column n's int32 sum of its stored weights (QCC_RT_QWEIGHT_INT_SUMS). */
static int32_t int_sum_of(const qlinear_job *j, int64_t n) {
  int32_t s;
  __builtin_memcpy(&s, block_of(j, 0, n) + weight_bytes(j->w) + 4 * (n % j->w->nr), 4);
  return s;
}

/*--- Activation quantization -------------------------------------------*/

/* Row r of x into qa (kp values, zeros past k), its scale and its group
 * sums. */
static void quantize_row_scalar(const qlinear_job *j, int64_t r, int8_t *qa, float *sa,
                                int32_t *asum) {
  const float *x = j->x + r * j->x_rs;
  int64_t k = j->w->k, group = j->w->group;
  float amax = 0;
  for (int64_t i = 0; i < k; ++i) {
    float a = x[i] < 0 ? -x[i] : x[i];
    amax = a > amax ? a : amax;
  }
  float s = j->act_scale ? j->act_scale : amax == 0 ? 1.0f : amax / 127.0f;
  for (int64_t g = 0; g < j->groups; ++g)
    asum[g] = 0;
  for (int64_t i = 0; i < j->kp; ++i) {
    int32_t q = 0;
    if (i < k) {
      /* A static scale can clip; symmetric, so -128 never occurs. */
      float v = round_even(x[i] / s);
      q = v > 127 ? 127 : v < -127 ? -127 : (int32_t)v;
    }
    qa[i] = (int8_t)(q ^ (j->qa_unsigned ? 0x80 : 0));
    asum[i / group] += q;
  }
  *sa = s;
}

#if defined(__AVX2__)
static float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
static int32_t hsum8i(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

/* The same values as quantize_row_scalar, 32 at a time. */
static void quantize_row(const qlinear_job *j, int64_t r, int8_t *qa, float *sa, int32_t *asum) {
  const float *x = j->x + r * j->x_rs;
  int64_t k = j->w->k, group = j->w->group;
  if (k % 32 != 0 || group % 32 != 0) {
    quantize_row_scalar(j, r, qa, sa, asum);
    return;
  }
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m = _mm256_setzero_ps();
  for (int64_t i = 0; i < k; i += 8)
    m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
  float amax = hmax8(m);
  float s = j->act_scale ? j->act_scale : amax == 0 ? 1.0f : amax / 127.0f;
  const __m256 vs = _mm256_set1_ps(s);
  const __m256i qmax = _mm256_set1_epi32(127), qmin = _mm256_set1_epi32(-127);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t g = 0; g < j->groups; ++g) {
    __m256i sum = _mm256_setzero_si256();
    int64_t end = (g + 1) * group < k ? (g + 1) * group : k;
    for (int64_t i = g * group; i < end; i += 32) {
      __m256i q[4];
      for (int u = 0; u < 4; ++u) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i + 8 * u), vs);
        q[u] = _mm256_cvtps_epi32(
            _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        q[u] = _mm256_max_epi32(_mm256_min_epi32(q[u], qmax), qmin);
        sum = _mm256_add_epi32(sum, q[u]);
      }
      __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
      __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), order);
      if (j->qa_unsigned)
        b = _mm256_xor_si256(b, _mm256_set1_epi8((char)0x80));
      _mm256_storeu_si256((__m256i *)(qa + i), b);
    }
    asum[g] = hsum8i(sum);
  }
  for (int64_t i = k; i < j->kp; ++i)
    qa[i] = j->qa_unsigned ? (int8_t)0x80 : 0;
  *sa = s;
}
#else
#define quantize_row quantize_row_scalar
#endif

/* Integer matmul rows as a' (kp bytes, zeros past k). */
static void center_rows_task(void *data, int64_t begin, int64_t end, int thread) {
  (void)thread;
  const qlinear_job *j = data;
  for (int64_t r = begin; r < end; ++r) {
    const uint8_t *a = j->a + r * j->a_rs;
    uint8_t *qa = (uint8_t *)j->qa + r * j->qs;
    for (int64_t k = 0; k < j->w->k; ++k)
      qa[k] = a[k] ^ j->a_flip;
    for (int64_t k = j->w->k; k < j->kp; ++k)
      qa[k] = 0;
  }
}

static void quantize_rows_task(void *data, int64_t begin, int64_t end, int thread) {
  (void)thread;
  qlinear_job *j = data;
  for (int64_t r = begin; r < end; ++r)
    quantize_row(j, r, (int8_t *)j->qa + r * j->qs, (float *)j->sa + r,
                 (int32_t *)j->asum + r * j->groups);
}

/*--- Scalar reference ----------------------------------------------------*/

/* y[r][n] = v (+ bias) (+ residual): each sum rounded on its own, in the
 * reference's order. */
static inline void store_value(const qlinear_job *j, int64_t r, int64_t n, float v) {
  if (j->bias)
    v = v + j->bias[n];
  if (j->res)
    v = v + j->res[r * j->res_rs + n];
  j->y[r * j->y_rs + n] = v;
}

/* Rows [r0, r1) x columns of tiles [t0, t1). */
static void tiles_scalar(const qlinear_job *j, int64_t r0, int64_t r1, int64_t t0,
                         int64_t t1) {
  const qcc_rt_qweight *w = j->w;
  int64_t n_end = t1 * w->nr < w->n ? t1 * w->nr : w->n;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t n = t0 * w->nr; n < n_end; ++n) {
      if (j->yi) {
        /* Unsigned: the sum wraps as the int32 accumulation does. */
        const int8_t *qa = j->qa + r * j->qs;
        uint32_t acc = (uint32_t)j->corr[r] * (uint32_t)int_sum_of(j, n);
        for (int64_t k = 0; k < w->k; ++k)
          acc += (uint32_t)(qa[k] * centered(j, k, n));
        put_qmm(j, r, n, (int32_t)acc);
        continue;
      }
      float out;
      if (j->qa) {
        const int8_t *qa = j->qa + r * j->qs;
        float t = 0;
        for (int64_t g = 0; g < j->groups; ++g) {
          int32_t acc = 0;
          for (int64_t k = g * w->group; k < (g + 1) * w->group && k < w->k; ++k)
            acc += (int8_t)(qa[k] ^ (j->qa_unsigned ? 0x80 : 0)) * centered(j, k, n);
          float p = (float)acc * scale_of(j, g * w->group, n);
          t = t + p;
        }
        out = j->sa[r] * t;
      } else {
        const float *x = j->x + r * j->x_rs;
        out = 0;
        for (int64_t k = 0; k < w->k; ++k) {
          float wd = (float)centered(j, k, n) * scale_of(j, k, n);
          out += x[k] * wd;
        }
      }
      store_value(j, r, n, out);
    }
  }
}

/* CALL(MR) for the MR (<= 4) rows left from r, MR a constant. */
#define QCC_TILE_DISPATCH(CALL, mr)                                                            \
  switch (mr) {                                                                                \
  case 4: CALL(4); break;                                                                      \
  case 3: CALL(3); break;                                                                      \
  case 2: CALL(2); break;                                                                      \
  default: CALL(1); break;                                                                     \
  }
/* CALL(MR) for the MR (<= 8) rows left from r, MR a constant. */
#define QCC_TILE_DISPATCH8(CALL, mr)                                                           \
  switch (mr) {                                                                                \
  case 8: CALL(8); break;                                                                      \
  case 7: CALL(7); break;                                                                      \
  case 6: CALL(6); break;                                                                      \
  case 5: CALL(5); break;                                                                      \
  case 4: CALL(4); break;                                                                      \
  case 3: CALL(3); break;                                                                      \
  case 2: CALL(2); break;                                                                      \
  default: CALL(1); break;                                                                     \
  }
/* The same for up to 12 rows. */
#define QCC_TILE_DISPATCH12(CALL, mr)                                                          \
  switch (mr) {                                                                                \
  case 12: CALL(12); break;                                                                    \
  case 11: CALL(11); break;                                                                    \
  case 10: CALL(10); break;                                                                    \
  case 9: CALL(9); break;                                                                      \
  default: QCC_TILE_DISPATCH8(CALL, mr)                                                        \
  }
/* CALL##3(MR), CALL##2(MR) or CALL##1(MR) for nt (<= 3) tiles, each
 * through ROWS, one of the dispatches above, for the MR rows left. */
#define QCC_TILE_DISPATCH_ROWS_NT(ROWS, CALL, nt, mr)                                          \
  if ((nt) == 3) {                                                                             \
    ROWS(CALL##3, mr)                                                                          \
  } else if ((nt) == 2) {                                                                      \
    ROWS(CALL##2, mr)                                                                          \
  } else {                                                                                     \
    ROWS(CALL##1, mr)                                                                          \
  }
#define QCC_TILE_DISPATCH8_NT(CALL, nt, mr)                                                    \
  QCC_TILE_DISPATCH_ROWS_NT(QCC_TILE_DISPATCH8, CALL, nt, mr)
#define QCC_TILE_DISPATCH_NT(CALL, nt, mr)                                                     \
  QCC_TILE_DISPATCH_ROWS_NT(QCC_TILE_DISPATCH, CALL, nt, mr)
#define QCC_FLOATACT(MR) tile_floatact(j, r, MR, tile)

/*--- AVX2 kernels --------------------------------------------------------*/

#if defined(__AVX2__)
#ifndef QCC_PREFETCH
#define QCC_PREFETCH 1024
#endif
/* The 8 scales of a block, f32 or f16. */
static inline __m256 load_scales(const qlinear_job *j, const uint8_t *at) {
  return j->f16_scales ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)at))
                       : _mm256_loadu_ps((const float *)at);
}
/* The 8 zero points of a block, widened: unsigned for int4, signed bytes
 * for int8. */
static inline __m256i load_zero_points(const qlinear_job *j, const uint8_t *blk) {
  __m128i z = _mm_loadl_epi64((const __m128i *)(blk + j->zp_at));
  return j->w->bits == 4 ? _mm256_cvtepu8_epi32(z) : _mm256_cvtepi8_epi32(z);
}
/* Stores the first `cols` lanes of v. */
static void store_cols(float *y, __m256 v, int64_t cols) {
  if (cols == 8) {
    _mm256_storeu_ps(y, v);
    return;
  }
  float tmp[8];
  _mm256_storeu_ps(tmp, v);
  for (int64_t c = 0; c < cols; ++c)
    y[c] = tmp[c];
}

static __m256 load_cols(const float *v, int64_t cols) {
  if (cols == 8)
    return _mm256_loadu_ps(v);
  float tmp[8] = {0};
  for (int64_t c = 0; c < cols; ++c)
    tmp[c] = v[c];
  return _mm256_loadu_ps(tmp);
}

/* The epilogue's end for row r of tile `tile`: y (+ bias) (+ residual),
 * stored. */
static inline void store_out(const qlinear_job *j, int64_t r, int64_t tile, __m256 y) {
  int64_t cols = j->w->n - tile * 8 < 8 ? j->w->n - tile * 8 : 8;
  if (j->bias)
    y = _mm256_add_ps(y, load_cols(j->bias + tile * 8, cols));
  if (j->res)
    y = _mm256_add_ps(y, load_cols(j->res + r * j->res_rs + tile * 8, cols));
  store_cols(j->y + r * j->y_rs + tile * 8, y, cols);
}

/* sum(a * nibble) over 8 K-steps for 8 columns, as int16 pairs: the low
 * nibbles against a[0..3], the high ones against a[4..7]. */
static inline __m256i nibble_dot8(__m256i lo, __m256i hi, const int8_t *a) {
  int32_t a0, a1;
  __builtin_memcpy(&a0, a, 4);
  __builtin_memcpy(&a1, a + 4, 4);
  return _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(a0)),
                          _mm256_maddubs_epi16(hi, _mm256_set1_epi32(a1)));
}

/* The end of group g for MR rows of the tile whose block is blk: the zero
 * point comes off as zp * sum(a), then t = t + float(acc) * s_w, the
 * reference's order. */
static inline __attribute__((always_inline)) void
fold_group(const qlinear_job *j, const uint8_t *blk, int64_t r0, const int MR, int64_t g,
           const __m256i acc[4], __m256 t[4]) {
  __m256i zp = load_zero_points(j, blk);
  __m256 sc = load_scales(j, blk + weight_bytes(j->w));
  for (int r = 0; r < MR; ++r) {
    __m256i zs = _mm256_mullo_epi32(zp, _mm256_set1_epi32(j->asum[(r0 + r) * j->groups + g]));
    __m256 p = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r], zs)), sc);
    t[r] = _mm256_add_ps(t[r], p);
  }
}

/* y = s_row * t (+ bias) (+ residual) for MR rows of one tile. */
static inline __attribute__((always_inline)) void
store_int8act_rows(const qlinear_job *j, int64_t r0, const int MR, int64_t tile,
                   const __m256 t[4]) {
  for (int r = 0; r < MR; ++r)
    store_out(j, r0 + r, tile, _mm256_mul_ps(_mm256_set1_ps(j->sa[r0 + r]), t[r]));
}

/* MR (<= 4) int8 rows x one tile of 8 columns, int4 or int8 weights. The
 * int4 bytes hold k and k + 4 in their low and high nibbles, so one load
 * and two masks give two 4-deep chunks for all 8 columns; vpmaddubsw takes
 * the unsigned nibbles against the signed activations. Each of its lanes is
 * at most 2*15*127 = 3810 in magnitude, so the int16 sums of 4 pairs of
 * chunks (32 K-steps, at most 30480) stay exact and widen to int32 once.
 * int8 weights (stored signed) go as |w| against a with w's sign (|pair| <=
 * 2*128*127). The zero point comes off per group as zp * sum(a). Q32 says
 * the group is a multiple of 32 K-steps: int16 runs of 32, fully unrolled. */
static inline __attribute__((always_inline)) void
tile_int8act(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, const int Q32) {
  const qcc_rt_qweight *w = j->w;
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t group = w->group;
  const __m256i ones = _mm256_set1_epi16(1), low4 = _mm256_set1_epi8(15);
  __m256 t[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                 _mm256_setzero_ps()};
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r)
    qa[r] = j->qa + (r0 + r) * j->qs;
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    int64_t kg = g * group;
    if (w->bits == 4 && Q32) {
      for (int64_t q = 0; q < group / 32; ++q) {
        const uint8_t *wq = blk + 128 * q;
        const int64_t kq = kg + 32 * q;
        /* Weights stream from memory once: keep the next blocks coming. */
        _mm_prefetch((const char *)(wq + QCC_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(wq + 64 + QCC_PREFETCH), _MM_HINT_T0);
        __m256i s16[4];
        for (int p = 0; p < 4; ++p) {
          __m256i v = _mm256_loadu_si256((const __m256i *)(wq + 32 * p));
          __m256i lo = _mm256_and_si256(v, low4);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
          for (int r = 0; r < MR; ++r) {
            __m256i d = nibble_dot8(lo, hi, qa[r] + kq + 8 * p);
            s16[r] = p == 0 ? d : _mm256_add_epi16(s16[r], d);
          }
        }
        for (int r = 0; r < MR; ++r)
          acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(s16[r], ones));
      }
    } else if (w->bits == 4) {
      for (int64_t p = 0; p < group / 8; ++p) {
        if ((p & 1) == 0)
          _mm_prefetch((const char *)(blk + 32 * p + QCC_PREFETCH), _MM_HINT_T0);
        __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 32 * p));
        __m256i lo = _mm256_and_si256(v, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        for (int r = 0; r < MR; ++r)
          acc[r] = _mm256_add_epi32(acc[r],
                                    _mm256_madd_epi16(nibble_dot8(lo, hi, qa[r] + kg + 8 * p), ones));
      }
    } else {
      for (int64_t c = 0; c < group / 4; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 32 * c));
        __m256i mag = _mm256_abs_epi8(v);
        for (int r = 0; r < MR; ++r) {
          int32_t a;
          __builtin_memcpy(&a, qa[r] + kg + 4 * c, 4);
          __m256i s = _mm256_maddubs_epi16(mag, _mm256_sign_epi8(_mm256_set1_epi32(a), v));
          acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(s, ones));
        }
      }
    }
    fold_group(j, blk, r0, MR, g, acc, t);
  }
  store_int8act_rows(j, r0, MR, tile, t);
}

/* Prefill with int4 weights: each tile is unpacked once per call into a
 * panel of centered int8 weights w = q - zp (the int8 layout), so the rows
 * do no nibble work and carry no zero point. vpmaddubsw takes the rows as
 * a + 128 (unsigned, at most 255) against w, and each group's
 * 128 * sum(w) seeds its accumulators, negated. |w| <= 8 (symmetric
 * weights) lets the int16 sums run 8 chunks (8 * 2*255*8 = 32640), wider
 * zero points 4 (4 * 2*255*15 = 30600). Per group: group * 8 weight bytes,
 * the 8 int32 seeds, the 8 scales as f32. */
#define QCC_INT4_PANEL_MIN_ROWS 24
static int64_t int4_panel_group_bytes(int64_t group) { return group * 8 + 64; }

/* Fills the panel; returns whether every |w| <= 8. */
static int unpack_int4_tile(const qlinear_job *j, int64_t tile, int8_t *panel) {
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t wb = weight_bytes(j->w), group = j->w->group;
  const __m256i low4 = _mm256_set1_epi8(15), one8 = _mm256_set1_epi8(1),
                one16 = _mm256_set1_epi16(1), spread = _mm256_set1_epi32(0x01010101);
  __m256i mag = _mm256_setzero_si256();
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    int8_t *out = panel + g * int4_panel_group_bytes(group);
    __m256i zp = _mm256_mullo_epi32(load_zero_points(j, blk), spread);
    __m256i s16 = _mm256_setzero_si256(); /* |w| <= 15: pairs of sums fit */
    if (g == j->groups - 1 && j->kp != j->w->k) {
      /* The short last group: zeros past k. */
      for (int64_t kg = 0; kg < group; ++kg)
        for (int c = 0; c < 8; ++c)
          out[(kg / 4) * 32 + c * 4 + kg % 4] =
              g * group + kg < j->w->k ? (int8_t)centered(j, g * group + kg, tile * 8 + c) : 0;
      for (int64_t c = 0; c < group / 4; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(out + 32 * c));
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(one8, v));
        mag = _mm256_max_epu8(mag, _mm256_abs_epi8(v));
      }
    } else {
      for (int64_t p = 0; p < group / 8; ++p) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 32 * p));
        __m256i lo = _mm256_sub_epi8(_mm256_and_si256(v, low4), zp);
        __m256i hi = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), zp);
        _mm256_storeu_si256((__m256i *)(out + 64 * p), lo);
        _mm256_storeu_si256((__m256i *)(out + 64 * p + 32), hi);
        s16 = _mm256_add_epi16(s16, _mm256_add_epi16(_mm256_maddubs_epi16(one8, lo),
                                                     _mm256_maddubs_epi16(one8, hi)));
        mag = _mm256_max_epu8(mag, _mm256_max_epu8(_mm256_abs_epi8(lo), _mm256_abs_epi8(hi)));
      }
    }
    __m256i sum = _mm256_madd_epi16(s16, one16);
    _mm256_storeu_si256((__m256i *)(out + group * 8),
                        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sum, 7)));
    _mm256_storeu_ps((float *)(out + group * 8 + 32), load_scales(j, blk + wb));
  }
  __m256i over = _mm256_subs_epu8(mag, _mm256_set1_epi8(8));
  return _mm256_testz_si256(over, over);
}

/* MR (<= 4) rows (stored as a + 128) x one unpacked tile; DEEP chunks of
 * 4 K-steps per int16 run. The group's epilogue is fold_group's. */
static inline __attribute__((always_inline)) void
tile_int4_panel(const qlinear_job *j, int64_t r0, const int MR, int64_t tile,
                const int8_t *panel, const int DEEP) {
  const int64_t group = j->w->group, gb = int4_panel_group_bytes(group);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 t[4];
  const uint8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = (const uint8_t *)j->qa + (r0 + r) * j->qs;
    t[r] = _mm256_setzero_ps();
  }
  for (int64_t g = 0; g < j->groups; ++g) {
    const int8_t *wg = panel + g * gb;
    const int64_t kg = g * group;
    __m256i acc[4];
    const __m256i seed = _mm256_loadu_si256((const __m256i *)(wg + group * 8));
    for (int r = 0; r < MR; ++r)
      acc[r] = seed;
    for (int64_t c0 = 0; c0 < group / 4; c0 += DEEP) {
      __m256i s16[4];
      for (int c = 0; c < DEEP; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(wg + 32 * (c0 + c)));
        for (int r = 0; r < MR; ++r) {
          int32_t a;
          __builtin_memcpy(&a, qa[r] + kg + 4 * (c0 + c), 4);
          __m256i d = _mm256_maddubs_epi16(_mm256_set1_epi32(a), v);
          s16[r] = c == 0 ? d : _mm256_add_epi16(s16[r], d);
        }
      }
      for (int r = 0; r < MR; ++r)
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(s16[r], ones));
    }
    __m256 sc = _mm256_loadu_ps((const float *)(wg + group * 8 + 32));
    for (int r = 0; r < MR; ++r)
      t[r] = _mm256_add_ps(t[r], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r]), sc));
  }
  store_int8act_rows(j, r0, MR, tile, t);
}

/* tile_int8act for int8 weights over two adjacent tiles: each broadcast
 * activation serves 16 columns, which saves a quarter of the broadcasts
 * per product (measured faster at every M; with int4 weights the extra
 * registers cost more than that from 4 rows on). */
static inline __attribute__((always_inline)) void
tile_pair_int8(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  const uint8_t *blk[2] = {j->tiles + tile * j->tile_bytes,
                           j->tiles + (tile + 1) * j->tile_bytes};
  const int64_t group = j->w->group;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 t[2][4];
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = j->qa + (r0 + r) * j->qs;
    t[0][r] = t[1][r] = _mm256_setzero_ps();
  }
  for (int64_t g = 0; g < j->groups; ++g) {
    __m256i acc[2][4];
    for (int r = 0; r < MR; ++r)
      acc[0][r] = acc[1][r] = _mm256_setzero_si256();
    for (int64_t c = 0; c < group / 4; ++c) {
      __m256i v[2], mag[2];
      for (int h = 0; h < 2; ++h) {
        v[h] = _mm256_loadu_si256((const __m256i *)(blk[h] + 32 * c));
        mag[h] = _mm256_abs_epi8(v[h]);
      }
      for (int r = 0; r < MR; ++r) {
        int32_t a;
        __builtin_memcpy(&a, qa[r] + g * group + 4 * c, 4);
        __m256i b = _mm256_set1_epi32(a);
        for (int h = 0; h < 2; ++h) {
          __m256i s = _mm256_maddubs_epi16(mag[h], _mm256_sign_epi8(b, v[h]));
          acc[h][r] = _mm256_add_epi32(acc[h][r], _mm256_madd_epi16(s, ones));
        }
      }
    }
    for (int h = 0; h < 2; ++h) {
      fold_group(j, blk[h], r0, MR, g, acc[h], t[h]);
      blk[h] += j->block_bytes;
    }
  }
  for (int h = 0; h < 2; ++h)
    store_int8act_rows(j, r0, MR, tile + h, t[h]);
}

/* The 4 x 8 int8 values of one chunk ([column][k] bytes) as 4 vectors of
 * the 8 columns' centered values, one per k. */
static inline __attribute__((always_inline)) void chunk_columns(__m256i v, int is_signed,
                                                                __m256i zp, __m256 sc,
                                                                __m256 out[4]) {
  const __m256i by_k = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  v = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, by_k), order);
  __m128i k01 = _mm256_castsi256_si128(v), k23 = _mm256_extracti128_si256(v, 1);
  __m128i part[4] = {k01, _mm_srli_si128(k01, 8), k23, _mm_srli_si128(k23, 8)};
  for (int i = 0; i < 4; ++i) {
    __m256i q = is_signed ? _mm256_cvtepi8_epi32(part[i]) : _mm256_cvtepu8_epi32(part[i]);
    out[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q, zp)), sc);
  }
}

/* K-steps 8p .. 8p+7 of a block's group dequantized: one vector of the 8
 * columns' values per K-step. For int4 they are the low then the high
 * nibbles of the 32 bytes of pair p; for int8, chunks 2p and 2p + 1. */
static inline __attribute__((always_inline)) void
dequant_pair(const qlinear_job *j, const uint8_t *blk, int64_t p, __m256i zp, __m256 sc,
             __m256 out[8]) {
  const __m256i *at = (const __m256i *)(blk + 64 * p);
  if (j->w->bits == 4) {
    const __m256i low4 = _mm256_set1_epi8(15);
    __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 32 * p));
    chunk_columns(_mm256_and_si256(v, low4), 0, zp, sc, out);
    chunk_columns(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), 0, zp, sc, out + 4);
  } else {
    chunk_columns(_mm256_loadu_si256(at), 1, zp, sc, out);
    chunk_columns(_mm256_loadu_si256(at + 1), 1, zp, sc, out + 4);
  }
}

/* MR (<= 4) float rows x one tile: weights dequantized in registers. Rows
 * are read kp wide, so x must be zero-padded past k. */
static inline __attribute__((always_inline)) void
tile_floatact(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  const qcc_rt_qweight *w = j->w;
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t wb = weight_bytes(w), group = w->group;
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  const float *x[4];
  for (int r = 0; r < MR; ++r)
    x[r] = j->x + (r0 + r) * j->x_rs;
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    __m256 sc = load_scales(j, blk + wb), wv[8];
    __m256i zp = load_zero_points(j, blk);
    for (int64_t p = 0; p < group / 8; ++p) {
      dequant_pair(j, blk, p, zp, sc, wv);
      int64_t k = g * group + 8 * p;
      for (int i = 0; i < 8; ++i)
        for (int r = 0; r < MR; ++r)
          acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(x[r] + k + i), wv[i], acc[r]);
    }
  }
  for (int r = 0; r < MR; ++r)
    store_out(j, r0 + r, tile, acc[r]);
}

/* Tile `tile` dequantized into panel[kp][8], k-major: the values
 * tile_floatact computes in registers. */
static void dequant_tile(const qlinear_job *j, int64_t tile, float *panel) {
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t wb = weight_bytes(j->w), group = j->w->group;
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    __m256 sc = load_scales(j, blk + wb), wv[8];
    __m256i zp = load_zero_points(j, blk);
    for (int64_t p = 0; p < group / 8; ++p) {
      dequant_pair(j, blk, p, zp, sc, wv);
      for (int i = 0; i < 8; ++i)
        _mm256_store_ps(panel + (g * group + 8 * p + i) * 8, wv[i]);
    }
  }
}

/* MR (<= 6) float rows x NT (1 or 2) dequantized tiles: the same fused
 * multiply-adds in the same order as tile_floatact, so both give identical
 * results. Two tiles give 12 independent accumulator chains, enough to
 * cover the FMA latency. */
static inline __attribute__((always_inline)) void
tile_panel(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, const int NT,
           const float *panel) {
  __m256 acc[6][2];
  const float *x[6];
  for (int r = 0; r < MR; ++r) {
    x[r] = j->x + (r0 + r) * j->x_rs;
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  }
  const float *p1 = panel + j->kp * 8;
  for (int64_t k = 0; k < j->kp; ++k) {
    __m256 w0 = _mm256_load_ps(panel + 8 * k);
    __m256 w1 = NT == 2 ? _mm256_load_ps(p1 + 8 * k) : w0;
    for (int r = 0; r < MR; ++r) {
      __m256 xk = _mm256_broadcast_ss(x[r] + k);
      acc[r][0] = _mm256_fmadd_ps(xk, w0, acc[r][0]);
      if (NT == 2)
        acc[r][1] = _mm256_fmadd_ps(xk, w1, acc[r][1]);
    }
  }
  for (int t = 0; t < NT; ++t)
    for (int r = 0; r < MR; ++r)
      store_out(j, r0 + r, tile + t, acc[r][t]);
}

#define QCC_PANEL_DISPATCH(NT)                                                                 \
  switch (j->m - r < 6 ? j->m - r : 6) {                                                       \
  case 6: tile_panel(j, r, 6, tile, NT, panel); break;                                         \
  case 5: tile_panel(j, r, 5, tile, NT, panel); break;                                         \
  case 4: tile_panel(j, r, 4, tile, NT, panel); break;                                         \
  case 3: tile_panel(j, r, 3, tile, NT, panel); break;                                         \
  case 2: tile_panel(j, r, 2, tile, NT, panel); break;                                         \
  default: tile_panel(j, r, 1, tile, NT, panel); break;                                        \
  }

/* Integer matmul: MR (<= 4) rows of a' x NT (1 or 2) tiles, int32 out.
 * The weights are in [-127, 127] and a' in [-128, 127], so the sign goes
 * onto the weight this time: vpmaddubsw takes |a'| (at most 128) against
 * w with a's sign, pairs at most 2*128*127 in magnitude. */
static inline __attribute__((always_inline)) void
tile_qmm(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, const int NT) {
  const uint8_t *blk[2] = {j->tiles + tile * j->tile_bytes,
                           j->tiles + (tile + NT - 1) * j->tile_bytes};
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[2][4];
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = j->qa + (r0 + r) * j->qs;
    acc[0][r] = acc[1][r] = _mm256_setzero_si256();
  }
  for (int64_t c = 0; c < j->kp / 4; ++c) {
    __m256i v[2];
    for (int h = 0; h < NT; ++h)
      v[h] = _mm256_loadu_si256((const __m256i *)(blk[h] + 32 * c));
    for (int r = 0; r < MR; ++r) {
      int32_t a;
      __builtin_memcpy(&a, qa[r] + 4 * c, 4);
      __m256i b = _mm256_set1_epi32(a), mag = _mm256_abs_epi8(b);
      for (int h = 0; h < NT; ++h) {
        __m256i s = _mm256_maddubs_epi16(mag, _mm256_sign_epi8(v[h], b));
        acc[h][r] = _mm256_add_epi32(acc[h][r], _mm256_madd_epi16(s, ones));
      }
    }
  }
  for (int h = 0; h < NT; ++h) {
    __m256i sums = _mm256_loadu_si256((const __m256i *)(blk[h] + weight_bytes(j->w)));
    int64_t col = (tile + h) * 8, cols = j->w->n - col < 8 ? j->w->n - col : 8;
    for (int r = 0; r < MR; ++r) {
      __m256i y = _mm256_add_epi32(acc[h][r],
                                   _mm256_mullo_epi32(sums, _mm256_set1_epi32(j->corr[r0 + r])));
      int32_t *out = j->yi + (r0 + r) * j->y_rs + col;
      if (cols == 8 && !j->ys) {
        _mm256_storeu_si256((__m256i *)out, y);
      } else {
        int32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, y);
        for (int64_t i = 0; i < cols; ++i)
          put_qmm(j, r0 + r, col + i, tmp[i]);
      }
    }
  }
}

#define QCC_QMM(MR) tile_qmm(j, r, MR, tile, 2)
#define QCC_QMM1(MR) tile_qmm(j, r, MR, tile, 1)
#define QCC_INT4_Q32(MR) tile_int8act(j, r, MR, tile, 1)
#define QCC_INT8ACT(MR) tile_int8act(j, r, MR, tile, 0)
#define QCC_PAIR_INT8(MR) tile_pair_int8(j, r, MR, tile)
#define QCC_INT4_PANEL8(MR) tile_int4_panel(j, r, MR, tile, panel, 8)
#define QCC_INT4_PANEL4(MR) tile_int4_panel(j, r, MR, tile, panel, 4)

/* A task's panel of `bytes`, 32-byte aligned: the instance's scratch for
 * this thread or, without a context, a buffer malloc'd into *own for the
 * caller to free. NULL when memory runs out. */
static void *task_panel(const qlinear_job *j, int thread, size_t bytes, void **own) {
  *own = NULL;
  if (j->ctx)
    return qcc_rt_scratch(j->ctx, thread, bytes);
  if (!(*own = malloc(bytes + 32)))
    return NULL;
  return (void *)(((uintptr_t)*own + 31) & ~(uintptr_t)31);
}

/*--- AVX-512 VNNI kernels: tiles of 16 columns ---------------------------*/

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
/* Each call unpacks a tile once into a panel of centered int8 weights
 * w = q - zp, per group [group/4][16 columns][4 K-steps] (the operand
 * order of vpdpbusd), then the group's 16 int32 seeds -128 * sum(w) and
 * its 16 scales as f32. Rows run as a + 128 (unsigned) against it:
 * vpdpbusd adds u8 x s8 products exactly into int32, with no int16 step to
 * saturate, and the seed takes the 128 back off, so each group's sum is
 * sum(a * w), the integers of every other variant. */
static int64_t vnni_group_bytes(int64_t group) { return group * 16 + 128; }

#ifndef QCC_VNNI_FLOAT_KC
#define QCC_VNNI_FLOAT_KC 1024
#endif

/* Decode streams each weight once, faster than the hardware prefetchers
 * run ahead: the loops prefetch 512 K-steps ahead (4 KiB of int4 tile, 8
 * KiB of int8), about the memory latency at their pace. On the benchmark
 * machine this took int8 decode at M=4 from 1.6 to 1.1 ms per 4096 x
 * 14336 layer; 1 KiB ahead left the loads waiting. */
#ifndef QCC_VNNI_PREFETCH_KSTEPS
#define QCC_VNNI_PREFETCH_KSTEPS 512
#endif
#define QCC_VNNI_PREFETCH(bits) (QCC_VNNI_PREFETCH_KSTEPS * 16 * (bits) / 8)

static inline __m512 vnni_scales(const qlinear_job *j, const uint8_t *at) {
  return j->f16_scales ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)at))
                       : _mm512_loadu_ps((const float *)at);
}

/* The 16 zero points of a block, each repeated over its column's 4 bytes
 * (bytes subtract modulo 256, so their sign does not matter). */
static inline __m512i vnni_zero_points(const qlinear_job *j, const uint8_t *blk) {
  __m512i z = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + j->zp_at)));
  return _mm512_mullo_epi32(z, _mm512_set1_epi32(0x01010101));
}

static inline __mmask16 vnni_cols(const qlinear_job *j, int64_t tile) {
  int64_t cols = j->w->n - tile * 16;
  return cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
}

/* Integer matmul sums of columns [col, col + 16) as stored: themselves,
 * or converted to f32 and scaled (the bits of a separate cast and mul). */
static inline __m512i vnni_qmm_out(const qlinear_job *j, __m512i y, int64_t col, __mmask16 m) {
  if (!j->ys)
    return y;
  __m512 s = j->ys_n == 1 ? _mm512_set1_ps(j->ys[0]) : _mm512_maskz_loadu_ps(m, j->ys + col);
  return _mm512_castps_si512(_mm512_mul_ps(_mm512_cvtepi32_ps(y), s));
}

/* The lines of a packed block from byte `from` to its end (its zero points
 * and scales), `ahead` bytes on; the weight loops prefetch their own lines.
 * Prefetching the weight lines alone left a fifth of the stream (at group
 * 32, f32 scales) to the hardware prefetchers. */
static inline __attribute__((always_inline)) void
vnni_prefetch_tail(const qlinear_job *j, const uint8_t *blk, int64_t from) {
  const int64_t ahead = QCC_VNNI_PREFETCH(j->w->bits);
  for (int64_t o = from & ~(int64_t)63; o < j->block_bytes; o += 64)
    _mm_prefetch((const char *)(blk + o + ahead), _MM_HINT_T0);
}

/* Fills the panel of `tile`. Returns 0 when some q - zp leaves int8 (an
 * int8 zero point far from its weights): the scalar code takes that tile. */
static int vnni_unpack_tile(const qlinear_job *j, int64_t tile, int8_t *panel) {
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t wb = weight_bytes(j->w), group = j->w->group;
  const __m512i low4 = _mm512_set1_epi8(15), one8 = _mm512_set1_epi8(1);
  __mmask64 wrapped = 0;
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    int8_t *out = panel + g * vnni_group_bytes(group);
    __m512i zp = vnni_zero_points(j, blk), sum = _mm512_setzero_si512();
    vnni_prefetch_tail(j, blk, wb);
    if (j->w->bits == 4) {
      /* 64 bytes hold K-steps 8p .. 8p+3 in their low nibbles and
       * 8p+4 .. 8p+7 in their high ones. */
      for (int64_t p = 0; p < group / 8; ++p) {
        _mm_prefetch((const char *)(blk + 64 * p + QCC_VNNI_PREFETCH(4)), _MM_HINT_T0);
        __m512i v = _mm512_loadu_si512(blk + 64 * p);
        __m512i lo = _mm512_sub_epi8(_mm512_and_si512(v, low4), zp);
        __m512i hi = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), low4), zp);
        _mm512_storeu_si512(out + 128 * p, lo);
        _mm512_storeu_si512(out + 128 * p + 64, hi);
        sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(sum, one8, lo), one8, hi);
      }
    } else {
      for (int64_t c = 0; c < group / 4; ++c) {
        _mm_prefetch((const char *)(blk + 64 * c + QCC_VNNI_PREFETCH(8)), _MM_HINT_T0);
        __m512i v = _mm512_loadu_si512(blk + 64 * c);
        __m512i w = _mm512_sub_epi8(v, zp);
        wrapped |= _mm512_cmpneq_epi8_mask(w, _mm512_subs_epi8(v, zp));
        _mm512_storeu_si512(out + 64 * c, w);
        sum = _mm512_dpbusd_epi32(sum, one8, w);
      }
    }
    _mm512_storeu_si512(out + group * 16,
                        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
    _mm512_storeu_ps(out + group * 16 + 64, vnni_scales(j, blk + wb));
  }
  return wrapped == 0;
}

/* y (+ bias) (+ residual) for row r of a tile, the columns past N masked. */
static inline void vnni_store(const qlinear_job *j, int64_t r, int64_t tile, __m512 y) {
  const __mmask16 m = vnni_cols(j, tile);
  const int64_t col = tile * 16;
  if (j->bias)
    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, j->bias + col));
  if (j->res)
    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, j->res + r * j->res_rs + col));
  _mm512_mask_storeu_ps(j->y + r * j->y_rs + col, m, y);
}

/* Prefill on grouped weights (int4, or int8 in groups): MR (<= 4) int8
 * rows (a + 128) x NT (<= 3) unpacked tiles over groups [g0, g1), each
 * group's epilogue in the reference's order, as fold_group's: t = t + acc
 * * s, then sa * t. The 12 int32 chains and their 12 float sums take 24 of
 * the 32 registers, so the sums stay there for the whole chunk: with 8 rows
 * the sums had to go through memory after every group, and that float
 * traffic, not vpdpbusd, bounded the kernel. Between chunks the sums wait
 * in `part` (48 floats per row); a float stored and loaded back is the
 * same float. */
#define QCC_VNNI_INT8ACT_ROWS 4
#ifndef QCC_VNNI_INT8ACT_KC
#define QCC_VNNI_INT8ACT_KC 2048
#endif
static inline __attribute__((always_inline)) void
vnni_block_int8act(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, const int NT,
                   const int8_t *const wp[3], int64_t g0, int64_t g1, float *part, const int G32) {
  /* G32: groups of 32, whose loop the compiler unrolls whole. */
  const int64_t group = G32 ? 32 : j->w->group, gb = vnni_group_bytes(group);
  const uint8_t *qa[4];
  __m512 t[4][3];
#pragma unroll
  for (int r = 0; r < MR; ++r) {
    qa[r] = (const uint8_t *)j->qa + (r0 + r) * j->qs;
#pragma unroll
    for (int h = 0; h < NT; ++h)
      t[r][h] = g0 ? _mm512_loadu_ps(part + (r0 + r) * 48 + 16 * h) : _mm512_setzero_ps();
  }
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t kg = g * group;
    __m512i acc[4][3];
#pragma unroll
    for (int h = 0; h < NT; ++h)
#pragma unroll
      for (int r = 0; r < MR; ++r)
        acc[r][h] = _mm512_loadu_si512(wp[h] + g * gb + group * 16);
    for (int64_t c = 0; c < group / 4; ++c) {
      __m512i v[3];
#pragma unroll
      for (int h = 0; h < NT; ++h)
        v[h] = _mm512_loadu_si512(wp[h] + g * gb + 64 * c);
#pragma unroll
      for (int r = 0; r < MR; ++r) {
        int32_t a;
        __builtin_memcpy(&a, qa[r] + kg + 4 * c, 4);
        const __m512i b = _mm512_set1_epi32(a);
#pragma unroll
        for (int h = 0; h < NT; ++h)
          acc[r][h] = _mm512_dpbusd_epi32(acc[r][h], b, v[h]);
      }
    }
#pragma unroll
    for (int h = 0; h < NT; ++h) {
      const __m512 sc = _mm512_loadu_ps((const float *)(wp[h] + g * gb + group * 16 + 64));
#pragma unroll
      for (int r = 0; r < MR; ++r)
        t[r][h] = _mm512_add_ps(t[r][h], _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][h]), sc));
    }
  }
#pragma unroll
  for (int h = 0; h < NT; ++h)
#pragma unroll
    for (int r = 0; r < MR; ++r) {
      if (g1 == j->groups)
        vnni_store(j, r0 + r, tile + h, _mm512_mul_ps(_mm512_set1_ps(j->sa[r0 + r]), t[r][h]));
      else
        _mm512_storeu_ps(part + (r0 + r) * 48 + 16 * h, t[r][h]);
    }
}

/* Decode (at most QCC_VNNI_DIRECT_ROWS rows): MR rows straight from the
 * packed tile, no panel. int4: the nibbles (unsigned) against the int8
 * rows; int8: the rows as a + 128 against the stored bytes, with a running
 * column sum of them to take 128 * sum(q) back off. zp * sum(a) comes off
 * per group. Two accumulators per row (low and high nibbles, or even and
 * odd chunks) halve the dependent chain of vpdpbusd latencies; their sum is
 * exact. */
#define QCC_VNNI_DIRECT_ROWS 4
static inline __attribute__((always_inline)) void
vnni_tile_direct(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  const qcc_rt_qweight *w = j->w;
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t group = w->group, wb = weight_bytes(w);
  const __m512i low4 = _mm512_set1_epi8(15), one8 = _mm512_set1_epi8(1);
  __m512 t[4];
  const uint8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = (const uint8_t *)j->qa + (r0 + r) * j->qs;
    t[r] = _mm512_setzero_ps();
  }
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    const int64_t kg = g * group;
    __m512i acc[4][2], wsum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int r = 0; r < MR; ++r)
      acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    vnni_prefetch_tail(j, blk, wb);
    if (w->bits == 4) {
      for (int64_t p = 0; p < group / 8; ++p) {
        _mm_prefetch((const char *)(blk + 64 * p + QCC_VNNI_PREFETCH(4)), _MM_HINT_T0);
        __m512i v = _mm512_loadu_si512(blk + 64 * p);
        __m512i lo = _mm512_and_si512(v, low4);
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        for (int r = 0; r < MR; ++r) {
          int32_t a0, a1;
          __builtin_memcpy(&a0, qa[r] + kg + 8 * p, 4);
          __builtin_memcpy(&a1, qa[r] + kg + 8 * p + 4, 4);
          acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], lo, _mm512_set1_epi32(a0));
          acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], hi, _mm512_set1_epi32(a1));
        }
      }
    } else {
      /* Two chunks per step (group / 4 is even) with constant accumulator
       * indices, so the accumulators stay in registers. */
      for (int64_t c = 0; c < group / 4; c += 2) {
        _mm_prefetch((const char *)(blk + 64 * c + QCC_VNNI_PREFETCH(8)), _MM_HINT_T0);
        _mm_prefetch((const char *)(blk + 64 * c + 64 + QCC_VNNI_PREFETCH(8)), _MM_HINT_T0);
        for (int h = 0; h < 2; ++h) {
          __m512i v = _mm512_loadu_si512(blk + 64 * (c + h));
          wsum[h] = _mm512_dpbusd_epi32(wsum[h], one8, v);
          for (int r = 0; r < MR; ++r) {
            int32_t a;
            __builtin_memcpy(&a, qa[r] + kg + 4 * (c + h), 4);
            acc[r][h] = _mm512_dpbusd_epi32(acc[r][h], _mm512_set1_epi32(a), v);
          }
        }
      }
    }
    __m128i z = _mm_loadu_si128((const __m128i *)(blk + j->zp_at));
    __m512i zp = w->bits == 4 ? _mm512_cvtepu8_epi32(z) : _mm512_cvtepi8_epi32(z);
    __m512i off = _mm512_slli_epi32(_mm512_add_epi32(wsum[0], wsum[1]), 7);
    __m512 sc = vnni_scales(j, blk + wb);
    for (int r = 0; r < MR; ++r) {
      __m512i zs = _mm512_mullo_epi32(zp, _mm512_set1_epi32(j->asum[(r0 + r) * j->groups + g]));
      __m512i sum = _mm512_sub_epi32(_mm512_add_epi32(acc[r][0], acc[r][1]),
                                     _mm512_add_epi32(zs, off));
      t[r] = _mm512_add_ps(t[r], _mm512_mul_ps(_mm512_cvtepi32_ps(sum), sc));
    }
  }
  for (int r = 0; r < MR; ++r)
    vnni_store(j, r0 + r, tile, _mm512_mul_ps(_mm512_set1_ps(j->sa[r0 + r]), t[r]));
}

/* Groups [g0, g1) of an unpacked tile dequantized into fpanel[K][16],
 * k-major from K-step g0 * group: w * s_w, the scalar code's values. */
static void vnni_dequant_groups(const qlinear_job *j, const int8_t *panel, int64_t g0, int64_t g1,
                                float *fpanel) {
  const int64_t group = j->w->group, gb = vnni_group_bytes(group);
  /* In each 128-bit lane, [4 columns][4 K-steps] bytes to [4 K-steps][4
   * columns]; then the lanes' K-steps gathered, 16 columns per K-step. */
  const __m512i by_k = _mm512_set4_epi32(0x0f0b0703, 0x0e0a0602, 0x0d090501, 0x0c080400);
  const __m512i order =
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int64_t g = g0; g < g1; ++g) {
    const int8_t *wg = panel + g * gb;
    const __m512 sc = _mm512_loadu_ps((const float *)(wg + group * 16 + 64));
    for (int64_t c = 0; c < group / 4; ++c) {
      __m512i v = _mm512_permutexvar_epi32(
          order, _mm512_shuffle_epi8(_mm512_loadu_si512(wg + 64 * c), by_k));
      __m128i part[4] = {_mm512_extracti32x4_epi32(v, 0), _mm512_extracti32x4_epi32(v, 1),
                         _mm512_extracti32x4_epi32(v, 2), _mm512_extracti32x4_epi32(v, 3)};
      float *out = fpanel + ((g - g0) * group + 4 * c) * 16;
      for (int i = 0; i < 4; ++i)
        _mm512_storeu_ps(out + 16 * i,
                         _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(part[i])), sc));
    }
  }
}

/* MR (<= 12) float rows x NT (1 or 2) tiles over K-steps [k0, k1), whose
 * dequantized weights are in fpanel (kc K-steps per tile): one fused
 * multiply-add per K-step in K order, as tile_panel. The sums start at 0
 * (k0 = 0) or from `part`, and go to `part` until the last chunk; a float
 * stored and loaded back is the same float, so the chain is unbroken. */
static inline __attribute__((always_inline)) void
vnni_tile_floatact(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, const int NT,
                   const float *fpanel, int64_t kc, int64_t k0, int64_t k1, float *part) {
  __m512 acc[12][2];
  const float *x[12];
  for (int r = 0; r < MR; ++r) {
    x[r] = j->x + (r0 + r) * j->x_rs;
    for (int t = 0; t < NT; ++t)
      acc[r][t] = k0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(part + (r0 + r) * 32 + 16 * t);
  }
  const float *p1 = fpanel + kc * 16;
  for (int64_t k = k0; k < k1; ++k) {
    __m512 w0 = _mm512_loadu_ps(fpanel + 16 * (k - k0));
    __m512 w1 = NT == 2 ? _mm512_loadu_ps(p1 + 16 * (k - k0)) : w0;
    for (int r = 0; r < MR; ++r) {
      __m512 xk = _mm512_set1_ps(x[r][k]);
      acc[r][0] = _mm512_fmadd_ps(xk, w0, acc[r][0]);
      if (NT == 2)
        acc[r][1] = _mm512_fmadd_ps(xk, w1, acc[r][1]);
    }
  }
  for (int t = 0; t < NT; ++t)
    for (int r = 0; r < MR; ++r) {
      if (k1 == j->kp)
        vnni_store(j, r0 + r, tile + t, acc[r][t]);
      else
        _mm512_storeu_ps(part + (r0 + r) * 32 + 16 * t, acc[r][t]);
    }
}

/* One group of NT tiles at BITS (4 or 8) bits: each 64-byte chunk holds
 * 32 / BITS K-steps (int4: 8p .. 8p+3 in the low nibbles, 8p+4 .. 8p+7
 * in the high ones). Each K-step's stored values become (q - zp) * s, then
 * one multiply-add into each row's chain. */
static inline __attribute__((always_inline)) void
vnni_float_direct_group(const uint8_t *const blk[4], const int NT, const int MR, const int BITS,
                        int64_t group, const __m512i zp[4], const __m512 sc[4],
                        const float *const x[8], int64_t kg, __m512 acc[8][4]) {
  const int steps = 32 / BITS;
  const __m512i low4 = _mm512_set1_epi32(15);
  for (int64_t c = 0; c < group / steps; ++c) {
    __m512i v[4];
    for (int h = 0; h < NT; ++h) {
      _mm_prefetch((const char *)(blk[h] + 64 * c + QCC_VNNI_PREFETCH(BITS)), _MM_HINT_T0);
      v[h] = _mm512_loadu_si512(blk[h] + 64 * c);
    }
    for (int i = 0; i < steps; ++i)
      for (int h = 0; h < NT; ++h) {
        __m512i q = BITS == 4
                        ? _mm512_and_si512(_mm512_srli_epi32(v[h], 8 * (i % 4) + 4 * (i / 4)), low4)
                        : _mm512_srai_epi32(_mm512_slli_epi32(v[h], 24 - 8 * i), 24);
        const __m512 wk = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, zp[h])), sc[h]);
        for (int r = 0; r < MR; ++r)
          acc[r][h] = _mm512_fmadd_ps(_mm512_set1_ps(x[r][kg + steps * c + i]), wk, acc[r][h]);
      }
  }
}

/* Weight-only layers of at most QCC_VNNI_FLOAT_DIRECT_ROWS float rows, MR
 * (<= 8) at a time: NT (<= 4) tiles dequantized in registers straight from
 * the packed tile, with no panel to write and read back. Byte i of each
 * 32-bit lane is one column's K-step i of a chunk, so a shift and a mask
 * (int4) or two shifts (int8) give one K-step for 16 columns. Each weight
 * is (q - zp) * s and each (row, tile) keeps one multiply-add chain in K
 * order, as vnni_tile_floatact over vnni_dequant_groups: the same bits for
 * every row count. NT tiles give the MR * NT independent chains a single
 * row lacks. Up to 16 rows this beat the float panel on the benchmark
 * machine (4096 x 14336, 2 threads: 2.0 against 5.4 ms at M=1, 9.0 against
 * 11.3 at M=16, even at M=32). */
#define QCC_VNNI_FLOAT_DIRECT_ROWS 16
static inline __attribute__((always_inline)) void
vnni_tile_float_direct(const qlinear_job *j, int64_t r0, const int MR, int64_t tile,
                       const int NT) {
  const qcc_rt_qweight *w = j->w;
  const int64_t group = w->group, wb = weight_bytes(w);
  const uint8_t *blk[4];
  const float *x[8];
  __m512 acc[8][4];
  for (int h = 0; h < NT; ++h)
    blk[h] = j->tiles + (tile + h) * j->tile_bytes;
  for (int r = 0; r < MR; ++r) {
    x[r] = j->x + (r0 + r) * j->x_rs;
    for (int h = 0; h < NT; ++h)
      acc[r][h] = _mm512_setzero_ps();
  }
  for (int64_t g = 0; g < j->groups; ++g) {
    __m512i zp[4];
    __m512 sc[4];
    for (int h = 0; h < NT; ++h) {
      __m128i z = _mm_loadu_si128((const __m128i *)(blk[h] + j->zp_at));
      zp[h] = w->bits == 4 ? _mm512_cvtepu8_epi32(z) : _mm512_cvtepi8_epi32(z);
      sc[h] = vnni_scales(j, blk[h] + wb);
    }
    if (w->bits == 4)
      vnni_float_direct_group(blk, NT, MR, 4, group, zp, sc, x, g * group, acc);
    else
      vnni_float_direct_group(blk, NT, MR, 8, group, zp, sc, x, g * group, acc);
    for (int h = 0; h < NT; ++h)
      blk[h] += j->block_bytes;
  }
  for (int h = 0; h < NT; ++h)
    for (int r = 0; r < MR; ++r)
      vnni_store(j, r0 + r, tile + h, acc[r][h]);
}

/* Whether a call runs its int8 rows straight on 8-bit whole-K tiles as
 * stored (integer matmuls, per-column int8 weights). */
static int whole_k_rows(const qlinear_job *j) {
  return j->groups == 1 && (j->yi || (j->qa && j->w->bits == 8));
}

/* The output of row r x tile `tile` from acc = sum((a + 128) * q) over
 * the 8-bit whole-K block `blk` as stored (integer matmuls, per-column
 * int8 weights). Integer matmuls: acc + colsum * corr[r]. Weights with
 * scales, from the identity
 *   sum(a * (q - zp)) = sum((a + 128) * q) - 128 * sum(q) - zp * sum(a),
 * the column sums packed at the end of the block and the row sums the
 * quantizer keeps; then as the panel path's group epilogue (0 + p: -0
 * becomes +0), so the bits are the panel path's. */
static inline void whole_k_out(const qlinear_job *j, const uint8_t *blk, int64_t r, int64_t tile,
                               __m512i acc) {
  const __mmask16 m = vnni_cols(j, tile);
  if (j->yi) {
    const __m512i sums = _mm512_loadu_si512(blk + weight_bytes(j->w));
    __m512i y = _mm512_add_epi32(acc, _mm512_mullo_epi32(sums, _mm512_set1_epi32(j->corr[r])));
    _mm512_mask_storeu_epi32(j->yi + r * j->y_rs + tile * 16, m, vnni_qmm_out(j, y, tile * 16, m));
    return;
  }
  const __m512i zp = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + j->zp_at)));
  const __m512i sums = _mm512_loadu_si512(blk + j->zp_at + j->w->nr);
  const __m512i za = _mm512_mullo_epi32(zp, _mm512_set1_epi32(j->asum[r]));
  acc = _mm512_sub_epi32(acc, _mm512_add_epi32(_mm512_slli_epi32(sums, 7), za));
  const __m512 sc = vnni_scales(j, blk + weight_bytes(j->w));
  __m512 p = _mm512_add_ps(_mm512_setzero_ps(), _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sc));
  vnni_store(j, r, tile, _mm512_mul_ps(_mm512_set1_ps(j->sa[r]), p));
}

/* Integer matmul decode: MR (<= QCC_VNNI_DIRECT_ROWS) rows of a' + 128
 * (unsigned) x NT (1 or 2) tiles of the centered weights as packed,
 * streamed once with prefetch; the caller took 128 off each row's
 * correction, so y = acc + corr * colsum as in tile_qmm. */
static inline __attribute__((always_inline)) void
vnni_tile_qmm(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, const int NT) {
  const uint8_t *blk[2] = {j->tiles + tile * j->tile_bytes,
                           j->tiles + (tile + NT - 1) * j->tile_bytes};
  __m512i acc[4][2];
  const uint8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = (const uint8_t *)j->qa + (r0 + r) * j->qs;
    acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  }
  for (int64_t c = 0; c < j->kp / 4; ++c) {
    __m512i v[2];
    for (int h = 0; h < NT; ++h) {
      _mm_prefetch((const char *)(blk[h] + 64 * c + QCC_VNNI_PREFETCH(8)), _MM_HINT_T0);
      v[h] = _mm512_loadu_si512(blk[h] + 64 * c);
    }
    for (int r = 0; r < MR; ++r) {
      int32_t a;
      __builtin_memcpy(&a, qa[r] + 4 * c, 4);
      const __m512i b = _mm512_set1_epi32(a);
      for (int h = 0; h < NT; ++h)
        acc[r][h] = _mm512_dpbusd_epi32(acc[r][h], b, v[h]);
    }
  }
  for (int h = 0; h < NT; ++h)
    for (int r = 0; r < MR; ++r)
      whole_k_out(j, blk[h], r0 + r, tile + h, acc[r][h]);
}

/* Prefill on 8-bit whole-K weights (integer matmuls, per-column int8
 * weights): the packed tiles as stored against rows of a + 128, in blocks
 * of MR (<= 8) rows x NT (<= 3) tiles: 24 accumulator chains, each
 * broadcast row value feeding three products and each weight load eight.
 * K runs in chunks [k0, k1) whose slices of the tiles stay in L1 while
 * every row block passes over them; the sums wait in `part` (per row, 3 x
 * 16 int32) between chunks. Reading each tile once per row block from L2
 * left vpdpbusd waiting on L2. */
#define QCC_VNNI_BLOCK_ROWS 8
#ifndef QCC_VNNI_KC
#define QCC_VNNI_KC 512
#endif
static inline __attribute__((always_inline)) void
vnni_block_whole_k(const qlinear_job *j, int64_t r0, const int MR, const uint8_t *const w[3],
                   const int NT, int64_t k0, int64_t k1, int32_t *part, const uint8_t *next) {
  __m512i acc[8][3];
  const uint8_t *qa[8];
  for (int r = 0; r < MR; ++r) {
    qa[r] = (const uint8_t *)j->qa + (r0 + r) * j->qs;
    for (int h = 0; h < NT; ++h)
      acc[r][h] = k0 ? _mm512_loadu_si512(part + ((r0 + r) * 3 + h) * 16) : _mm512_setzero_si512();
  }
  for (int64_t k = k0; k < k1; k += 4) {
    __m512i v[3];
    if (((k - k0) & 63) == 0)
      for (int r = 0; r < QCC_VNNI_BLOCK_ROWS; ++r)
        _mm_prefetch((const char *)(next + r * j->qs + (k - k0)), _MM_HINT_T0);
    for (int h = 0; h < NT; ++h)
      v[h] = _mm512_loadu_si512(w[h] + 16 * k);
    for (int r = 0; r < MR; ++r) {
      int32_t a;
      __builtin_memcpy(&a, qa[r] + k, 4);
      const __m512i b = _mm512_set1_epi32(a);
      for (int h = 0; h < NT; ++h)
        acc[r][h] = _mm512_dpbusd_epi32(acc[r][h], b, v[h]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int h = 0; h < NT; ++h)
      _mm512_storeu_si512(part + ((r0 + r) * 3 + h) * 16, acc[r][h]);
}

#define QCC_VNNI_WHOLE_K3(MR) vnni_block_whole_k(j, r, MR, w, 3, k0, k1, part, na)
#define QCC_VNNI_WHOLE_K2(MR) vnni_block_whole_k(j, r, MR, w, 2, k0, k1, part, na)
#define QCC_VNNI_WHOLE_K1(MR) vnni_block_whole_k(j, r, MR, w, 1, k0, k1, part, na)

static void vnni_tiles_whole_k(const qlinear_job *j, int64_t begin, int64_t end, int thread) {
  void *own;
  int32_t *part = task_panel(j, thread, (size_t)j->m * 3 * 16 * sizeof(int32_t), &own);
  if (!part)
    __builtin_trap();
  for (int64_t tile = begin, nt; tile < end; tile += nt) {
    nt = end - tile >= 3 ? 3 : end - tile;
    const uint8_t *w[3];
    for (int h = 0; h < 3; ++h)
      w[h] = j->tiles + (tile + (h < nt ? h : 0)) * j->tile_bytes;
    for (int64_t k0 = 0, k1; k0 < j->kp; k0 = k1) {
      k1 = j->kp - k0 > QCC_VNNI_KC ? k0 + QCC_VNNI_KC : j->kp;
      /* The next chunk of these tiles (or the next tiles' first) comes
       * from memory: its lines are prefetched a few per row block. */
      const int64_t nk0 = k1 < j->kp ? k1 : 0;
      const int64_t nk1 = j->kp - nk0 > QCC_VNNI_KC ? nk0 + QCC_VNNI_KC : j->kp;
      const int64_t next_tile = nk0 ? tile : tile + nt;
      const int64_t pt = end - next_tile < 3 ? end - next_tile : 3;
      const int64_t lines = (nk1 - nk0) / 4;
      const int64_t per = ceil_div(lines, ceil_div(j->m, QCC_VNNI_BLOCK_ROWS));
      for (int64_t r = 0; r < j->m; r += QCC_VNNI_BLOCK_ROWS) {
        int64_t mr = j->m - r < QCC_VNNI_BLOCK_ROWS ? j->m - r : QCC_VNNI_BLOCK_ROWS;
        const int64_t next_r = r + QCC_VNNI_BLOCK_ROWS < j->m ? r + QCC_VNNI_BLOCK_ROWS : 0;
        const uint8_t *na = (const uint8_t *)j->qa + next_r * j->qs + (next_r ? k0 : nk0);
        const int64_t l0 = r / QCC_VNNI_BLOCK_ROWS * per, l1 = l0 + per < lines ? l0 + per : lines;
        for (int64_t h = 0; h < pt; ++h)
          for (int64_t l = l0; l < l1; ++l)
            _mm_prefetch(
                (const char *)(j->tiles + (next_tile + h) * j->tile_bytes + 16 * nk0 + 64 * l),
                _MM_HINT_T0);
        QCC_TILE_DISPATCH8_NT(QCC_VNNI_WHOLE_K, nt, mr)
      }
    }
    for (int h = 0; h < nt; ++h)
      for (int64_t r = 0; r < j->m; ++r)
        whole_k_out(j, w[h], r, tile + h,
                    _mm512_loadu_si512(part + (r * 3 + h) * 16));
  }
  free(own);
}

#if defined(__AMX_INT8__) && defined(__AMX_TILE__)
/* Intel AMX: eight tile registers of up to 16 rows x 64 bytes; tdpbusd
 * adds u8 x s8 products into int32 as vpdpbusd does, 16 rows x 16 columns
 * x up to 64 K-steps per instruction. The panels and packed tiles already
 * hold the weights as its B operand wants them (4 K-steps per column, 16
 * columns per 64-byte row) and the rows are stored a + 128, so the same
 * seeds and epilogue give the same integers and the same bits. Blocks of
 * 32 rows x 2 tiles: tiles 0-3 accumulate, 4-5 hold rows, 6-7 weights. */

/* The fewest rows for which the tiles beat the VNNI kernels, measured per
 * path on the 4096 x 14336 pair (2 threads) with the rows padded to 32:
 * 8-bit weights straight from the packed tiles are at the memory bound
 * from 8 rows (2.1 against 2.9 ms at 8, even at 6); integer matmuls win
 * from about 14 (1.65 against 2.15 ms at 16, 1.79 against 1.65 at 12); the
 * panel path with a group epilogue every 32 K-steps only from about 28
 * (int4 groups of 32: 5.0 against 3.5 ms at 16, 6.4 against 6.1 for int8
 * groups at 24, 6.5 against 7.2 at 32). */
static int64_t amx_min_rows(const qlinear_job *j) {
  if (j->yi)
    return 16;
  if (j->groups > 1)
    return 28;
  return j->w->bits == 8 ? 8 : 16;
}

/* libc's, as malloc is: the runtime is freestanding C. */
long syscall(long number, ...);

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} amx_config;

/* Linux grants the AMX register state per process on request (arch_prctl
 * ARCH_REQ_XCOMP_PERM for XTILEDATA); before that the first tile
 * instruction faults. Asked once; a refusal keeps the VNNI kernels. */
static int amx_permitted(void) {
  static int state; /* 0: not asked, 1: granted, -1: refused */
  int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
  if (s == 0) {
    long r = syscall(158L /* SYS_arch_prctl */, 0x1023L /* ARCH_REQ_XCOMP_PERM */,
                     18L /* XFEATURE_XTILEDATA */);
    s = r == 0 ? 1 : -1;
    __atomic_store_n(&state, s, __ATOMIC_RELEASE);
  }
  return s == 1;
}

/* K-steps per tdpbusd: the most of 64, 32, 16, 8 that divides the group
 * (groups are multiples of 8), so no step crosses a scale. */
static int64_t amx_kstep(int64_t group) {
  return group % 64 == 0 ? 64 : group % 32 == 0 ? 32 : group % 16 == 0 ? 16 : 8;
}

static void amx_configure(int64_t kstep) {
  amx_config c;
  __builtin_memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int i = 0; i < 8; ++i) {
    c.rows[i] = (uint8_t)(i < 6 ? 16 : kstep / 4);
    c.colsb[i] = (uint16_t)(i < 4 || i >= 6 ? 64 : kstep);
  }
  _tile_loadconfig(&c);
}

/* Sums of rows [r0, r0 + 32) x tiles w0, w1 (64-byte rows per 4 K-steps)
 * over K-steps [k0, k1), into tiles 0-3 as they stand. */
#define QCC_AMX_STEPS(a0, a1, w0, w1, k0, k1, ks, stride)                                      \
  for (int64_t s = (k0); s < (k1); s += (ks)) {                                                \
    _tile_loadd(4, (a0) + s, stride);                                                          \
    _tile_loadd(5, (a1) + s, stride);                                                          \
    _tile_loadd(6, (w0) + 16 * (s - (k0)), 64);                                                \
    _tile_loadd(7, (w1) + 16 * (s - (k0)), 64);                                                \
    _tile_dpbusd(0, 4, 6);                                                                     \
    _tile_dpbusd(1, 4, 7);                                                                     \
    _tile_dpbusd(2, 5, 6);                                                                     \
    _tile_dpbusd(3, 5, 7);                                                                     \
  }

static void amx_store_sums(int32_t *c) {
  _tile_stored(0, c, 64);
  _tile_stored(1, c + 256, 64);
  _tile_stored(2, c + 512, 64);
  _tile_stored(3, c + 768, 64);
}

/* Rows [r0, r0 + 32) (the rows are padded to 32) x NT unpacked tiles.
 * Block q of c and t is rows r0 + 16 * (q / 2) .. + 15 x tile q % 2, 16
 * columns per row. With one tile, the second pass reads the first again
 * and is not stored. */
static void amx_rows_int8act(const qlinear_job *j, int64_t r0, int64_t tile, int nt,
                             const int8_t *panel, size_t panel_bytes, int32_t *c, float *t) {
  const int64_t group = j->w->group, gb = vnni_group_bytes(group), ks = amx_kstep(group);
  const uint8_t *a0 = (const uint8_t *)j->qa + r0 * j->qs, *a1 = a0 + 16 * j->qs;
  const int8_t *p1 = panel + (nt == 2 ? panel_bytes : 0);
  for (int i = 0; i < 1024; i += 16)
    _mm512_storeu_ps(t + i, _mm512_setzero_ps());
  for (int64_t g = 0; g < j->groups; ++g) {
    const int8_t *w0 = panel + g * gb, *w1 = p1 + g * gb;
    /* Every row starts from its column's seed: a stride-0 load. */
    _tile_loadd(0, w0 + group * 16, 0);
    _tile_loadd(1, w1 + group * 16, 0);
    _tile_loadd(2, w0 + group * 16, 0);
    _tile_loadd(3, w1 + group * 16, 0);
    QCC_AMX_STEPS(a0, a1, w0, w1, g * group, (g + 1) * group, ks, j->qs)
    amx_store_sums(c);
    const __m512 sc[2] = {_mm512_loadu_ps((const float *)(w0 + group * 16 + 64)),
                          _mm512_loadu_ps((const float *)(w1 + group * 16 + 64))};
    for (int q = 0; q < 4; ++q)
      for (int i = 0; i < 16; ++i) {
        float *ti = t + q * 256 + 16 * i;
        __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(c + q * 256 + 16 * i)),
                                 sc[q & 1]);
        _mm512_storeu_ps(ti, _mm512_add_ps(_mm512_loadu_ps(ti), p));
      }
  }
  for (int q = 0; q < 4; ++q) {
    if ((q & 1) >= nt)
      continue;
    for (int i = 0; i < 16; ++i) {
      int64_t r = r0 + 16 * (q / 2) + i;
      if (r < j->m)
        vnni_store(j, r, tile + (q & 1),
                   _mm512_mul_ps(_mm512_set1_ps(j->sa[r]), _mm512_loadu_ps(t + q * 256 + 16 * i)));
    }
  }
}

/* A K-chunked call's sums of rows [r0, r0 + 32) x tile between passes. */
static int32_t *amx_partial(const qlinear_job *j, int64_t r0, int64_t tile) {
  return j->part + (tile * amx_row_blocks(j) + r0 / QCC_AMX_ROWS) * 512;
}

/* Tiles 0-3 start from zero (first chunk) or from the sums the last pass
 * left; with one tile, 1 and 3 are never stored and start anywhere. */
static void amx_start_sums(const qlinear_job *j, int64_t r0, int64_t tile, int nt) {
  if (!j->k0) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    return;
  }
  const int32_t *p0 = amx_partial(j, r0, tile), *p1 = nt == 2 ? amx_partial(j, r0, tile + 1) : p0;
  _tile_loadd(0, p0, 64);
  _tile_loadd(1, p1, 64);
  _tile_loadd(2, p0 + 256, 64);
  _tile_loadd(3, p1 + 256, 64);
}

/* Whether this pass ends short of K: then it leaves its sums for the next. */
static int amx_leave_sums(const qlinear_job *j, int64_t r0, int64_t tile, int nt) {
  if (j->k1 == j->kp)
    return 0;
  int32_t *p0 = amx_partial(j, r0, tile);
  _tile_stored(0, p0, 64);
  _tile_stored(2, p0 + 256, 64);
  if (nt == 2) {
    int32_t *p1 = amx_partial(j, r0, tile + 1);
    _tile_stored(1, p1, 64);
    _tile_stored(3, p1 + 256, 64);
  }
  return 1;
}

/* 8-bit weights with one group over K (per-column scales, integer
 * matmuls) need no panel: the tiles run on the packed bytes as stored, q
 * (zero point and all), and whole_k_out puts the sums right. Skipping the
 * panel saves writing it, which the L2-bound tile loads otherwise wait on.
 * Rows [r0, r0 + 32) of a + 128 x NT tiles as stored. */
static void amx_rows_whole_k(const qlinear_job *j, int64_t r0, int64_t tile, int nt, int32_t *c) {
  const uint8_t *w0 = j->tiles + tile * j->tile_bytes, *w1 = w0 + (nt == 2 ? j->tile_bytes : 0);
  const uint8_t *a0 = (const uint8_t *)j->qa + r0 * j->qs, *a1 = a0 + 16 * j->qs;
  amx_start_sums(j, r0, tile, nt);
  QCC_AMX_STEPS(a0, a1, w0 + 16 * j->k0, w1 + 16 * j->k0, j->k0, j->k1, amx_kstep(j->kp), j->qs)
  if (amx_leave_sums(j, r0, tile, nt))
    return;
  amx_store_sums(c);
  for (int q = 0; q < 4; ++q) {
    if ((q & 1) >= nt)
      continue;
    for (int i = 0; i < 16; ++i) {
      int64_t r = r0 + 16 * (q / 2) + i;
      if (r >= j->m)
        break;
      whole_k_out(j, (q & 1) ? w1 : w0, r, tile + (q & 1),
                  _mm512_loadu_si512(c + q * 256 + 16 * i));
    }
  }
}
#endif /* AMX */

#define QCC_VNNI_QMM(MR) vnni_tile_qmm(j, 0, MR, tile, 2)
#define QCC_VNNI_QMM1(MR) vnni_tile_qmm(j, 0, MR, tile, 1)
#define QCC_VNNI_DIRECT(MR) vnni_tile_direct(j, 0, MR, tile)
#define QCC_VNNI_INT8ACT3(MR) vnni_block_int8act(j, r, MR, tile, 3, wp, g0, g1, part, g32)
#define QCC_VNNI_INT8ACT2(MR) vnni_block_int8act(j, r, MR, tile, 2, wp, g0, g1, part, g32)
#define QCC_VNNI_INT8ACT1(MR) vnni_block_int8act(j, r, MR, tile, 1, wp, g0, g1, part, g32)
#define QCC_VNNI_FLOAT(MR) vnni_tile_floatact(j, r, MR, tile, 2, fpanel, kc, k0, k1, part)
#define QCC_VNNI_FLOAT1(MR) vnni_tile_floatact(j, r, MR, tile, 1, fpanel, kc, k0, k1, part)
#define QCC_VNNI_FLOAT_DIRECT4(MR) vnni_tile_float_direct(j, r, MR, tile, 4)
#define QCC_VNNI_FLOAT_DIRECT2(MR) vnni_tile_float_direct(j, r, MR, tile, 2)
#define QCC_VNNI_FLOAT_DIRECT1(MR) vnni_tile_float_direct(j, r, MR, tile, 1)


static void vnni_tiles_task(const qlinear_job *j, int64_t begin, int64_t end, int thread) {
#if defined(__AMX_INT8__) && defined(__AMX_TILE__)
  if (j->amx) {
    const int whole_k = whole_k_rows(j);
    const size_t panel_bytes = whole_k ? 0 : (size_t)(j->groups * vnni_group_bytes(j->w->group));
    void *own;
    int8_t *panel = task_panel(j, thread, 2 * panel_bytes + 8192, &own);
    if (!panel)
      __builtin_trap();
    int32_t *c = (int32_t *)(panel + 2 * panel_bytes);
    float *t = (float *)(c + 1024);
    amx_configure(amx_kstep(j->w->group));
    const int64_t blocks = amx_row_blocks(j);
    for (int64_t tile = begin, nt, pass = 0; tile < end; tile += nt, ++pass) {
      nt = end - tile >= 2 ? 2 : 1;
      /* Row blocks run forward and back on alternate tile pairs, so each
       * pair starts on the rows the last one ended on, still in L2: a
       * forward sweep over rows a little larger than L2 (128 rows of
       * K = 14336) would miss on every block. */
#define QCC_AMX_ROW(b) (((pass & 1) ? blocks - 1 - (b) : (b)) * QCC_AMX_ROWS)
      if (whole_k) {
        for (int64_t b = 0; b < blocks; ++b)
          amx_rows_whole_k(j, QCC_AMX_ROW(b), tile, (int)nt, c);
        continue;
      }
      int ok = 1;
      for (int h = 0; h < nt; ++h)
        ok &= vnni_unpack_tile(j, tile + h, panel + h * panel_bytes);
      if (!ok) {
        tiles_scalar(j, 0, j->m, tile, tile + nt);
        continue;
      }
      for (int64_t b = 0; b < blocks; ++b)
        amx_rows_int8act(j, QCC_AMX_ROW(b), tile, (int)nt, panel, panel_bytes, c, t);
#undef QCC_AMX_ROW
    }
    _tile_release();
    free(own);
    return;
  }
#endif
  /* Integer matmuls and int8 rows on 8-bit whole-K weights. */
  if (j->m > QCC_VNNI_DIRECT_ROWS && whole_k_rows(j)) {
    vnni_tiles_whole_k(j, begin, end, thread);
    return;
  }
  if (j->yi) {
    for (int64_t tile = begin, nt; tile < end; tile += nt) {
      nt = end - tile >= 2 ? 2 : 1;
      if (nt == 2) {
        QCC_TILE_DISPATCH(QCC_VNNI_QMM, j->m)
      } else {
        QCC_TILE_DISPATCH(QCC_VNNI_QMM1, j->m)
      }
    }
    return;
  }
  if (j->qa && j->m <= QCC_VNNI_DIRECT_ROWS) {
    for (int64_t tile = begin; tile < end; ++tile)
      QCC_TILE_DISPATCH(QCC_VNNI_DIRECT, j->m)
    return;
  }
  if (!j->qa && j->m <= QCC_VNNI_FLOAT_DIRECT_ROWS) {
    /* Four tiles a step for one or two rows, two for more: at least four
     * chains, at most sixteen accumulators. Each block of 8 rows reads the
     * tiles again, from cache. */
    const int64_t step = j->m <= 2 ? 4 : 2;
    for (int64_t tile = begin, nt; tile < end; tile += nt) {
      nt = end - tile >= step ? step : end - tile >= 2 ? 2 : 1;
      for (int64_t r = 0; r < j->m; r += 8) {
        int64_t mr = j->m - r < 8 ? j->m - r : 8;
        if (nt == 4) {
          QCC_TILE_DISPATCH(QCC_VNNI_FLOAT_DIRECT4, mr)
        } else if (nt == 2) {
          QCC_TILE_DISPATCH8(QCC_VNNI_FLOAT_DIRECT2, mr)
        } else {
          QCC_TILE_DISPATCH8(QCC_VNNI_FLOAT_DIRECT1, mr)
        }
      }
    }
    return;
  }
  const size_t panel_bytes = (size_t)(j->groups * vnni_group_bytes(j->w->group));
  /* Float rows: K in chunks of about QCC_VNNI_FLOAT_KC steps (whole
   * groups), whose float panel stays in cache while every row block passes
   * over it; the rows' sums wait in `part` between chunks. */
  const int64_t group = j->w->group, cg = QCC_VNNI_FLOAT_KC > group ? QCC_VNNI_FLOAT_KC / group : 1;
  const int64_t kc = cg * group;
  const size_t fpanel_bytes = j->qa ? (size_t)j->m * 48 * sizeof(float)
                                    : (size_t)(2 * kc * 16 + j->m * 32) * sizeof(float);
  /* Int8 rows unpack three tiles at a time, float rows two. */
  const int64_t panels = j->qa ? 3 : 2;
  void *own;
  int8_t *panel = task_panel(j, thread, panels * panel_bytes + fpanel_bytes, &own);
  if (!panel)
    __builtin_trap();
  if (j->qa) {
    /* Int8 rows: three tiles unpacked at a time, then K in chunks of
     * whole groups whose slice of the three panels and of the rows stays
     * in L2 while every block of 4 rows passes over it. */
    const int64_t cgi = QCC_VNNI_INT8ACT_KC > group ? QCC_VNNI_INT8ACT_KC / group : 1;
    float *part = (float *)(panel + 3 * panel_bytes);
    for (int64_t tile = begin, nt; tile < end; tile += nt) {
      nt = end - tile >= 3 ? 3 : end - tile;
      int ok = 1;
      for (int h = 0; h < nt; ++h)
        ok &= vnni_unpack_tile(j, tile + h, panel + h * panel_bytes);
      if (!ok) {
        tiles_scalar(j, 0, j->m, tile, tile + nt);
        continue;
      }
      const int8_t *wp[3] = {panel, panel + panel_bytes, panel + 2 * panel_bytes};
      for (int64_t g0 = 0, g1; g0 < j->groups; g0 = g1) {
        g1 = j->groups - g0 > cgi ? g0 + cgi : j->groups;
        for (int64_t r = 0; r < j->m; r += QCC_VNNI_INT8ACT_ROWS) {
          int64_t mr = j->m - r < QCC_VNNI_INT8ACT_ROWS ? j->m - r : QCC_VNNI_INT8ACT_ROWS;
          if (group == 32) {
            const int g32 = 1;
            QCC_TILE_DISPATCH_NT(QCC_VNNI_INT8ACT, nt, mr)
          } else {
            const int g32 = 0;
            QCC_TILE_DISPATCH_NT(QCC_VNNI_INT8ACT, nt, mr)
          }
        }
      }
    }
  } else {
    /* Two tiles at a time give up to 24 independent chains. */
    float *fpanel = (float *)(panel + 2 * panel_bytes), *part = fpanel + 2 * kc * 16;
    for (int64_t tile = begin, nt; tile < end; tile += nt) {
      nt = end - tile >= 2 ? 2 : 1;
      int ok = 1;
      for (int h = 0; h < nt; ++h)
        ok &= vnni_unpack_tile(j, tile + h, panel + h * panel_bytes);
      if (!ok) {
        tiles_scalar(j, 0, j->m, tile, tile + nt);
        continue;
      }
      for (int64_t g0 = 0; g0 < j->groups; g0 += cg) {
        const int64_t g1 = g0 + cg < j->groups ? g0 + cg : j->groups;
        const int64_t k0 = g0 * group, k1 = g1 * group;
        for (int h = 0; h < nt; ++h)
          vnni_dequant_groups(j, panel + h * panel_bytes, g0, g1, fpanel + h * kc * 16);
        for (int64_t r = 0; r < j->m; r += 12) {
          int64_t mr = j->m - r < 12 ? j->m - r : 12;
          if (nt == 2) {
            QCC_TILE_DISPATCH12(QCC_VNNI_FLOAT, mr)
          } else {
            QCC_TILE_DISPATCH12(QCC_VNNI_FLOAT1, mr)
          }
        }
      }
    }
  }
  free(own);
}
#endif /* AVX-512 VNNI */

static void tiles_task(void *data, int64_t begin, int64_t end, int thread) {
  const qlinear_job *j = data;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  if (j->w->nr == 16) {
    vnni_tiles_task(j, begin, end, thread);
    return;
  }
#endif
  if (j->w->nr != 8) {
    tiles_scalar(j, 0, j->m, begin, end);
    return;
  }
  if (j->yi) {
    for (int64_t tile = begin, nt; tile < end; tile += nt) {
      nt = end - tile >= 2 ? 2 : 1;
      for (int64_t r = 0; r < j->m; r += 4) {
        int64_t mr = j->m - r < 4 ? j->m - r : 4;
        if (nt == 2) {
          QCC_TILE_DISPATCH(QCC_QMM, mr)
        } else {
          QCC_TILE_DISPATCH(QCC_QMM1, mr)
        }
      }
    }
    return;
  }
  /* Float activations with enough rows: dequantize each tile once into a
   * panel, then run the rows over it (the register kernel would redo the
   * unpacking for every 4 rows). */
  if (!j->qa && j->m >= 8) {
    void *own;
    float *panel = task_panel(j, thread, (size_t)j->kp * 16 * sizeof(float), &own);
    if (panel) {
      for (int64_t tile = begin; tile < end; tile += 2) {
        int pair = end - tile >= 2;
        dequant_tile(j, tile, panel);
        if (pair)
          dequant_tile(j, tile + 1, panel + j->kp * 8);
        for (int64_t r = 0; r < j->m; r += 6) {
          if (pair) {
            QCC_PANEL_DISPATCH(2)
          } else {
            QCC_PANEL_DISPATCH(1)
          }
        }
      }
      free(own);
      return;
    }
  }
  if (j->qa_unsigned) {
    /* The rows are stored as a + 128: no other kernel can take them. */
    void *own;
    int8_t *panel =
        task_panel(j, thread, (size_t)(j->groups * int4_panel_group_bytes(j->w->group)), &own);
    if (!panel)
      __builtin_trap();
    for (int64_t tile = begin; tile < end; ++tile) {
      int narrow = unpack_int4_tile(j, tile, panel);
      for (int64_t r = 0; r < j->m; r += 4) {
        int64_t mr = j->m - r < 4 ? j->m - r : 4;
        if (narrow) {
          QCC_TILE_DISPATCH(QCC_INT4_PANEL8, mr)
        } else {
          QCC_TILE_DISPATCH(QCC_INT4_PANEL4, mr)
        }
      }
    }
    free(own);
    return;
  }
  /* Each tile's weights stay in cache while all rows pass over them. */
  for (int64_t tile = begin, nt; tile < end; tile += nt) {
    nt = j->qa && j->w->bits == 8 && end - tile >= 2 ? 2 : 1;
    for (int64_t r = 0; r < j->m; r += 4) {
      int64_t mr = j->m - r < 4 ? j->m - r : 4;
      if (nt == 2) {
        QCC_TILE_DISPATCH(QCC_PAIR_INT8, mr)
      } else if (j->qa && j->w->bits == 4 && j->w->group % 32 == 0) {
        QCC_TILE_DISPATCH(QCC_INT4_Q32, mr)
      } else if (j->qa) {
        QCC_TILE_DISPATCH(QCC_INT8ACT, mr)
      } else {
        QCC_TILE_DISPATCH(QCC_FLOATACT, mr)
      }
    }
  }
}
#elif defined(__ARM_NEON)
/* acc[c] += sum of the 4 products of column c's bytes (w holds 4 columns x
 * 4 bytes) with the 4 activations repeated in a. */
static inline int32x4_t dot4(int32x4_t acc, int8x16_t w, int8x16_t a) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_s32(acc, w, a);
#else
  int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(a)));
  int32x4_t hi = vpaddlq_s16(vmull_s8(vget_high_s8(w), vget_high_s8(a)));
  return vaddq_s32(acc, vpaddq_s32(lo, hi));
#endif
}

static int8x16_t bcast4(const int8_t *a) {
  int32_t v;
  __builtin_memcpy(&v, a, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/* The 8 scales of a block, f32 or f16, as two vectors of 4 columns. */
static inline void neon_scales(const qlinear_job *j, const uint8_t *at, float32x4_t sc[2]) {
  if (j->f16_scales) {
    uint16x8_t h = vld1q_u16((const uint16_t *)at);
    sc[0] = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
    sc[1] = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h)));
  } else {
    sc[0] = vld1q_f32((const float *)at);
    sc[1] = vld1q_f32((const float *)at + 4);
  }
}

/* The 8 zero points of a block: unsigned for int4, signed bytes for int8. */
static inline int16x8_t neon_zero_points(const qlinear_job *j, const uint8_t *blk) {
  return j->w->bits == 4 ? vreinterpretq_s16_u16(vmovl_u8(vld1_u8(blk + j->zp_at)))
                         : vmovl_s8(vld1_s8((const int8_t *)blk + j->zp_at));
}

/* Row r's 8 columns of tile `tile`, plus the bias, the first `cols` kept. */
static inline void neon_store_row(const qlinear_job *j, int64_t r, int64_t tile, float32x4_t v0,
                                  float32x4_t v1) {
  float out[8];
  vst1q_f32(out, v0);
  vst1q_f32(out + 4, v1);
  int64_t cols = j->w->n - tile * 8 < 8 ? j->w->n - tile * 8 : 8;
  for (int64_t c = 0; c < cols; ++c)
    store_value(j, r, tile * 8 + c, out[c]);
}

/* The end of group g for MR rows: acc -= zp * sum(a), then
 * t += float(acc) * s_w in the reference's order. */
static inline __attribute__((always_inline)) void
group_epilogue(const qlinear_job *j, const uint8_t *blk, int64_t r0, const int MR, int64_t g,
               int32x4_t acc[4][2], float32x4_t t[4][2]) {
  int16x8_t zp16 = neon_zero_points(j, blk);
  int32x4_t zp0 = vmovl_s16(vget_low_s16(zp16)), zp1 = vmovl_s16(vget_high_s16(zp16));
  for (int r = 0; r < MR; ++r) {
    int32x4_t s = vdupq_n_s32(j->asum[(r0 + r) * j->groups + g]);
    acc[r][0] = vmlsq_s32(acc[r][0], zp0, s);
    acc[r][1] = vmlsq_s32(acc[r][1], zp1, s);
  }
  float32x4_t sc[2];
  neon_scales(j, blk + weight_bytes(j->w), sc);
  for (int r = 0; r < MR; ++r) {
    t[r][0] = vaddq_f32(t[r][0], vmulq_f32(vcvtq_f32_s32(acc[r][0]), sc[0]));
    t[r][1] = vaddq_f32(t[r][1], vmulq_f32(vcvtq_f32_s32(acc[r][1]), sc[1]));
  }
}

/* y = s_row * t (+ bias) (+ residual) for MR rows of one tile. */
static inline __attribute__((always_inline)) void
store_rows(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, float32x4_t t[4][2]) {
  for (int r = 0; r < MR; ++r) {
    float32x4_t s = vdupq_n_f32(j->sa[r0 + r]);
    neon_store_row(j, r0 + r, tile, vmulq_f32(s, t[r][0]), vmulq_f32(s, t[r][1]));
  }
}

/* The NEON twin of the AVX2 int8 kernel: 4-deep dot products (sdot, or
 * widening multiplies and pairwise adds without dotprod) of the unsigned
 * nibbles or signed bytes against the signed activations, exact in int32,
 * then the reference's float epilogue. */
static inline __attribute__((always_inline)) void
tile_int8act(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  const qcc_rt_qweight *w = j->w;
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t group = w->group;
  float32x4_t t[4][2];
  int32x4_t acc[4][2];
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = j->qa + (r0 + r) * j->qs;
    t[r][0] = t[r][1] = vdupq_n_f32(0);
  }
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    for (int r = 0; r < MR; ++r)
      acc[r][0] = acc[r][1] = vdupq_n_s32(0);
    int64_t kg = g * group;
    if (w->bits == 4) {
      const uint8x16_t low4 = vdupq_n_u8(15);
      for (int64_t p = 0; p < group / 8; ++p) {
        uint8x16_t v0 = vld1q_u8(blk + 32 * p), v1 = vld1q_u8(blk + 32 * p + 16);
        int8x16_t lo0 = vreinterpretq_s8_u8(vandq_u8(v0, low4));
        int8x16_t hi0 = vreinterpretq_s8_u8(vshrq_n_u8(v0, 4));
        int8x16_t lo1 = vreinterpretq_s8_u8(vandq_u8(v1, low4));
        int8x16_t hi1 = vreinterpretq_s8_u8(vshrq_n_u8(v1, 4));
        for (int r = 0; r < MR; ++r) {
          int8x16_t a0 = bcast4(qa[r] + kg + 8 * p), a1 = bcast4(qa[r] + kg + 8 * p + 4);
          acc[r][0] = dot4(dot4(acc[r][0], lo0, a0), hi0, a1);
          acc[r][1] = dot4(dot4(acc[r][1], lo1, a0), hi1, a1);
        }
      }
    } else {
      for (int64_t c = 0; c < group / 4; ++c) {
        int8x16_t w0 = vld1q_s8((const int8_t *)blk + 32 * c);
        int8x16_t w1 = vld1q_s8((const int8_t *)blk + 32 * c + 16);
        for (int r = 0; r < MR; ++r) {
          int8x16_t a = bcast4(qa[r] + kg + 4 * c);
          acc[r][0] = dot4(acc[r][0], w0, a);
          acc[r][1] = dot4(acc[r][1], w1, a);
        }
      }
    }
    group_epilogue(j, blk, r0, MR, g, acc, t);
  }
  store_rows(j, r0, MR, tile, t);
}

/* The NEON twin of the AVX2 weight-only kernel: MR (<= 4) float rows x
 * one tile, the weights dequantized in registers (vld4 turns the
 * [column][4 K-steps] bytes into one vector of 8 columns per K-step) and
 * accumulated with fused multiply-adds in K order, the same operations in
 * the same order as the AVX2 kernels, so both give the same bits. Rows are
 * read kp wide, so x must be zero-padded past k. */
static inline __attribute__((always_inline)) void
tile_floatact(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  const qcc_rt_qweight *w = j->w;
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t wb = weight_bytes(w), group = w->group;
  float32x4_t acc[4][2];
  const float *x[4];
  for (int r = 0; r < MR; ++r) {
    x[r] = j->x + (r0 + r) * j->x_rs;
    acc[r][0] = acc[r][1] = vdupq_n_f32(0);
  }
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    float32x4_t sc[2];
    neon_scales(j, blk + wb, sc);
    int16x8_t zp = neon_zero_points(j, blk);
    /* 8 K-steps at a time: an int4 pair of chunks, or two int8 chunks. */
    for (int64_t p = 0; p < group / 8; ++p) {
      int16x8_t q[8];
      if (w->bits == 4) {
        uint8x8x4_t v = vld4_u8(blk + 32 * p);
        for (int i = 0; i < 4; ++i) {
          q[i] = vreinterpretq_s16_u16(vmovl_u8(vand_u8(v.val[i], vdup_n_u8(15))));
          q[i + 4] = vreinterpretq_s16_u16(vmovl_u8(vshr_n_u8(v.val[i], 4)));
        }
      } else {
        for (int h = 0; h < 2; ++h) {
          uint8x8x4_t v = vld4_u8(blk + 64 * p + 32 * h);
          for (int i = 0; i < 4; ++i)
            q[4 * h + i] = vmovl_s8(vreinterpret_s8_u8(v.val[i]));
        }
      }
      int64_t k = g * group + 8 * p;
      for (int i = 0; i < 8; ++i) {
        int16x8_t c = vsubq_s16(q[i], zp);
        float32x4_t w0 = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(c))), sc[0]);
        float32x4_t w1 = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(c))), sc[1]);
        for (int r = 0; r < MR; ++r) {
          acc[r][0] = vfmaq_n_f32(acc[r][0], w0, x[r][k + i]);
          acc[r][1] = vfmaq_n_f32(acc[r][1], w1, x[r][k + i]);
        }
      }
    }
  }
  for (int r = 0; r < MR; ++r)
    neon_store_row(j, r0 + r, tile, acc[r][0], acc[r][1]);
}

/* y = acc + (off - a_zp) * colsum(w) for MR rows of one tile. */
static inline __attribute__((always_inline)) void
qmm_store(const qlinear_job *j, int64_t r0, const int MR, int64_t tile, int32x4_t acc[4][2]) {
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int32_t *sums = (const int32_t *)(blk + weight_bytes(j->w));
  int32x4_t s0 = vld1q_s32(sums), s1 = vld1q_s32(sums + 4);
  int64_t col = tile * 8, cols = j->w->n - col < 8 ? j->w->n - col : 8;
  for (int r = 0; r < MR; ++r) {
    int32_t out[8];
    int32x4_t corr = vdupq_n_s32(j->corr[r0 + r]);
    vst1q_s32(out, vmlaq_s32(acc[r][0], s0, corr));
    vst1q_s32(out + 4, vmlaq_s32(acc[r][1], s1, corr));
    for (int64_t i = 0; i < cols; ++i)
      put_qmm(j, r0 + r, col + i, out[i]);
  }
}

/* Integer matmul: MR (<= 4) rows of a' x one tile, int32 out. Signed
 * 4-deep dot products take the centered weights and a' as they are. */
static inline __attribute__((always_inline)) void
tile_qmm(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  int32x4_t acc[4][2];
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = j->qa + (r0 + r) * j->qs;
    acc[r][0] = acc[r][1] = vdupq_n_s32(0);
  }
  for (int64_t c = 0; c < j->kp / 4; ++c) {
    int8x16_t w0 = vld1q_s8((const int8_t *)blk + 32 * c);
    int8x16_t w1 = vld1q_s8((const int8_t *)blk + 32 * c + 16);
    for (int r = 0; r < MR; ++r) {
      int8x16_t a = bcast4(qa[r] + 4 * c);
      acc[r][0] = dot4(acc[r][0], w0, a);
      acc[r][1] = dot4(acc[r][1], w1, a);
    }
  }
  qmm_store(j, r0, MR, tile, acc);
}

#if defined(__ARM_FEATURE_MATMUL_INT8)
/* i8mm: one smmla multiplies 2 rows x 8 K-steps by 8 K-steps x 2 columns
 * into a 2 x 2 int32 block, twice the products of one sdot. The packed
 * bytes become column pairs of 8 K-steps with one 32-bit zip: lo and hi
 * hold 4 columns x 4 K-steps each (a 4-bit pair's low and high nibbles,
 * or two consecutive 8-bit chunks), and the zips give columns 0-1 and
 * 2-3, each as K-steps 0..7. */
static inline void column_pairs(int8x16_t lo, int8x16_t hi, int8x16_t *c01, int8x16_t *c23) {
  int32x4_t l = vreinterpretq_s32_s8(lo), h = vreinterpretq_s32_s8(hi);
  *c01 = vreinterpretq_s8_s32(vzip1q_s32(l, h));
  *c23 = vreinterpretq_s8_s32(vzip2q_s32(l, h));
}

/* The 8 columns of 8 K-steps (pair p) of a block as 4 column pairs. */
static inline void mmla_weights(const qlinear_job *j, const uint8_t *blk, int64_t p,
                                int8x16_t wc[4]) {
  if (j->w->bits == 4) {
    const uint8x16_t low4 = vdupq_n_u8(15);
    uint8x16_t v0 = vld1q_u8(blk + 32 * p), v1 = vld1q_u8(blk + 32 * p + 16);
    column_pairs(vreinterpretq_s8_u8(vandq_u8(v0, low4)), vreinterpretq_s8_u8(vshrq_n_u8(v0, 4)),
                 &wc[0], &wc[1]);
    column_pairs(vreinterpretq_s8_u8(vandq_u8(v1, low4)), vreinterpretq_s8_u8(vshrq_n_u8(v1, 4)),
                 &wc[2], &wc[3]);
  } else {
    const int8_t *c = (const int8_t *)blk + 64 * p;
    column_pairs(vld1q_s8(c), vld1q_s8(c + 32), &wc[0], &wc[1]);
    column_pairs(vld1q_s8(c + 16), vld1q_s8(c + 48), &wc[2], &wc[3]);
  }
}

/* K-steps k..k+7 of rows 2i and 2i+1; zeros stand in for a row past MR. */
static inline int8x16_t row_pair(const int8_t *const qa[4], const int MR, int i, int64_t k) {
  int8x8_t second = 2 * i + 1 < MR ? vld1_s8(qa[2 * i + 1] + k) : vdup_n_s8(0);
  return vcombine_s8(vld1_s8(qa[2 * i] + k), second);
}

/* The 2 x 2 blocks of a row pair back to rows of 8 columns. */
static inline void mmla_rows(int32x4_t acc[2][4], const int MR, int32x4_t out[4][2]) {
  for (int i = 0; 2 * i < MR; ++i) {
    int64x2_t c[4];
    for (int q = 0; q < 4; ++q)
      c[q] = vreinterpretq_s64_s32(acc[i][q]);
    out[2 * i][0] = vreinterpretq_s32_s64(vzip1q_s64(c[0], c[1]));
    out[2 * i][1] = vreinterpretq_s32_s64(vzip1q_s64(c[2], c[3]));
    if (2 * i + 1 < MR) {
      out[2 * i + 1][0] = vreinterpretq_s32_s64(vzip2q_s64(c[0], c[1]));
      out[2 * i + 1][1] = vreinterpretq_s32_s64(vzip2q_s64(c[2], c[3]));
    }
  }
}

/* rows[r] = the int32 sums over `pairs` x 8 K-steps of MR rows (from K-step
 * k0) against the block's 8 columns (from its first pair), on smmla. */
static inline __attribute__((always_inline)) void
mmla_dot(const qlinear_job *j, const uint8_t *blk, const int8_t *const qa[4], const int MR,
         int64_t k0, int64_t pairs, int32x4_t rows[4][2]) {
  int32x4_t acc[2][4];
  for (int i = 0; 2 * i < MR; ++i)
    for (int q = 0; q < 4; ++q)
      acc[i][q] = vdupq_n_s32(0);
  for (int64_t p = 0; p < pairs; ++p) {
    int8x16_t wc[4];
    mmla_weights(j, blk, p, wc);
    for (int i = 0; 2 * i < MR; ++i) {
      int8x16_t a = row_pair(qa, MR, i, k0 + 8 * p);
      for (int q = 0; q < 4; ++q)
        acc[i][q] = vmmlaq_s32(acc[i][q], a, wc[q]);
    }
  }
  mmla_rows(acc, MR, rows);
}

/* tile_int8act on smmla: the same integers, so the same bits. One row
 * would waste half of each smmla, so it stays on sdot. */
static inline __attribute__((always_inline)) void
tile_int8act_mmla(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  if (MR == 1) {
    tile_int8act(j, r0, 1, tile);
    return;
  }
  const uint8_t *blk = j->tiles + tile * j->tile_bytes;
  const int64_t group = j->w->group;
  float32x4_t t[4][2];
  int32x4_t rows[4][2];
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r) {
    qa[r] = j->qa + (r0 + r) * j->qs;
    t[r][0] = t[r][1] = vdupq_n_f32(0);
  }
  for (int64_t g = 0; g < j->groups; ++g, blk += j->block_bytes) {
    mmla_dot(j, blk, qa, MR, g * group, group / 8, rows);
    group_epilogue(j, blk, r0, MR, g, rows, t);
  }
  store_rows(j, r0, MR, tile, t);
}

/* tile_qmm on smmla (one group over kp, a multiple of 8). */
static inline __attribute__((always_inline)) void
tile_qmm_mmla(const qlinear_job *j, int64_t r0, const int MR, int64_t tile) {
  if (MR == 1) {
    tile_qmm(j, r0, 1, tile);
    return;
  }
  int32x4_t rows[4][2];
  const int8_t *qa[4];
  for (int r = 0; r < MR; ++r)
    qa[r] = j->qa + (r0 + r) * j->qs;
  mmla_dot(j, j->tiles + tile * j->tile_bytes, qa, MR, 0, j->kp / 8, rows);
  qmm_store(j, r0, MR, tile, rows);
}
#define QCC_NEON_QMM(MR) tile_qmm_mmla(j, r, MR, tile)
#define QCC_NEON_INT8ACT(MR) tile_int8act_mmla(j, r, MR, tile)
#else
#define QCC_NEON_QMM(MR) tile_qmm(j, r, MR, tile)
#define QCC_NEON_INT8ACT(MR) tile_int8act(j, r, MR, tile)
#endif

static void tiles_task(void *data, int64_t begin, int64_t end, int thread) {
  (void)thread;
  const qlinear_job *j = data;
  if (j->w->nr != 8) {
    tiles_scalar(j, 0, j->m, begin, end);
    return;
  }
  for (int64_t tile = begin; tile < end; ++tile)
    for (int64_t r = 0; r < j->m; r += 4) {
      int64_t mr = j->m - r < 4 ? j->m - r : 4;
      if (j->yi) {
        QCC_TILE_DISPATCH(QCC_NEON_QMM, mr)
      } else if (j->qa) {
        QCC_TILE_DISPATCH(QCC_NEON_INT8ACT, mr)
      } else {
        QCC_TILE_DISPATCH(QCC_FLOATACT, mr)
      }
    }
}
#else
static void tiles_task(void *data, int64_t begin, int64_t end, int thread) {
  (void)thread;
  const qlinear_job *j = data;
  tiles_scalar(j, 0, j->m, begin, end);
}
#endif

/*--- Entry point ---------------------------------------------------------*/

static int threads_of(qcc_rt_context *ctx) { return ctx && ctx->num_threads > 1 ? ctx->num_threads : 1; }

/* The job's view of a packed weight. The compiler packed W for this kernel
 * family; anything else is a mismatch between compiler and runtime, never
 * user input. */
static void init_weight(qlinear_job *j, qcc_rt_context *ctx, const qcc_rt_qweight *w, int64_t m) {
  if (w->magic != QCC_RT_QWEIGHT_MAGIC || (w->bits != 4 && w->bits != 8) || w->nr < 1 ||
      w->group < 8 || w->group % 8 != 0)
    __builtin_trap();
  j->ctx = ctx;
  j->w = w;
  j->tiles = (const uint8_t *)w + sizeof(qcc_rt_qweight);
  j->m = m;
  j->groups = ceil_div(w->k, w->group);
  j->kp = j->groups * w->group;
  /* Rows a multiple of 4 KiB apart share their L1 sets: a block of 8 such
   * rows, with the weights the kernels keep in L1, overflows a set. */
  j->qs = j->kp % 1024 == 0 ? j->kp + 64 : j->kp;
  j->f16_scales = (w->flags & QCC_RT_QWEIGHT_F16_SCALES) != 0;
  j->zp_at = weight_bytes(w) + (j->f16_scales ? 2 : 4) * w->nr;
  j->block_bytes = j->zp_at + w->nr;
  /* A block over all of K ends with 8-bit weights' column sums and starts
   * on a cache line (docs/Kernels.md). */
  if (j->groups == 1)
    j->block_bytes = ceil_div(j->block_bytes + (w->bits == 8 ? 4 * w->nr : 0), 64) * 64;
  j->tile_bytes = j->groups * j->block_bytes;
}

/* The rows of one AMX pass over K (all row blocks, one chunk of K) must
 * stay in L2 while the weights stream past them: every tile pair reads
 * them all again. With more than this (AMX cores have 2 MiB of L2), K
 * runs in chunks and the int32 sums wait in memory between passes; at
 * 128 rows of K = 14336 (1.8 MiB) one pass misses L2 on most row blocks. */
#define QCC_AMX_PASS_BYTES (1 << 20)

/* The passes over K an AMX call takes: only the kernels whose sums are
 * int32 across all of K (8-bit whole-K weights, integer matmuls) chunk. */
static int64_t amx_chunks(const qlinear_job *j) {
  if (!j->amx || j->groups != 1 || (j->w->bits != 8 && !j->yi))
    return 1;
  const int64_t rows = amx_row_blocks(j) * QCC_AMX_ROWS;
  const int64_t n = ceil_div(rows * j->kp, QCC_AMX_PASS_BYTES), most = j->kp / 64;
  return n <= most ? n : most > 1 ? most : 1;
}

/* Scratch a chunked call keeps its sums in (0: not chunked). */
static size_t amx_chunk_bytes(const qlinear_job *j, int64_t tiles) {
  if (amx_chunks(j) == 1)
    return 0;
  const size_t rows = (size_t)(amx_row_blocks(j) * QCC_AMX_ROWS);
  return 64 + rows * (size_t)tiles * 16 * sizeof(int32_t);
}

/* All tiles, in one pass over K or in chunks (K-bytes on 64-byte steps). */
static void run_tiles(qcc_rt_context *ctx, qlinear_job *j, int64_t tiles, int64_t grain,
                      void *chunk_scratch) {
  const int64_t n = amx_chunks(j);
  if (n > 1)
    j->part = (int32_t *)(((uintptr_t)chunk_scratch + 63) & ~(uintptr_t)63);
  for (int64_t c = 0; c < n; ++c) {
    j->k0 = c ? j->k1 : 0;
    j->k1 = c + 1 == n ? j->kp : (j->kp * (c + 1) / n) / 64 * 64;
    qcc_rt_parallel_for(ctx, tiles, grain, tiles_task, j);
  }
}

/* Sets j->amx when the call's int8 rows run on AMX tiles; returns the rows
 * the int8 row buffer must hold (AMX loads them 32 at a time). */
static int64_t amx_rows(qlinear_job *j, int int8_rows) {
#if defined(__AMX_INT8__) && defined(__AMX_TILE__)
  j->amx = int8_rows && j->w->nr == 16 && j->m >= amx_min_rows(j) && amx_permitted();
  if (j->amx)
    return amx_row_blocks(j) * QCC_AMX_ROWS;
#else
  (void)int8_rows;
#endif
  return j->m;
}

void qcc_rt_qlinear_impl(qcc_rt_context *ctx, const float *x, int64_t x_rs, int64_t m,
                         const qcc_rt_qweight *w, const float *bias, const float *res,
                         int64_t res_rs, float *y, int64_t y_rs, int64_t int8_act,
                         float act_scale) {
  qlinear_job j = {0};
  init_weight(&j, ctx, w, m);
  if (w->flags & QCC_RT_QWEIGHT_INT_SUMS)
    __builtin_trap();
  j.x = x;
  j.x_rs = x_rs;
  j.act_scale = act_scale;
  j.bias = bias;
  j.res = res;
  j.res_rs = res_rs;
  j.y = y;
  j.y_rs = y_rs;
  int64_t tiles = ceil_div(w->n, w->nr);
  int threads = threads_of(ctx);
  int64_t grain = ceil_div(tiles, 4 * threads);
  /* Without a context (direct C calls) the operands take a malloc'd
   * buffer; instances reuse theirs from call to call. */
  void *scratch = NULL, *owned = NULL;
  const int64_t mp = amx_rows(&j, int8_act != 0);
  const size_t chunk_bytes = amx_chunk_bytes(&j, tiles);
  size_t bytes = int8_act ? (size_t)(mp * j.qs) + (size_t)m * sizeof(float) +
                                (size_t)(m * j.groups) * sizeof(int32_t) + 16 + chunk_bytes
                          : (size_t)(m * j.kp) * sizeof(float);
  if (int8_act || w->k != j.kp) {
    scratch = ctx ? qcc_rt_operands(ctx, bytes) : (owned = malloc(bytes));
    if (!scratch)
      __builtin_trap();
  }
  if (int8_act) {
#if defined(__AVX2__)
    j.qa_unsigned = w->bits == 4 && w->nr == 8 && w->group % 32 == 0 && m >= QCC_INT4_PANEL_MIN_ROWS;
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    /* The panel kernels, and int8 weights on any, take rows as a + 128. */
    j.qa_unsigned |= w->nr == 16 && (w->bits == 8 || m > QCC_VNNI_DIRECT_ROWS);
#endif
    j.asum = (int32_t *)scratch;
    j.sa = (float *)(j.asum + m * j.groups);
    j.qa = (int8_t *)(j.sa + m);
    qcc_rt_parallel_for(ctx, m, ceil_div(m, 4 * threads), quantize_rows_task, &j);
    __builtin_memset((int8_t *)j.qa + m * j.qs, 0, (size_t)((mp - m) * j.qs));
  } else if (w->k != j.kp) {
    /* The vector kernels read rows kp wide: a zero-padded copy. */
    float *xp = scratch;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t k = 0; k < j.kp; ++k)
        xp[r * j.kp + k] = k < w->k ? x[r * x_rs + k] : 0.0f;
    j.x = xp;
    j.x_rs = j.kp;
  }
  run_tiles(ctx, &j, tiles, grain, chunk_bytes ? (char *)scratch + (bytes - chunk_bytes) : NULL);
  free(owned);
}

/* Both integer matmul entries: y holds int32, or f32 with scales. */
static void qmatmul(qcc_rt_context *ctx, const uint8_t *a, int64_t a_rs, int64_t m,
                    int64_t a_unsigned, const uint8_t *a_zp, int64_t zp_count,
                    const qcc_rt_qweight *w, const float *scales, int64_t scale_count,
                    int32_t *y, int64_t y_rs) {
  qlinear_job j = {0};
  init_weight(&j, ctx, w, m);
  if (!(w->flags & QCC_RT_QWEIGHT_INT_SUMS) || w->bits != 8 || j.groups != 1 ||
      (a_zp && zp_count != 1 && zp_count != m) ||
      (scales && scale_count != 1 && scale_count != w->n))
    __builtin_trap();
  j.a = a;
  j.a_rs = a_rs;
  j.a_flip = a_unsigned ? 0x80 : 0;
  j.yi = y;
  j.y_rs = y_rs;
  j.ys = scales;
  j.ys_n = scale_count;
  const int64_t mp = amx_rows(&j, 1), tiles = ceil_div(w->n, w->nr);
  const size_t chunk_bytes = amx_chunk_bytes(&j, tiles);
  size_t bytes = (size_t)m * sizeof(int32_t) + (size_t)(mp * j.qs) + 16 + chunk_bytes;
  void *owned = NULL;
  int32_t *corr = ctx ? qcc_rt_operands(ctx, bytes) : (owned = malloc(bytes));
  if (!corr)
    __builtin_trap();
  int32_t off = a_unsigned ? 128 : 0;
  for (int64_t r = 0; r < m; ++r) {
    int32_t zp = 0;
    if (a_zp) {
      uint8_t z = a_zp[zp_count == 1 ? 0 : r];
      zp = a_unsigned ? (int32_t)z : (int32_t)(int8_t)z;
    }
    corr[r] = off - zp;
  }
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  /* vpdpbusd takes the rows unsigned: a' + 128, with 128 * colsum off. */
  if (w->nr == 16) {
    j.a_flip ^= 0x80;
    for (int64_t r = 0; r < m; ++r)
      corr[r] -= 128;
  }
#endif
  j.corr = corr;
  j.qa = (int8_t *)(corr + m);
  int threads = threads_of(ctx);
  qcc_rt_parallel_for(ctx, m, ceil_div(m, 4 * threads), center_rows_task, &j);
  __builtin_memset((int8_t *)j.qa + m * j.qs, 0, (size_t)((mp - m) * j.qs));
  run_tiles(ctx, &j, tiles, ceil_div(tiles, 4 * threads),
            chunk_bytes ? (char *)corr + (bytes - chunk_bytes) : NULL);
  free(owned);
}

void qcc_rt_qmatmul_impl(qcc_rt_context *ctx, const uint8_t *a, int64_t a_rs, int64_t m,
                         int64_t a_unsigned, const uint8_t *a_zp, int64_t zp_count,
                         const qcc_rt_qweight *w, int32_t *y, int64_t y_rs) {
  qmatmul(ctx, a, a_rs, m, a_unsigned, a_zp, zp_count, w, NULL, 0, y, y_rs);
}

void qcc_rt_qmatmul_scaled_impl(qcc_rt_context *ctx, const uint8_t *a, int64_t a_rs, int64_t m,
                                int64_t a_unsigned, const uint8_t *a_zp, int64_t zp_count,
                                const qcc_rt_qweight *w, const float *scales,
                                int64_t scale_count, float *y, int64_t y_rs) {
  /* The kernels store the f32 bits through the int32 output pointer. */
  qmatmul(ctx, a, a_rs, m, a_unsigned, a_zp, zp_count, w, scales, scale_count, (int32_t *)y,
          y_rs);
}

/*--- Dynamic activation quantization (ONNX DynamicQuantizeLinear) -------*/

/* The input in chunks of whole vectors: per chunk its min, max and whether
 * it holds a NaN, then every chunk quantized with the common parameters. */
typedef struct {
  const float *x;
  uint8_t *q;
  int64_t n, chunks;
  float scale, zp;
  float lo[4 * QCC_MAX_THREADS], hi[4 * QCC_MAX_THREADS];
  int nan[4 * QCC_MAX_THREADS];
} dql_job;

static int64_t dql_begin(const dql_job *d, int64_t c) {
  return c == d->chunks ? d->n : d->n * c / d->chunks / 16 * 16;
}

static void dql_range_task(void *data, int64_t begin, int64_t end, int thread) {
  (void)thread;
  dql_job *d = data;
  for (int64_t c = begin; c < end; ++c) {
    int64_t i = dql_begin(d, c), e = dql_begin(d, c + 1);
    float lo = __builtin_inff(), hi = -__builtin_inff();
    int nan = 0;
#if defined(__AVX2__)
    /* Two accumulators each: a min or max waits out its latency. */
    __m256 lo0 = _mm256_set1_ps(lo), lo1 = lo0, hi0 = _mm256_set1_ps(hi), hi1 = hi0;
    __m256 un = _mm256_setzero_ps();
    for (; i + 16 <= e; i += 16) {
      __m256 v0 = _mm256_loadu_ps(d->x + i), v1 = _mm256_loadu_ps(d->x + i + 8);
      un = _mm256_or_ps(un, _mm256_or_ps(_mm256_cmp_ps(v0, v0, _CMP_UNORD_Q),
                                         _mm256_cmp_ps(v1, v1, _CMP_UNORD_Q)));
      lo0 = _mm256_min_ps(lo0, v0);
      lo1 = _mm256_min_ps(lo1, v1);
      hi0 = _mm256_max_ps(hi0, v0);
      hi1 = _mm256_max_ps(hi1, v1);
    }
    float l[8], h[8];
    _mm256_storeu_ps(l, _mm256_min_ps(lo0, lo1));
    _mm256_storeu_ps(h, _mm256_max_ps(hi0, hi1));
    for (int k = 0; k < 8; ++k) {
      lo = l[k] < lo ? l[k] : lo;
      hi = h[k] > hi ? h[k] : hi;
    }
    nan = _mm256_movemask_ps(un) != 0;
#endif
    for (; i < e; ++i) {
      const float v = d->x[i];
      if (v != v)
        nan = 1;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    d->lo[c] = lo;
    d->hi[c] = hi;
    d->nan[c] = nan;
  }
}

/* q = clamp(round_even(x / scale) + zp, 0, 255): the division, not a
 * multiply by the reciprocal, as the reference rounds it; a NaN gives 0. */
static void dql_quantize_task(void *data, int64_t begin, int64_t end, int thread) {
  (void)thread;
  dql_job *d = data;
  for (int64_t c = begin; c < end; ++c) {
    int64_t i = dql_begin(d, c), e = dql_begin(d, c + 1);
#if defined(__AVX2__)
    const __m256 s = _mm256_set1_ps(d->scale), z = _mm256_set1_ps(d->zp);
    const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f);
    for (; i + 16 <= e; i += 16) {
      __m256i q[2];
      for (int h = 0; h < 2; ++h) {
        __m256 r = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(d->x + i + 8 * h), s),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        /* max(NaN, 0) is 0: the NaN is the first operand. */
        r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, z), zero), top);
        q[h] = _mm256_cvttps_epi32(r);
      }
      /* 16 int32 in [0, 255] to bytes, in order across the lanes. */
      __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(q[0], q[1]), 0xd8);
      __m128i b = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
      _mm_storeu_si128((__m128i *)(d->q + i), b);
    }
#endif
    for (; i < e; ++i) {
      float r = round_even(d->x[i] / d->scale) + d->zp;
      r = r > 0.0f ? r : 0.0f;
      r = r < 255.0f ? r : 255.0f;
      d->q[i] = (uint8_t)(int32_t)r;
    }
  }
}

void qcc_rt_dynamic_quantize_u8_impl(qcc_rt_context *ctx, const float *x, int64_t n, uint8_t *q,
                                     float *scale, uint8_t *zp) {
  dql_job d;
  d.x = x;
  d.q = q;
  d.n = n;
  const int64_t most = 4 * (int64_t)threads_of(ctx), chunks = ceil_div(n, 8192);
  d.chunks = chunks < 1 ? 1 : chunks < most ? chunks : most;
  qcc_rt_parallel_for(ctx, d.chunks, 1, dql_range_task, &d);
  float lo = __builtin_inff(), hi = -__builtin_inff();
  int nan = 0;
  for (int64_t c = 0; c < d.chunks; ++c) {
    lo = d.lo[c] < lo ? d.lo[c] : lo;
    hi = d.hi[c] > hi ? d.hi[c] : hi;
    nan |= d.nan[c];
  }
  if (nan)
    lo = hi = __builtin_nanf("");
  /* [min(x, 0), max(x, 0)] over 0 .. 255; an empty range gets scale 1. */
  lo = lo < 0.0f || lo != lo ? lo : 0.0f;
  hi = hi > 0.0f || hi != hi ? hi : 0.0f;
  const float range = hi - lo;
  d.scale = range == 0.0f ? 1.0f : range / 255.0f;
  float z = round_even(0.0f - lo / d.scale);
  z = z > 0.0f ? z : 0.0f;
  z = z < 255.0f ? z : 255.0f;
  d.zp = z;
  *scale = d.scale;
  *zp = (uint8_t)(int32_t)z;
  qcc_rt_parallel_for(ctx, d.chunks, 1, dql_quantize_task, &d);
}

void _mlir_ciface_qcc_rt_dynamic_quantize_u8(qcc_rt_context *ctx, qcc_rt_f32_1d *x,
                                             qcc_rt_i8_1d *q, qcc_rt_f32_1d *scale,
                                             qcc_rt_i8_1d *zp) {
  qcc_rt_dynamic_quantize_u8_impl(ctx, x->aligned + x->offset, x->size,
                                  (uint8_t *)q->aligned + q->offset, scale->aligned + scale->offset,
                                  (uint8_t *)zp->aligned + zp->offset);
}

void _mlir_ciface_qcc_rt_qmatmul_scaled(qcc_rt_context *ctx, qcc_rt_u8_2d *a, qcc_rt_i8_1d *a_zp,
                                        int64_t a_unsigned, qcc_rt_i8_1d *w,
                                        qcc_rt_f32_1d *scales, qcc_rt_f32_2d *y) {
  qcc_rt_qmatmul_scaled_impl(
      ctx, a->aligned + a->offset, a->strides[0], a->sizes[0], a_unsigned,
      a_zp->size ? (const uint8_t *)a_zp->aligned + a_zp->offset : NULL, a_zp->size,
      (const qcc_rt_qweight *)(w->aligned + w->offset), scales->aligned + scales->offset,
      scales->size, y->aligned + y->offset, y->strides[0]);
}

void _mlir_ciface_qcc_rt_qmatmul(qcc_rt_context *ctx, qcc_rt_u8_2d *a, qcc_rt_i8_1d *a_zp,
                                 int64_t a_unsigned, qcc_rt_i8_1d *w, qcc_rt_i32_2d *y) {
  qcc_rt_qmatmul_impl(ctx, a->aligned + a->offset, a->strides[0], a->sizes[0], a_unsigned,
                      a_zp->size ? (const uint8_t *)a_zp->aligned + a_zp->offset : NULL,
                      a_zp->size, (const qcc_rt_qweight *)(w->aligned + w->offset),
                      y->aligned + y->offset, y->strides[0]);
}

void _mlir_ciface_qcc_rt_qlinear(qcc_rt_context *ctx, qcc_rt_f32_2d *x, qcc_rt_i8_1d *w,
                                 qcc_rt_f32_1d *bias, qcc_rt_f32_2d *res, qcc_rt_f32_2d *y,
                                 int64_t int8_act, float act_scale) {
  qcc_rt_qlinear_impl(ctx, x->aligned + x->offset, x->strides[0], x->sizes[0],
                      (const qcc_rt_qweight *)(w->aligned + w->offset),
                      bias->size ? bias->aligned + bias->offset : NULL,
                      res->sizes[0] ? res->aligned + res->offset : NULL, res->strides[0],
                      y->aligned + y->offset, y->strides[0], int8_act, act_scale);
}

/* Quantized matrices: allocation, loading from GGUF rows, and the matmul
 * that quantizes the activations to 8 bits and runs the integer kernels
 * over 16-row groups (quant_kernels.h). */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "quant_kernels.h"

static inline int n_groups(int rows) { return (rows + QGROUP - 1) / QGROUP; }
static inline int n_blocks(const struct mdi_matrix *w) { return w->cols / mdi_quant_format(w->type)->block; }
static inline size_t group_bytes(const struct mdi_matrix *w) { return (size_t)n_blocks(w) * qtile_bytes(w->type); }

int mdi_qmatrix_alloc(struct mdi_matrix *w, enum mdi_matrix_type type, int rows, int cols, const char *what) {
  *w = (struct mdi_matrix){rows, cols, type, NULL, NULL};
  MDI_ASSERT(type != MDI_MATRIX_F32 && cols % mdi_quant_format(type)->block == 0);
  const size_t gb = group_bytes(w);
  w->tiles = mdi_aligned_alloc((size_t)n_groups(rows) * gb, what);
  if (!w->tiles) return MDI_ERR;
  if (rows % QGROUP) memset(w->tiles + (size_t)(n_groups(rows) - 1) * gb, 0, gb);
  return MDI_OK;
}

void mdi_matrix_set_rows_blocks(struct mdi_matrix *w, int row0, int n, const uint8_t *blocks) {
  const size_t row_bytes = mdi_quant_row_bytes(w->type, w->cols), gb = group_bytes(w);
  MDI_ASSERT(w->type != MDI_MATRIX_F32 && row0 % QGROUP == 0 && row0 >= 0 && row0 + n <= w->rows);
  MDI_ASSERT(n % QGROUP == 0 || row0 + n == w->rows);
  for (int r = 0; r < n; r += QGROUP) {
    const int rows = n - r < QGROUP ? n - r : QGROUP;
    mdi_qpack_group(w->type, w->tiles + (size_t)((row0 + r) / QGROUP) * gb, blocks + (size_t)r * row_bytes,
                    row_bytes, rows, n_blocks(w));
  }
}

void mdi_matrix_get_row_blocks(const struct mdi_matrix *w, int row, uint8_t *dst) {
  MDI_ASSERT(w->type != MDI_MATRIX_F32 && row >= 0 && row < w->rows);
  mdi_qunpack_row(w->type, dst, w->tiles + (size_t)(row / QGROUP) * group_bytes(w), row % QGROUP, n_blocks(w));
}

void mdi_qmatrix_get_row(const struct mdi_matrix *w, int row, float *dst) {
  uint8_t *blocks = mdi_xmalloc(mdi_quant_row_bytes(w->type, w->cols), "row blocks");
  mdi_matrix_get_row_blocks(w, row, blocks);
  mdi_quant_dequantize_row(w->type, blocks, dst, w->cols);
  free(blocks);
}

void mdi_qmatrix_fill(struct mdi_matrix *w, float *scratch) {
  const size_t row_bytes = mdi_quant_row_bytes(w->type, w->cols);
  uint8_t *rows = mdi_xmalloc((size_t)QGROUP * row_bytes, "synthetic rows");
  for (int k = 0; k < w->cols; k++) scratch[k] = (float)((k * 2654435761u) % 1000) * 1e-3f - 0.5f;
  mdi_quant_quantize_row(w->type, scratch, rows, w->cols);
  for (int r = 1; r < QGROUP; r++) memcpy(rows + (size_t)r * row_bytes, rows, row_bytes);
  for (int g = 0; g < n_groups(w->rows); g++)
    mdi_qpack_group(w->type, w->tiles + (size_t)g * group_bytes(w), rows, row_bytes, QGROUP, n_blocks(w));
  free(rows);
}

/* ---- activations --------------------------------------------------------------- */

void mdi_qact_quantize_rows(const float *x, int M, int K, int bs, int8_t *q, float *d, int16_t *s16, int16_t *s32) {
  for (int m = 0; m < M; m++) {
    const float *xm = x + (size_t)m * K;
    int8_t *qm = q + (size_t)m * K;
    for (int b = 0; b < K / bs; b++) {
      float amax = 0.0f;
      for (int k = b * bs; k < (b + 1) * bs; k++) amax = fabsf(xm[k]) > amax ? fabsf(xm[k]) : amax;
      const float db = amax / 127.0f, id = db > 0.0f ? 1.0f / db : 0.0f;
      d[(size_t)m * (K / bs) + b] = db;
      for (int k = b * bs; k < (b + 1) * bs; k++) {
        /* clamped (1/db may overflow for a tiny block); NaN -> 0 */
        float v = xm[k] * id;
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        qm[k] = v == v ? (int8_t)nearbyintf(v) : 0;
      }
    }
    for (int j = 0; j < K / 16; j++) {
      int s = 0;
      for (int k = 16 * j; k < 16 * (j + 1); k++) s += qm[k];
      s16[(size_t)m * (K / 16) + j] = (int16_t)s;
    }
    for (int j = 0; j < K / 32; j++)
      s32[(size_t)m * (K / 32) + j] = (int16_t)(s16[(size_t)m * (K / 16) + 2 * j] + s16[(size_t)m * (K / 16) + 2 * j + 1]);
  }
}

static enum mdi_isa isa = MDI_ISA_AUTO;

/* The calling thread's quantized activations, grown as needed (a matmul
 * never returns an error: running out of memory here is fatal).  The block
 * is also the value of a thread-specific key whose destructor frees it when
 * the thread ends (OpenMP's team threads come and go with the team size). */
static _Thread_local struct {
  void *mem;
  size_t cap;
} scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void make_scratch_key(void) {
  if (pthread_key_create(&scratch_key, free) != 0) MDI_PANIC("cannot create a thread-specific key");
}

static struct mdi_qact quantize_activations(const float *x, int M, int K, int bs) {
  const size_t nq = (size_t)M * K, nd = (size_t)M * (K / bs), n16 = (size_t)M * (K / 16), n32 = (size_t)M * (K / 32);
  const size_t bytes = nq + nd * sizeof(float) + (n16 + n32) * sizeof(int16_t) + 64;
  if (bytes > scratch.cap) {
    free(scratch.mem);
    scratch.mem = mdi_aligned_alloc(bytes, "quantized activations");
    if (!scratch.mem) MDI_PANIC("%s", mdi_error());
    scratch.cap = bytes;
    pthread_once(&scratch_once, make_scratch_key);
    pthread_setspecific(scratch_key, scratch.mem);
  }
  uint8_t *p = scratch.mem;
  float *d = (float *)(void *)(p + nq + (64 - nq % 64) % 64);
  int16_t *s16 = (int16_t *)(void *)(d + nd), *s32 = s16 + n16;
  int8_t *q = (int8_t *)p;
  const mdi_qact_fn fast = isa == MDI_ISA_GENERIC || isa == MDI_ISA_AVX2 ? NULL : mdi_qact_avx512();
  (fast ? fast : mdi_qact_quantize_rows)(x, M, K, bs, q, d, s16, s32);
  return (struct mdi_qact){K, q, d, s16, s32, (size_t)K, (size_t)(K / bs), (size_t)(K / 16), (size_t)(K / 32)};
}

/* ---- kernels -------------------------------------------------------------------- */

static mdi_qkernel_fn kernel_for(enum mdi_matrix_type t, enum mdi_isa want) {
  switch (want) {
    case MDI_ISA_GENERIC: return mdi_qkernel_generic(t);
    case MDI_ISA_AVX2: return mdi_qkernel_avx2(t);
    case MDI_ISA_AVX512: return mdi_qkernel_avx512(t);
    case MDI_ISA_NEON: return mdi_qkernel_neon(t);
    case MDI_ISA_NEON_DOTPROD: return mdi_qkernel_neon_dotprod(t);
    case MDI_ISA_AUTO: break;
  }
  /* the best this build has: each set's kernel is NULL where it is not built */
  static const enum mdi_isa best_first[] = {MDI_ISA_AVX512, MDI_ISA_AVX2, MDI_ISA_NEON_DOTPROD, MDI_ISA_NEON};
  for (size_t i = 0; i < sizeof best_first / sizeof best_first[0]; i++) {
    mdi_qkernel_fn k = kernel_for(t, best_first[i]);
    if (k) return k;
  }
  return mdi_qkernel_generic(t);
}

int mdi_matmul_set_isa(enum mdi_isa want) {
  for (int t = MDI_MATRIX_F32 + 1; t < MDI_MATRIX_N_TYPES; t++)
    if (!kernel_for((enum mdi_matrix_type)t, want)) return MDI_ERR;
  isa = want;
  return MDI_OK;
}

const char *mdi_matmul_isa_name(void) {
  static const char *const names[] = {[MDI_ISA_GENERIC] = "generic", [MDI_ISA_AVX2] = "avx2",
                                      [MDI_ISA_AVX512] = "avx512-vnni", [MDI_ISA_NEON] = "neon",
                                      [MDI_ISA_NEON_DOTPROD] = "neon-dotprod"};
  enum mdi_isa in_use = isa;
  if (in_use == MDI_ISA_AUTO) {
    const mdi_qkernel_fn k = kernel_for(MDI_MATRIX_Q4_0, MDI_ISA_AUTO);
    in_use = MDI_ISA_GENERIC;
    for (int i = MDI_ISA_AVX2; i <= MDI_ISA_NEON_DOTPROD; i++)
      if (kernel_for(MDI_MATRIX_Q4_0, (enum mdi_isa)i) == k) in_use = (enum mdi_isa)i;
  }
  return names[in_use];
}

/* Groups [g0, g1) for all M rows. */
static void run_groups(float *out, const struct mdi_qact *x, const struct mdi_matrix *w, int M, int g0, int g1,
                       mdi_qkernel_fn kernel) {
  const int N = w->rows;
  float tmp[QMR * QGROUP];
  for (int g = g0; g < g1; g++) {
    const uint8_t *tiles = w->tiles + (size_t)g * group_bytes(w);
    const int width = N - g * QGROUP < QGROUP ? N - g * QGROUP : QGROUP;
    if (width == QGROUP) { /* every row at once: the kernel may unpack each block once */
      kernel(out + (size_t)g * QGROUP, (size_t)N, x, 0, M, tiles, n_blocks(w));
      continue;
    }
    for (int m0 = 0; m0 < M; m0 += QMR) { /* a last partial group, through tmp */
      const int mr = M - m0 < QMR ? M - m0 : QMR;
      kernel(tmp, QGROUP, x, m0, mr, tiles, n_blocks(w)); /* the padding rows' outputs go nowhere */
      for (int i = 0; i < mr; i++)
        memcpy(out + (size_t)(m0 + i) * N + (size_t)g * QGROUP, tmp + i * QGROUP, (size_t)width * sizeof(float));
    }
  }
}

void mdi_qmatmul(float *out, const float *x, const struct mdi_matrix *w, int M, int n_threads) {
  const struct mdi_qact act = quantize_activations(x, M, w->cols, qact_block(w->type));
  const mdi_qkernel_fn kernel = kernel_for(w->type, isa);
  const int G = n_groups(w->rows);
  const double work = (double)M * w->rows * w->cols;
  if (n_threads <= 1 || G == 1 || work < 65536.0) {
    run_groups(out, &act, w, M, 0, G, kernel);
    return;
  }
  /* threads take disjoint group ranges: the same sums, only elsewhere */
#pragma omp parallel num_threads(n_threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int g0 = (int)((long)G * t / nt), g1 = (int)((long)G * (t + 1) / nt);
    if (g0 < g1) run_groups(out, &act, w, M, g0, g1, kernel);
  }
}

void mdi_qmatmul_share_cols(const struct mdi_matrix *w, int t, int n, int *c0, int *c1) {
  const int G = n_groups(w->rows);
  const int g0 = (int)((long)G * t / n), g1 = (int)((long)G * (t + 1) / n);
  *c0 = g0 * QGROUP;
  *c1 = g1 * QGROUP < w->rows ? g1 * QGROUP : w->rows;
}

/* Every thread of the team quantizes x itself (into its own scratch): the
 * same values, no barrier, and little work next to its share of groups. */
void mdi_qmatmul_share(float *out, const float *x, const struct mdi_matrix *w, int M, int t, int n) {
  const int G = n_groups(w->rows);
  const int g0 = (int)((long)G * t / n), g1 = (int)((long)G * (t + 1) / n);
  if (g0 >= g1) return;
  const struct mdi_qact act = quantize_activations(x, M, w->cols, qact_block(w->type));
  run_groups(out, &act, w, M, g0, g1, kernel_for(w->type, isa));
}

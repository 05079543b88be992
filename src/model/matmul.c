/* Linear layers on panel-packed weights (see matmul.h).
 *
 * The kernel is a register tile of up to TILE_MR rows by one 64-row panel
 * (below, "register tiles").  Each accumulator lane is one output's
 * sequential FMA chain, so results are the same for every tile shape.  The
 * k loop is blocked (KB): a panel block stays in cache while all row tiles
 * pass over it, and the first tile fetches the next block ahead; partial
 * sums go through `out` in between, which continues the same chain
 * exactly.  Quantized types have their own kernels (quant_kernels.h). */
#include "mdi/model/matmul.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"
#include "matmul_neon.h"
#include "quant_kernels.h"
#include "simd.h"

static int n_threads = 1;

void mdi_matmul_set_threads(int n) {
  n_threads = n > 0 ? n : 1;
  omp_set_num_threads(n_threads);
}

static inline int n_panels(int rows) { return (rows + MDI_PANEL - 1) / MDI_PANEL; }

/* Floats in the panels of an N x K float32 matrix, padding included. */
static size_t mdi_matrix_alloc_bytes_floats(int rows, int cols) {
  return (size_t)n_panels(rows) * MDI_PANEL * (size_t)cols;
}

/* Panels of `per_row` elements of `size` bytes; the last panel's padding rows zeroed. */
static void *alloc_panels(int rows, size_t per_row, size_t size, const char *what) {
  const size_t panel = MDI_PANEL * per_row * size;
  char *p = mdi_aligned_alloc((size_t)n_panels(rows) * panel, what);
  if (p && rows % MDI_PANEL) memset(p + (size_t)(n_panels(rows) - 1) * panel, 0, panel);
  return p;
}

int mdi_matrix_alloc(struct mdi_matrix *w, int rows, int cols, const char *what) {
  *w = (struct mdi_matrix){rows, cols, MDI_MATRIX_F32, NULL, NULL};
  w->data = alloc_panels(rows, (size_t)cols, sizeof(float), what);
  return w->data ? MDI_OK : MDI_ERR;
}

int mdi_matrix_alloc_type(struct mdi_matrix *w, enum mdi_matrix_type type, int rows, int cols, const char *what) {
  if (type == MDI_MATRIX_F32) return mdi_matrix_alloc(w, rows, cols, what);
  return mdi_qmatrix_alloc(w, type, rows, cols, what);
}

void mdi_matrix_free(struct mdi_matrix *w) {
  free(w->data);
  free(w->tiles);
  w->data = NULL;
  w->tiles = NULL;
}

void mdi_matrix_set_rows(struct mdi_matrix *w, int row0, int n, const float *src) {
  const size_t K = (size_t)w->cols;
  MDI_ASSERT(w->type == MDI_MATRIX_F32 && row0 >= 0 && row0 + n <= w->rows);
  for (int r = 0; r < n; r++) {
    const int row = row0 + r;
    float *panel = w->data + (size_t)(row / MDI_PANEL) * MDI_PANEL * K;
    const int j = row % MDI_PANEL;
    for (size_t k = 0; k < K; k++) panel[k * MDI_PANEL + j] = src[(size_t)r * K + k];
  }
}

void mdi_matrix_get_row(const struct mdi_matrix *w, int row, float *dst) {
  if (w->type != MDI_MATRIX_F32) {
    mdi_qmatrix_get_row(w, row, dst);
    return;
  }
  const size_t K = (size_t)w->cols, p = (size_t)(row / MDI_PANEL);
  const int j = row % MDI_PANEL;
  const float *panel = w->data + p * MDI_PANEL * K;
  for (size_t k = 0; k < K; k++) dst[k] = panel[k * MDI_PANEL + j];
}

/* ---- register tiles ------------------------------------------------------
 *
 * A tile is mr rows of x by one 64-row panel block: per k it loads the
 * panel's 64 weights once (TILE_NV vectors) and broadcasts x[i][k] into
 * mr x TILE_NV accumulators.  With AVX-512 (32 zmm registers) mr goes up to
 * 6: 24 accumulators + 4 weight vectors, 24 FMAs per 4 weight loads.  With
 * 8-float vectors (AVX2, or two NEON registers) up to 3: 24 accumulators +
 * 8 weight vectors, which fits the 32 registers of AVX-512VL or NEON and
 * spills a little on AVX2's 16 (on NEON, GCC keeps them in memory: AArch64
 * has its own tiles, matmul_neon.c).  Either way every accumulator lane is one
 * output's sequential FMA chain over k, so the tile shape, the vector width
 * and the instruction set do not change a single bit of the results. */
#if defined(__AVX512F__)
typedef float vtile __attribute__((vector_size(64)));
#define TILE_MR 6
#else
typedef v8f vtile;
#define TILE_MR 3
#endif
#define TILE_VL ((int)(sizeof(vtile) / sizeof(float)))
#define TILE_NV (MDI_PANEL / TILE_VL)

static inline vtile vt_load(const float *p) {
  vtile v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void vt_store(float *p, vtile v) { memcpy(p, &v, sizeof v); }

/* acc + a * b in one rounding, as fma8.  A build for a CPU without FMA
 * instructions (x86-64 with MDI_NATIVE=OFF) multiplies and adds instead:
 * fmaf lane by lane would be many times slower there. */
static inline vtile vt_fma(vtile a, vtile b, vtile acc) {
#if defined(__AVX512F__)
  __m512 x, y, z;
  memcpy(&x, &a, sizeof x);
  memcpy(&y, &b, sizeof y);
  memcpy(&z, &acc, sizeof z);
  z = _mm512_fmadd_ps(x, y, z);
  memcpy(&acc, &z, sizeof acc);
  return acc;
#elif defined(__FMA__) || defined(MDI_SIMD_NEON)
  return fma8(a, b, acc);
#else
  return acc + a * b;
#endif
}

/* s in every lane (GCC builds a lane-by-lane vector from an element loop) */
static inline vtile vt_splat(float s) {
#if defined(__AVX512F__)
  const __m512 b = _mm512_set1_ps(s);
#elif defined(__AVX__)
  const __m256 b = _mm256_set1_ps(s);
#else
  const vtile b = (vtile){0} + s; /* the same value: no product of the tile can tell -0 from +0 */
#endif
  vtile v;
  memcpy(&v, &b, sizeof v);
  return v;
}

/* c[mr][64] (row stride ldc) continues the chains over k < nk of
 * x[mr][k] * panel[k][64], starting from zero when `first`, else from the
 * partial sums in c; the row k of `prefetch` (the next block, or NULL) is
 * fetched into cache along.  Inlined with a constant mr, so each instance
 * keeps its accumulators in registers. */
static inline __attribute__((always_inline)) void tile(const int mr, float *c, size_t ldc, const float *x,
                                                       size_t ldx, const float *panel, const float *prefetch,
                                                       int nk, int first) {
  vtile acc[TILE_MR][TILE_NV];
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < TILE_NV; j++) acc[i][j] = first ? (vtile){0} : vt_load(c + i * ldc + j * TILE_VL);
  for (int k = 0; k < nk; k++) {
    if (prefetch)
      for (int l = 0; l < MDI_PANEL; l += 16) __builtin_prefetch(prefetch + (size_t)k * MDI_PANEL + l, 0, 2);
    vtile w[TILE_NV];
    for (int j = 0; j < TILE_NV; j++) w[j] = vt_load(panel + (size_t)k * MDI_PANEL + j * TILE_VL);
    for (int i = 0; i < mr; i++) {
      const vtile xb = vt_splat(x[i * ldx + k]);
      for (int j = 0; j < TILE_NV; j++) acc[i][j] = vt_fma(w[j], xb, acc[i][j]);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < TILE_NV; j++) vt_store(c + i * ldc + j * TILE_VL, acc[i][j]);
}

typedef void (*tile_fn)(float *c, size_t ldc, const float *x, size_t ldx, const float *panel,
                        const float *prefetch, int nk, int first);
#define TILE_INSTANCE(MR)                                                                                  \
  static void tile_##MR(float *c, size_t ldc, const float *x, size_t ldx, const float *panel,              \
                        const float *prefetch, int nk, int first) {                                        \
    tile(MR, c, ldc, x, ldx, panel, prefetch, nk, first);                                                  \
  }
#if defined(MDI_MATMUL_NEON)
static const tile_fn tiles[TILE_MR + 1] = {NULL, mdi_neon_tile_1, mdi_neon_tile_2, mdi_neon_tile_3};
#else
TILE_INSTANCE(1)
TILE_INSTANCE(2)
TILE_INSTANCE(3)
#endif
#if TILE_MR == 6
TILE_INSTANCE(4)
TILE_INSTANCE(5)
TILE_INSTANCE(6)
static const tile_fn tiles[TILE_MR + 1] = {NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};
#elif !defined(MDI_MATMUL_NEON)
static const tile_fn tiles[TILE_MR + 1] = {NULL, tile_1, tile_2, tile_3};
#endif

/* All M rows x one panel block (k0 .. k0+nk), in tiles of at most TILE_MR
 * rows of as even heights as possible (a lone row would stream the panel
 * block for little work); through tmp when the panel is the partial last
 * one (out has no room for its padding).  The first tile fetches the next
 * block (the panels are contiguous: it follows this one in memory). */
static void tile_rows(float *out, const float *x, int M, const struct mdi_matrix *w, int p, int k0, int nk,
                      float *tmp /* [TILE_MR][64] */) {
  const int N = w->rows, K = w->cols, n0 = p * MDI_PANEL, first = k0 == 0;
  const int width = N - n0 < MDI_PANEL ? N - n0 : MDI_PANEL, direct = width == MDI_PANEL;
  const float *block = w->data + (size_t)p * MDI_PANEL * K + (size_t)k0 * MDI_PANEL;
  const int n_tiles = (M + TILE_MR - 1) / TILE_MR;
  for (int t = 0, m = 0; t < n_tiles; t++) {
    const int mr = (M - m) / (n_tiles - t) + ((M - m) % (n_tiles - t) != 0);
    float *c = direct ? out + (size_t)m * N + n0 : tmp;
    const size_t ldc = direct ? (size_t)N : MDI_PANEL;
    if (!direct && !first)
      for (int i = 0; i < mr; i++) memcpy(tmp + i * MDI_PANEL, out + (size_t)(m + i) * N + n0, width * sizeof(float));
    tiles[mr](c, ldc, x + (size_t)m * K + k0, (size_t)K, block, t == 0 ? block + (size_t)nk * MDI_PANEL : NULL, nk,
              first);
    if (!direct)
      for (int i = 0; i < mr; i++) memcpy(out + (size_t)(m + i) * N + n0, tmp + i * MDI_PANEL, width * sizeof(float));
    m += mr;
  }
}

/* Panels [p0, p1) for all M rows. */
static void matmul_panels(float *out, const float *x, const struct mdi_matrix *w, int M, int p0, int p1,
                          float *tmp /* [TILE_MR][64] */) {
  const int K = w->cols;
  /* k is blocked so that a panel block (64 KB) stays in L2 while all row
   * tiles pass over it, and so that the next block, fetched ahead while
   * this one is used, is near (blocks of 128 and 512 were slower at M = 64) */
  const int KB = 256;
  for (int p = p0; p < p1; p++)
    for (int k0 = 0; k0 < K; k0 += KB) tile_rows(out, x, M, w, p, k0, K - k0 < KB ? K - k0 : KB, tmp);
}

void mdi_matmul_share_cols(const struct mdi_matrix *w, int t, int n, int *c0, int *c1) {
  if (w->type != MDI_MATRIX_F32) {
    mdi_qmatmul_share_cols(w, t, n, c0, c1);
    return;
  }
  const int P = n_panels(w->rows);
  const int p0 = (int)((long)P * t / n), p1 = (int)((long)P * (t + 1) / n);
  *c0 = p0 * MDI_PANEL;
  *c1 = p1 * MDI_PANEL < w->rows ? p1 * MDI_PANEL : w->rows;
}

void mdi_matmul_share(float *out, const float *x, const struct mdi_matrix *w, int M, int t, int n) {
  if (w->type != MDI_MATRIX_F32) {
    mdi_qmatmul_share(out, x, w, M, t, n);
    return;
  }
  const int P = n_panels(w->rows);
  const int p0 = (int)((long)P * t / n), p1 = (int)((long)P * (t + 1) / n);
  float tmp[TILE_MR * MDI_PANEL] __attribute__((aligned(64)));
  if (p0 < p1) matmul_panels(out, x, w, M, p0, p1, tmp);
}

void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M) {
  if (w->type != MDI_MATRIX_F32) {
    mdi_qmatmul(out, x, w, M, n_threads);
    return;
  }
  const double work = (double)M * w->rows * w->cols;
  if (n_threads <= 1 || n_panels(w->rows) == 1 || work < 65536.0) {
    mdi_matmul_share(out, x, w, M, 0, 1);
    return;
  }
#pragma omp parallel num_threads(n_threads)
  mdi_matmul_share(out, x, w, M, omp_get_thread_num(), omp_get_num_threads());
}

void mdi_matmul_ref(float *out, const float *x, const float *w, int M, int N, int K) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = 0.0;
      for (int k = 0; k < K; k++) s += (double)w[(size_t)n * K + k] * x[(size_t)m * K + k];
      out[(size_t)m * N + n] = (float)s;
    }
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double mdi_matmul_benchmark(enum mdi_matrix_type type, int M, int N, int K) {
  struct mdi_matrix w;
  float *x = mdi_aligned_alloc((size_t)M * K * sizeof(float), "calibration input");
  float *out = mdi_aligned_alloc((size_t)M * N * sizeof(float), "calibration output");
  float *row = mdi_malloc((size_t)K * sizeof(float), "calibration row");
  if (!x || !out || !row || mdi_matrix_alloc_type(&w, type, N, K, "calibration matrix") != MDI_OK) {
    free(x);
    free(out);
    free(row);
    return -1.0;
  }
  /* small deterministic values: the speed does not depend on them */
  if (type == MDI_MATRIX_F32) {
    const size_t n = mdi_matrix_alloc_bytes_floats(N, K);
    for (size_t i = 0; i < n; i++) w.data[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
  } else {
    mdi_qmatrix_fill(&w, row);
  }
  for (size_t i = 0; i < (size_t)M * K; i++) x[i] = (float)(i % 17) * 0.05f;
  mdi_matmul(out, x, &w, M); /* warm-up: page faults, caches, thread start */
  /* the mean, not the best call: a call is shorter than a CFS period, so a
   * device capped at a quarter of a core can run one at full speed */
  const double t0 = now_s();
  double spent = 0.0;
  int reps = 0;
  while (reps < 3 || (spent < 0.25 && reps < 100000)) {
    mdi_matmul(out, x, &w, M);
    reps++;
    spent = now_s() - t0;
  }
  mdi_matrix_free(&w);
  free(x);
  free(out);
  free(row);
  return spent / reps;
}

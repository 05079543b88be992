/* Linear layers on panel-packed weights (see matmul.h).
 *
 * The kernel is a register tile of MR x rows by one 64-row panel: per k it
 * loads the panel's 64 weights (8 vectors) once and broadcasts x[m][k] into
 * MR x 8 accumulators (MR = 3: 24 accumulators + 8 weight vectors fit the
 * 32 vector registers of AVX-512VL; other targets spill a little).  Each
 * accumulator lane is one output's sequential FMA chain, so results are the
 * same for every tile shape.  For micro-batches the k loop is blocked (KB)
 * so a panel block stays in L2 while all rows pass over it; partial sums go
 * through `out` in between, which continues the same chain exactly. */
#include "mdi/model/matmul.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"
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

/* c[MR][64] (row stride ldc) continues the chains over k < nk of x[MR][k] * panel[k][64],
 * starting from zero when `first`, else from the partial sums in c. */
#define DEFINE_TILE(MR)                                                                          \
  static void tile##MR(float *c, size_t ldc, const float *x, size_t ldx, const float *panel,     \
                       int nk, int first) {                                                      \
    v8f acc[MR][8];                                                                              \
    for (int i = 0; i < MR; i++)                                                                 \
      for (int j = 0; j < 8; j++) acc[i][j] = first ? (v8f){0} : load8(c + i * ldc + 8 * j);     \
    for (int k = 0; k < nk; k++) {                                                               \
      const float *p = panel + (size_t)k * MDI_PANEL;                                            \
      const v8f w0 = load8(p), w1 = load8(p + 8), w2 = load8(p + 16), w3 = load8(p + 24);        \
      const v8f w4 = load8(p + 32), w5 = load8(p + 40), w6 = load8(p + 48), w7 = load8(p + 56);  \
      for (int i = 0; i < MR; i++) {                                                             \
        const v8f b = (v8f){0} + x[i * ldx + k];                                                 \
        acc[i][0] += w0 * b;                                                                     \
        acc[i][1] += w1 * b;                                                                     \
        acc[i][2] += w2 * b;                                                                     \
        acc[i][3] += w3 * b;                                                                     \
        acc[i][4] += w4 * b;                                                                     \
        acc[i][5] += w5 * b;                                                                     \
        acc[i][6] += w6 * b;                                                                     \
        acc[i][7] += w7 * b;                                                                     \
      }                                                                                          \
    }                                                                                            \
    for (int i = 0; i < MR; i++)                                                                 \
      for (int j = 0; j < 8; j++) store8(c + i * ldc + 8 * j, acc[i][j]);                        \
  }
DEFINE_TILE(1)
DEFINE_TILE(2)
DEFINE_TILE(3)

/* All M rows x one panel block (k0 .. k0+nk): the register tiles, through
 * tmp when the panel is the partial last one (out has no room for its
 * padding). */
static void tile_rows(float *out, const float *x, int M, const struct mdi_matrix *w, int p, int k0, int nk,
                      float *tmp) {
  const int N = w->rows, K = w->cols, n0 = p * MDI_PANEL, first = k0 == 0;
  const int width = N - n0 < MDI_PANEL ? N - n0 : MDI_PANEL, direct = width == MDI_PANEL;
  const float *block = w->data + (size_t)p * MDI_PANEL * K + (size_t)k0 * MDI_PANEL;
  for (int m = 0, mr; m < M; m += mr) {
    /* tiles of 3 rows; 4 left over go as 2 + 2, since a lone row would
     * stream the panel block for little work */
    mr = M - m == 4 ? 2 : M - m < 3 ? M - m : 3;
    float *c = direct ? out + (size_t)m * N + n0 : tmp;
    const size_t ldc = direct ? (size_t)N : MDI_PANEL;
    if (!direct && !first)
      for (int i = 0; i < mr; i++) memcpy(tmp + i * MDI_PANEL, out + (size_t)(m + i) * N + n0, width * sizeof(float));
    const float *xm = x + (size_t)m * K + k0;
    if (mr == 3) tile3(c, ldc, xm, (size_t)K, block, nk, first);
    else if (mr == 2) tile2(c, ldc, xm, (size_t)K, block, nk, first);
    else tile1(c, ldc, xm, (size_t)K, block, nk, first);
    if (!direct)
      for (int i = 0; i < mr; i++) memcpy(out + (size_t)(m + i) * N + n0, tmp + i * MDI_PANEL, width * sizeof(float));
  }
}

/* Panels [p0, p1) for all M rows. */
static void matmul_panels(float *out, const float *x, const struct mdi_matrix *w, int M, int p0, int p1,
                          float *tmp /* [3][64] */) {
  const int K = w->cols;
  /* one or two rows stream each panel once; more rows block k so a panel
   * block stays in cache while all row tiles pass over it */
  const int KB = M <= 2 ? K : 256;
  for (int k0 = 0; k0 < K; k0 += KB) {
    const int nk = K - k0 < KB ? K - k0 : KB;
    for (int p = p0; p < p1; p++) tile_rows(out, x, M, w, p, k0, nk, tmp);
  }
}

void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M) {
  if (w->type != MDI_MATRIX_F32) {
    mdi_qmatmul(out, x, w, M, n_threads);
    return;
  }
  const int P = n_panels(w->rows);
  const double work = (double)M * w->rows * w->cols;
  if (n_threads <= 1 || P == 1 || work < 65536.0) {
    float tmp[3 * MDI_PANEL] __attribute__((aligned(64)));
    matmul_panels(out, x, w, M, 0, P, tmp);
    return;
  }
  /* threads take disjoint panel ranges: the same chains, only elsewhere */
#pragma omp parallel num_threads(n_threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    float tmp[3 * MDI_PANEL] __attribute__((aligned(64)));
    const int p0 = (int)((long)P * t / nt), p1 = (int)((long)P * (t + 1) / nt);
    if (p0 < p1) matmul_panels(out, x, w, M, p0, p1, tmp);
  }
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

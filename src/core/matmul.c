/* Linear layers on panel-packed weights (see matmul.h).  The only file that
 * includes blis.h.
 *
 * The kernel is a register tile of MR x rows by one 64-row panel: per k it
 * loads the panel's 64 weights (8 vectors) once and broadcasts x[m][k] into
 * MR x 8 accumulators (MR = 3: 24 accumulators + 8 weight vectors fit the
 * 32 vector registers of AVX-512VL; other targets spill a little).  Each
 * accumulator lane is one output's sequential FMA chain, so results are the
 * same for every tile shape.  For micro-batches the k loop is blocked (KB)
 * so a panel block stays in L2 while all rows pass over it; partial sums go
 * through `out` in between, which continues the same chain exactly. */
#include "mdi/matmul.h"

#include <blis.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/error.h"

typedef float v8f __attribute__((vector_size(32)));

static int n_threads = 1;

void mdi_matmul_set_threads(int n) {
  n_threads = n > 0 ? n : 1;
  omp_set_num_threads(n_threads);
  bli_thread_set_num_threads(n_threads);
}

int mdi_matmul_threads(void) { return n_threads; }

static inline int n_panels(int rows) { return (rows + MDI_PANEL - 1) / MDI_PANEL; }

size_t mdi_matrix_alloc_bytes(int rows, int cols) {
  return (size_t)n_panels(rows) * MDI_PANEL * (size_t)cols * sizeof(float);
}

int mdi_matrix_alloc(struct mdi_matrix *w, int rows, int cols, const char *what) {
  w->rows = rows;
  w->cols = cols;
  w->type = MDI_MATRIX_F32;
  const size_t bytes = mdi_matrix_alloc_bytes(rows, cols);
  w->data = mdi_aligned_alloc(bytes, what);
  if (!w->data) return MDI_ERR;
  if (rows % MDI_PANEL) { /* zero the padding rows of the last panel */
    float *last = w->data + (size_t)(n_panels(rows) - 1) * MDI_PANEL * cols;
    memset(last, 0, (size_t)MDI_PANEL * cols * sizeof(float));
  }
  return MDI_OK;
}

void mdi_matrix_free(struct mdi_matrix *w) {
  mdi_free(w->data);
  w->data = NULL;
}

void mdi_matrix_set_rows(struct mdi_matrix *w, int row0, int n, const float *src) {
  const size_t K = (size_t)w->cols;
  MDI_ASSERT(row0 >= 0 && row0 + n <= w->rows);
  for (int r = 0; r < n; r++) {
    const int row = row0 + r;
    float *panel = w->data + (size_t)(row / MDI_PANEL) * MDI_PANEL * K;
    const int j = row % MDI_PANEL;
    for (size_t k = 0; k < K; k++) panel[k * MDI_PANEL + j] = src[(size_t)r * K + k];
  }
}

void mdi_matrix_get_row(const struct mdi_matrix *w, int row, float *dst) {
  const size_t K = (size_t)w->cols;
  const float *panel = w->data + (size_t)(row / MDI_PANEL) * MDI_PANEL * K;
  const int j = row % MDI_PANEL;
  for (size_t k = 0; k < K; k++) dst[k] = panel[k * MDI_PANEL + j];
}

static inline v8f load8(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

/* c[MR][64] (row stride ldc) = chain over k in [k0, k1) of x[MR][k] * panel[k][64],
 * starting from zero when `first`, else from the partial sums in c. */
#define DEFINE_TILE(MR)                                                                          \
  static void tile##MR(float *c, size_t ldc, const float *x, size_t ldx, const float *panel,     \
                       int k0, int k1, int first) {                                              \
    v8f acc[MR][8];                                                                              \
    for (int i = 0; i < MR; i++)                                                                 \
      for (int j = 0; j < 8; j++) acc[i][j] = first ? (v8f){0} : load8(c + i * ldc + 8 * j);     \
    for (int k = k0; k < k1; k++) {                                                              \
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

/* Panels [p0, p1) for all M rows; results of padding rows are dropped. */
static void matmul_panels(float *out, const float *x, const struct mdi_matrix *w, int M, int p0, int p1,
                          float *tmp /* [3][64] */) {
  const int N = w->rows, K = w->cols;
  /* one or two rows stream each panel once; more rows block k so a panel
   * block (64 x KB floats) stays in L2 across the row tiles */
  const int KB = M <= 2 ? K : 256;
  for (int k0 = 0; k0 < K; k0 += KB) {
    const int k1 = k0 + KB < K ? k0 + KB : K, first = k0 == 0;
    for (int p = p0; p < p1; p++) {
      const float *panel = w->data + (size_t)p * MDI_PANEL * K;
      const int n0 = p * MDI_PANEL, width = N - n0 < MDI_PANEL ? N - n0 : MDI_PANEL;
      /* a partial last panel computes into tmp: out has no room for padding */
      const int direct = width == MDI_PANEL;
      int m = 0;
      for (; m < M; m += 3) {
        const int mr = M - m < 3 ? M - m : 3;
        float *c = direct ? out + (size_t)m * N + n0 : tmp;
        const size_t ldc = direct ? (size_t)N : MDI_PANEL;
        if (!direct && !first)
          for (int i = 0; i < mr; i++) memcpy(tmp + i * MDI_PANEL, out + (size_t)(m + i) * N + n0, width * sizeof(float));
        const float *xm = x + (size_t)m * K;
        if (mr == 3) tile3(c, ldc, xm, (size_t)K, panel, k0, k1, first);
        else if (mr == 2) tile2(c, ldc, xm, (size_t)K, panel, k0, k1, first);
        else tile1(c, ldc, xm, (size_t)K, panel, k0, k1, first);
        if (!direct)
          for (int i = 0; i < mr; i++) memcpy(out + (size_t)(m + i) * N + n0, tmp + i * MDI_PANEL, width * sizeof(float));
      }
    }
  }
}

void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M) {
  MDI_ASSERT(w->type == MDI_MATRIX_F32);
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

void mdi_sgemm_blis(float *out, const float *x, const float *w, int M, int N, int K) {
  float alpha = 1.0f, beta = 0.0f;
  /* row-major: C[M][N] (rs=N, cs=1), A[M][K] (rs=K, cs=1), W^T via strides of W[N][K] */
  bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, M, N, K, &alpha, (float *)x, K, 1, (float *)w, K, 1, &beta,
            out, N, 1);
}

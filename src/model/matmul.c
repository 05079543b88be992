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
#include "simd.h"

static int n_threads = 1;

void mdi_matmul_set_threads(int n) {
  n_threads = n > 0 ? n : 1;
  omp_set_num_threads(n_threads);
}

static inline int n_panels(int rows) { return (rows + MDI_PANEL - 1) / MDI_PANEL; }

static inline int n_groups(int cols) { return (cols + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP; }

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
  *w = (struct mdi_matrix){rows, cols, MDI_MATRIX_F32, NULL, NULL, NULL};
  w->data = alloc_panels(rows, (size_t)cols, sizeof(float), what);
  return w->data ? MDI_OK : MDI_ERR;
}

int mdi_matrix_alloc_q8(struct mdi_matrix *w, int rows, int cols, const char *what) {
  *w = (struct mdi_matrix){rows, cols, MDI_MATRIX_Q8_0, NULL, NULL, NULL};
  w->qs = alloc_panels(rows, (size_t)cols, 1, what);
  w->scales = alloc_panels(rows, (size_t)n_groups(cols), sizeof(float), what);
  if (w->qs && w->scales) return MDI_OK;
  mdi_matrix_free(w);
  return MDI_ERR;
}

void mdi_matrix_free(struct mdi_matrix *w) {
  free(w->data);
  free(w->qs);
  free(w->scales);
  w->data = NULL;
  w->qs = NULL;
  w->scales = NULL;
}

void mdi_q8_quantize_row(const float *w, int K, int8_t *q, float *scales) {
  for (int g = 0; g * MDI_Q8_GROUP < K; g++) {
    const int k0 = g * MDI_Q8_GROUP, k1 = k0 + MDI_Q8_GROUP < K ? k0 + MDI_Q8_GROUP : K;
    float amax = 0.0f;
    for (int k = k0; k < k1; k++) amax = fabsf(w[k]) > amax ? fabsf(w[k]) : amax;
    const float d = amax / 127.0f, inv = d > 0.0f ? 1.0f / d : 0.0f;
    scales[g] = d;
    for (int k = k0; k < k1; k++) {
      /* clamp: 1/d overflows for tiny groups, and NaN must not reach the int cast */
      float v = w[k] * inv;
      v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
      q[k] = v == v ? (int8_t)roundf(v) : 0;
    }
  }
}

void mdi_matrix_set_rows_q8(struct mdi_matrix *w, int row0, int n, const int8_t *q, const float *scales) {
  const size_t K = (size_t)w->cols, G = (size_t)n_groups(w->cols);
  MDI_ASSERT(w->type == MDI_MATRIX_Q8_0 && row0 >= 0 && row0 + n <= w->rows);
  for (int r = 0; r < n; r++) {
    const int row = row0 + r, j = row % MDI_PANEL;
    int8_t *qp = w->qs + (size_t)(row / MDI_PANEL) * MDI_PANEL * K;
    float *sp = w->scales + (size_t)(row / MDI_PANEL) * MDI_PANEL * G;
    for (size_t k = 0; k < K; k++) qp[k * MDI_PANEL + j] = q[(size_t)r * K + k];
    for (size_t g = 0; g < G; g++) sp[g * MDI_PANEL + j] = scales[(size_t)r * G + g];
  }
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
  const size_t K = (size_t)w->cols, p = (size_t)(row / MDI_PANEL);
  const int j = row % MDI_PANEL;
  if (w->type == MDI_MATRIX_Q8_0) {
    const int8_t *qp = w->qs + p * MDI_PANEL * K;
    const float *sp = w->scales + p * MDI_PANEL * (size_t)n_groups(w->cols);
    for (size_t k = 0; k < K; k++) dst[k] = (float)qp[k * MDI_PANEL + j] * sp[k / MDI_Q8_GROUP * MDI_PANEL + j];
    return;
  }
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

/* Q8_0 twin of DEFINE_TILE: the panel block holds int8 weights q[nk][64]
 * starting at k0, with their scales s[groups][64] for the whole panel; each
 * weight is widened and scaled in registers, then used exactly as a float
 * weight, so Q8_0 results are as independent of M as float32 ones. */
#define DEFINE_TILE_Q8(MR)                                                                       \
  static void tileq##MR(float *c, size_t ldc, const float *x, size_t ldx, const int8_t *qpanel,  \
                        const float *spanel, int k0, int nk, int first) {                        \
    v8f acc[MR][8], sc[8];                                                                       \
    for (int i = 0; i < MR; i++)                                                                 \
      for (int j = 0; j < 8; j++) acc[i][j] = first ? (v8f){0} : load8(c + i * ldc + 8 * j);     \
    for (int k = 0; k < nk;) {                                                                   \
      /* one group of 32 k shares its scales */                                                  \
      const int group = (k0 + k) / MDI_Q8_GROUP;                                                 \
      const int kend = (group + 1) * MDI_Q8_GROUP - k0 < nk ? (group + 1) * MDI_Q8_GROUP - k0 : nk; \
      for (int j = 0; j < 8; j++) sc[j] = load8(spanel + (size_t)group * MDI_PANEL + 8 * j);     \
      for (; k < kend; k++) {                                                                    \
      const int8_t *p = qpanel + (size_t)k * MDI_PANEL;                                          \
      const v8f w0 = dequant8(p, sc[0]), w1 = dequant8(p + 8, sc[1]);                            \
      const v8f w2 = dequant8(p + 16, sc[2]), w3 = dequant8(p + 24, sc[3]);                      \
      const v8f w4 = dequant8(p + 32, sc[4]), w5 = dequant8(p + 40, sc[5]);                      \
      const v8f w6 = dequant8(p + 48, sc[6]), w7 = dequant8(p + 56, sc[7]);                      \
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
      }                                                                                          \
    }                                                                                            \
    for (int i = 0; i < MR; i++)                                                                 \
      for (int j = 0; j < 8; j++) store8(c + i * ldc + 8 * j, acc[i][j]);                        \
  }
DEFINE_TILE_Q8(1)
DEFINE_TILE_Q8(2)
DEFINE_TILE_Q8(3)

/* All M rows x one panel block (k0 .. k0+nk): the register tiles, through
 * tmp when the panel is the partial last one (out has no room for its
 * padding). */
static void tile_rows(float *out, const float *x, int M, const struct mdi_matrix *w, int p, int k0, int nk,
                      float *tmp) {
  const int N = w->rows, K = w->cols, n0 = p * MDI_PANEL, first = k0 == 0;
  const int width = N - n0 < MDI_PANEL ? N - n0 : MDI_PANEL, direct = width == MDI_PANEL;
  const float *block = w->data ? w->data + (size_t)p * MDI_PANEL * K + (size_t)k0 * MDI_PANEL : NULL;
  const int8_t *qblock = w->qs ? w->qs + (size_t)p * MDI_PANEL * K + (size_t)k0 * MDI_PANEL : NULL;
  const float *spanel = w->scales ? w->scales + (size_t)p * MDI_PANEL * n_groups(K) : NULL;
  for (int m = 0, mr; m < M; m += mr) {
    /* tiles of 3 rows; 4 left over go as 2 + 2, since a lone row would
     * stream the panel block for little work */
    mr = M - m == 4 ? 2 : M - m < 3 ? M - m : 3;
    float *c = direct ? out + (size_t)m * N + n0 : tmp;
    const size_t ldc = direct ? (size_t)N : MDI_PANEL;
    if (!direct && !first)
      for (int i = 0; i < mr; i++) memcpy(tmp + i * MDI_PANEL, out + (size_t)(m + i) * N + n0, width * sizeof(float));
    const float *xm = x + (size_t)m * K + k0;
    if (qblock) {
      if (mr == 3) tileq3(c, ldc, xm, (size_t)K, qblock, spanel, k0, nk, first);
      else if (mr == 2) tileq2(c, ldc, xm, (size_t)K, qblock, spanel, k0, nk, first);
      else tileq1(c, ldc, xm, (size_t)K, qblock, spanel, k0, nk, first);
    } else {
      if (mr == 3) tile3(c, ldc, xm, (size_t)K, block, nk, first);
      else if (mr == 2) tile2(c, ldc, xm, (size_t)K, block, nk, first);
      else tile1(c, ldc, xm, (size_t)K, block, nk, first);
    }
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

double mdi_matmul_benchmark(int M, int N, int K) {
  struct mdi_matrix w;
  float *x = mdi_aligned_alloc((size_t)M * K * sizeof(float), "calibration input");
  float *out = mdi_aligned_alloc((size_t)M * N * sizeof(float), "calibration output");
  if (!x || !out || mdi_matrix_alloc(&w, N, K, "calibration matrix") != MDI_OK) {
    free(x);
    free(out);
    return -1.0;
  }
  /* small deterministic values: the speed does not depend on them */
  const size_t n = mdi_matrix_alloc_bytes_floats(N, K);
  for (size_t i = 0; i < n; i++) w.data[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
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
  return spent / reps;
}

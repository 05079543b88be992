/* Linear layers.  The only file that includes blis.h.
 *
 * The kernel computes each output element as one dot product with a fixed
 * operation order: two 8-lane accumulators over 16-float steps, a fixed
 * horizontal sum, then a scalar tail.  Rows of W are processed four at a
 * time so every x load feeds four dot products (the batched case), and the
 * four-row and one-row paths perform the same arithmetic per element, so
 * results are bit-identical whatever M or the thread count. */
#include "mdi/matmul.h"

#include <blis.h>
#include <omp.h>
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

static inline v8f load8(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v); /* unaligned load; compiles to vmovups */
  return v;
}

static inline float hsum8(v8f a) {
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

/* One dot product of length K. */
static inline float dot1(const float *w, const float *x, int K) {
  v8f a0 = {0}, a1 = {0};
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    a0 += load8(w + k) * load8(x + k);
    a1 += load8(w + k + 8) * load8(x + k + 8);
  }
  float s = hsum8(a0 + a1);
  for (; k < K; k++) s += w[k] * x[k];
  return s;
}

/* Four dot products sharing x: out[j] = w_j . x, each element computed exactly as dot1. */
static inline void dot4(float out[4], const float *w0, const float *w1, const float *w2,
                        const float *w3, const float *x, int K) {
  v8f a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    v8f x0 = load8(x + k), x1 = load8(x + k + 8);
    a00 += load8(w0 + k) * x0;
    a01 += load8(w0 + k + 8) * x1;
    a10 += load8(w1 + k) * x0;
    a11 += load8(w1 + k + 8) * x1;
    a20 += load8(w2 + k) * x0;
    a21 += load8(w2 + k + 8) * x1;
    a30 += load8(w3 + k) * x0;
    a31 += load8(w3 + k + 8) * x1;
  }
  float s0 = hsum8(a00 + a01), s1 = hsum8(a10 + a11), s2 = hsum8(a20 + a21), s3 = hsum8(a30 + a31);
  for (; k < K; k++) {
    s0 += w0[k] * x[k];
    s1 += w1[k] * x[k];
    s2 += w2[k] * x[k];
    s3 += w3[k] * x[k];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/* Rows [n0, n1) of W against all M rows of x.  A block of four W rows
 * (4*K floats) stays in L1 while every x row passes over it. */
static void matmul_rows(float *out, const float *x, const float *w, int M, int N, int K, int n0,
                        int n1) {
  int n = n0;
  for (; n + 4 <= n1; n += 4) {
    const float *w0 = w + (size_t)n * K;
    for (int m = 0; m < M; m++) {
      float r[4];
      dot4(r, w0, w0 + K, w0 + 2 * (size_t)K, w0 + 3 * (size_t)K, x + (size_t)m * K, K);
      memcpy(out + (size_t)m * N + n, r, sizeof r);
    }
  }
  for (; n < n1; n++)
    for (int m = 0; m < M; m++) out[(size_t)m * N + n] = dot1(w + (size_t)n * K, x + (size_t)m * K, K);
}

void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M) {
  const int N = w->rows, K = w->cols;
  MDI_ASSERT(w->type == MDI_MATRIX_F32);
  /* Parallel over blocks of W rows (multiples of 4 so no thread splits a
   * four-row group); small products stay on one thread. */
  const double work = (double)M * N * K;
  if (n_threads <= 1 || work < 65536.0) {
    matmul_rows(out, x, w->data, M, N, K, 0, N);
    return;
  }
  const int groups = (N + 3) / 4;
#pragma omp parallel for schedule(static) num_threads(n_threads)
  for (int t = 0; t < n_threads; t++) {
    int g0 = (int)((long)groups * t / n_threads), g1 = (int)((long)groups * (t + 1) / n_threads);
    int n0 = g0 * 4, n1 = g1 * 4 < N ? g1 * 4 : N;
    if (n0 < n1) matmul_rows(out, x, w->data, M, N, K, n0, n1);
  }
}

void mdi_matmul_ref(float *out, const float *x, const float *w, int M, int N, int K) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += w[(size_t)n * K + k] * x[(size_t)m * K + k];
      out[(size_t)m * N + n] = s;
    }
}

void mdi_sgemm_blis(float *out, const float *x, const float *w, int M, int N, int K) {
  float alpha = 1.0f, beta = 0.0f;
  /* row-major: C[M][N] (rs=N, cs=1), A[M][K] (rs=K, cs=1), W^T via strides of W[N][K] */
  bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, M, N, K, &alpha, (float *)x, K, 1, (float *)w, K, 1,
            &beta, out, N, 1);
}

/* Each optimized kernel against its plain _ref twin, on shapes that cover
 * the vector body, the scalar tail and the four-row blocks. */
#include <stdint.h>
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi/model/ops.h"
#include "mdi_test.h"
#include "mdi_test_random.h"

static uint64_t rng = 88172645463325252ull;
static float *random_array(size_t n) { return mdi_test_random_array(&rng, n); } /* uniform in [-1, 1) */

/* Pack a row-major w[N][K] into the kernel's panel layout. */
static struct mdi_matrix packed(const float *w, int N, int K) {
  struct mdi_matrix W;
  CHECK(mdi_matrix_alloc(&W, N, K, "test matrix") == MDI_OK);
  mdi_matrix_set_rows(&W, 0, N, w);
  return W;
}

static void test_matmul_vs_ref(int M, int N, int K, int threads) {
  float *x = random_array((size_t)M * K), *w = random_array((size_t)N * K);
  float *out = random_array((size_t)M * N), *ref = random_array((size_t)M * N);
  struct mdi_matrix W = packed(w, N, K);
  mdi_matmul_set_threads(threads);
  mdi_matmul(out, x, &W, M);
  mdi_matmul_ref(ref, x, w, M, N, K);
  double worst = 0;
  for (size_t i = 0; i < (size_t)M * N; i++) {
    double d = fabs((double)out[i] - ref[i]);
    if (d > worst) worst = d;
  }
  /* sums of K products of magnitude <= 1: relative order effects ~ K * eps */
  CHECK_NEAR(worst, 0.0, 1e-6 * K);
  /* the panels hold exactly the rows given */
  float *row = random_array(K);
  mdi_matrix_get_row(&W, N - 1, row);
  CHECK(memcmp(row, w + (size_t)(N - 1) * K, K * sizeof(float)) == 0);
  free(row);
  mdi_matrix_free(&W);
  free(x), free(w), free(out), free(ref);
}

/* The property the ring relies on: a row's result does not depend on how
 * many rows are computed with it, nor on the thread count. */
static void test_matmul_rows_independent(int M, int N, int K) {
  float *x = random_array((size_t)M * K), *w = random_array((size_t)N * K);
  float *all = random_array((size_t)M * N), *one = random_array(N);
  struct mdi_matrix W = packed(w, N, K);
  for (int threads = 1; threads <= 2; threads++) {
    mdi_matmul_set_threads(threads);
    mdi_matmul(all, x, &W, M);
    mdi_matmul_set_threads(3 - threads);
    for (int m = 0; m < M; m++) {
      mdi_matmul(one, x + (size_t)m * K, &W, 1);
      CHECK(memcmp(one, all + (size_t)m * N, N * sizeof(float)) == 0);
    }
  }
  mdi_matrix_free(&W);
  free(x), free(w), free(all), free(one);
}

static void test_rmsnorm(void) {
  const int n = 172;
  float *x = random_array(n), *w = random_array(n), *a = random_array(n), *b = random_array(n);
  mdi_rmsnorm(a, x, w, n, 1e-5f);
  mdi_rmsnorm_ref(b, x, w, n, 1e-5f);
  for (int i = 0; i < n; i++) CHECK_NEAR(a[i], b[i], 1e-5);
  mdi_rmsnorm(x, x, w, n, 1e-5f); /* in place */
  for (int i = 0; i < n; i++) CHECK(x[i] == a[i]);
  free(x), free(w), free(a), free(b);
}

static void test_swiglu(void) {
  const int n = 100;
  float *x = random_array(n), *g = random_array(n), *y = mdi_aligned_alloc(n * sizeof(float), "t");
  float *z = mdi_aligned_alloc(n * sizeof(float), "t");
  for (int i = 0; i < n; i++) x[i] *= 6;
  x[0] = 95.0f, x[1] = -95.0f, x[2] = 0.0f, x[3] = 1e-30f; /* e^-v beyond float, and tiny v */
  memcpy(y, x, n * sizeof(float));
  memcpy(z, x, n * sizeof(float));
  mdi_swiglu(x, g, n);
  mdi_swiglu_ref(y, g, n);
  for (int i = 0; i < n; i++) CHECK_NEAR(x[i], y[i], 1e-6 * (1 + fabs(y[i])));
  /* the same values in pieces of any length: a lane does not depend on its place */
  for (int i = 0, len = 1; i < n; i += len, len = len % 11 + 2) mdi_swiglu(z + i, g + i, i + len > n ? n - i : len);
  CHECK(memcmp(x, z, n * sizeof(float)) == 0);
  free(x), free(g), free(y), free(z);
}

static void test_rope(void) {
  const int head = 8, n = 64, max_seq = 600;
  float *cos_t = mdi_aligned_alloc(max_seq * head / 2 * sizeof(float), "t");
  float *sin_t = mdi_aligned_alloc(max_seq * head / 2 * sizeof(float), "t");
  mdi_rope_tables(cos_t, sin_t, max_seq, head, 10000.0f, NULL);
  for (int pos = 0; pos < max_seq; pos += 37) {
    float *a = random_array(n), *b = mdi_aligned_alloc(n * sizeof(float), "t");
    memcpy(b, a, n * sizeof(float));
    mdi_rope_apply(a, n, head, head, cos_t + pos * head / 2, sin_t + pos * head / 2);
    mdi_rope_apply_ref(b, n, head, head, pos, 10000.0f, NULL);
    /* float angles pos*freq lose ~pos*eps radians, as in llama2.c */
    for (int i = 0; i < n; i++) CHECK_NEAR(a[i], b[i], 2e-4);
    free(a), free(b);
  }
  free(cos_t), free(sin_t);
}

/* Partial RoPE (the first 6 of 10 dims of a head) with frequency factors:
 * the untouched dims stay bit for bit, the others match the double twin. */
static void test_rope_partial(void) {
  const int head = 10, rot = 6, n = 40, max_seq = 300;
  const float factors[3] = {1.0f, 2.5f, 32.0f};
  float *cos_t = mdi_aligned_alloc(max_seq * rot / 2 * sizeof(float), "t");
  float *sin_t = mdi_aligned_alloc(max_seq * rot / 2 * sizeof(float), "t");
  mdi_rope_tables(cos_t, sin_t, max_seq, rot, 500000.0f, factors);
  for (int pos = 0; pos < max_seq; pos += 29) {
    float *a = random_array(n), *b = mdi_aligned_alloc(n * sizeof(float), "t"), *c = mdi_aligned_alloc(n * sizeof(float), "t");
    memcpy(b, a, n * sizeof(float));
    memcpy(c, a, n * sizeof(float));
    mdi_rope_apply(a, n, head, rot, cos_t + pos * rot / 2, sin_t + pos * rot / 2);
    mdi_rope_apply_ref(b, n, head, rot, pos, 500000.0f, factors);
    for (int i = 0; i < n; i++) {
      CHECK_NEAR(a[i], b[i], 2e-4);
      if (i % head >= rot) CHECK(a[i] == c[i]);
    }
    free(a), free(b), free(c);
  }
  free(cos_t), free(sin_t);
}

/* Per-head RMSNorm (Qwen3's q and k norms) = mdi_rmsnorm_ref on each head. */
static void test_head_rmsnorm(void) {
  const int heads = 3, hs = 12;
  float *x = random_array(heads * hs), *w = random_array(hs), *r = mdi_aligned_alloc(heads * hs * sizeof(float), "t");
  for (int h = 0; h < heads; h++) mdi_rmsnorm_ref(r + h * hs, x + h * hs, w, hs, 1e-6f);
  mdi_head_rmsnorm(x, w, heads, hs, 1e-6f);
  for (int i = 0; i < heads * hs; i++) CHECK_NEAR(x[i], r[i], 1e-5);
  free(x), free(w), free(r);
}

static void test_attention(void) {
  const int n_heads = 8, n_kv = 4, hs = 8, kv_dim = n_kv * hs;
  for (int pos = 0; pos < 40; pos += 13) {
    float *q = random_array(n_heads * hs), *k = random_array((size_t)(pos + 1) * kv_dim);
    float *v = random_array((size_t)(pos + 1) * kv_dim);
    float *a = random_array(n_heads * hs), *b = random_array(n_heads * hs);
    float *s1 = random_array((size_t)n_heads * (pos + 1)), *s2 = random_array(pos + 1);
    /* a cache of exactly pos + 1 positions per head ([n_kv][pos+1][hs]) */
    mdi_attention(a, q, k, v, pos, pos + 1, n_heads, n_kv, hs, s1);
    mdi_attention_ref(b, q, k, v, pos, pos + 1, n_heads, n_kv, hs, s2);
    for (int i = 0; i < n_heads * hs; i++) CHECK_NEAR(a[i], b[i], 1e-5);
    free(q), free(k), free(v), free(a), free(b), free(s1), free(s2);
  }
}

static void test_layernorm_gelu(void) {
  const int n = 200;
  float *x = random_array(n), *w = random_array(n), *b = random_array(n), *a = random_array(n), *r = random_array(n);
  for (int i = 0; i < n; i++) x[i] = 3 * x[i] + 0.5f; /* a mean away from zero */
  mdi_layernorm(a, x, w, b, n, 1e-5f);
  mdi_layernorm_ref(r, x, w, b, n, 1e-5f);
  for (int i = 0; i < n; i++) CHECK_NEAR(a[i], r[i], 1e-5);
  for (int i = 0; i < n; i++) a[i] = r[i] = 8 * x[i];
  mdi_gelu(a, n);
  mdi_gelu_ref(r, n);
  for (int i = 0; i < n; i++) CHECK_NEAR(a[i], r[i], 2e-5 * (1 + fabs(r[i])));
  free(x), free(w), free(b), free(a), free(r);
}

static void test_softmax(void) {
  float x[5] = {1, 2, 3, 4, 1000};
  mdi_softmax(x, 5);
  CHECK_NEAR(x[4], 1.0, 1e-6);
  float y[3] = {0, 0, 0};
  mdi_softmax(y, 3);
  for (int i = 0; i < 3; i++) CHECK_NEAR(y[i], 1.0 / 3, 1e-7);
}

int main(void) {
  const int shapes[][3] = {{1, 64, 64},  {1, 172, 64},  {4, 64, 172}, {7, 33, 17},
                           {16, 512, 64}, {3, 5, 3},    {2, 130, 600}, {65, 200, 300}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (int t = 1; t <= 2; t++) test_matmul_vs_ref(shapes[i][0], shapes[i][1], shapes[i][2], t);
  /* k blocks of 256 (M > 2), partial last panels, several panels per thread */
  test_matmul_rows_independent(13, 75, 172);
  test_matmul_rows_independent(11, 300, 700);
  test_rmsnorm();
  test_swiglu();
  test_rope();
  test_rope_partial();
  test_head_rmsnorm();
  test_attention();
  test_softmax();
  test_layernorm_gelu();
  return mdi_test_finish("test_kernels");
}

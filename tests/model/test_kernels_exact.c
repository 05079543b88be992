/* The float kernels' arithmetic bit for bit, written out in scalar fmaf: the
 * same on every machine.  matmul.h promises that every float32 output is one
 * fused multiply-add chain over k in order; attention's scores are eight
 * fused lanes summed in a fixed order, its softmax mdi_softmax_scores, and
 * its weighted sums one fused chain over positions (ops.c).  A kernel for
 * one instruction set that rounds differently (an unfused step, another
 * order) fails here, instead of only as tokens that drift between an x86 and
 * an arm64 rank on some model.  (The quantized kernels have their bit-exact
 * reference: test_quant.)  Run on x86 and, under emulation, on arm64 (ctest
 * -L arm64). */
#include <stdint.h>
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi/model/ops.h"
#include "mdi_test.h"
#include "mdi_test_random.h"

/* acc + a * b the way the matmul kernels do it on this target: fused where
 * the CPU has FMA (AArch64 always, x86 with -march=native on any CPU since
 * 2013), two roundings where GCC cannot contract (an x86 build without FMA) */
#if defined(__FMA__) || defined(__aarch64__)
#define MATMUL_FUSED 1
static float chain_step(float acc, float a, float b) { return fmaf(a, b, acc); }
#else
#define MATMUL_FUSED 0
static float chain_step(float acc, float a, float b) {
  volatile float p = a * b; /* no contraction */
  return acc + p;
}
#endif

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float *random_array(size_t n) { return mdi_test_random_array(&rng, n); } /* uniform in [-1, 1) */

static int same_bits(const float *a, const float *b, size_t n, const char *what, int M, int N, int K) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(a + i, b + i, sizeof(float)) != 0) {
      fprintf(stderr, "%s M=%d N=%d K=%d: element %zu is %.9g, the chain gives %.9g\n", what, M, N, K, i,
              (double)a[i], (double)b[i]);
      return 0;
    }
  return 1;
}

/* 1 and 2 threads: every output equals its chain */
static void test_matmul_chain(int M, int N, int K) {
  float *x = random_array((size_t)M * K), *w = random_array((size_t)N * K);
  float *out = random_array((size_t)M * N), *chain = random_array((size_t)M * N);
  struct mdi_matrix W;
  CHECK(mdi_matrix_alloc(&W, N, K, "f32") == MDI_OK);
  mdi_matrix_set_rows(&W, 0, N, w);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      float acc = 0.0f;
      for (int k = 0; k < K; k++) acc = chain_step(acc, w[(size_t)n * K + k], x[(size_t)m * K + k]);
      chain[(size_t)m * N + n] = acc;
    }
  for (int threads = 1; threads <= 2; threads++) {
    mdi_matmul_set_threads(threads);
    mdi_matmul(out, x, &W, M);
    CHECK(same_bits(out, chain, (size_t)M * N, "matmul", M, N, K));
  }
  mdi_matmul_set_threads(1);
  mdi_matrix_free(&W);
  free(x), free(w), free(out), free(chain);
}

/* ops.c's dot_head: lane l sums i = l, l + 8, ... (while i + 8 <= n) in one
 * fused chain; then ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)); then
 * the n % 8 tail, fused */
static float dot_chain(const float *a, const float *b, int n) {
  float lane[8] = {0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) lane[l] = fmaf(a[i + l], b[i + l], lane[l]);
  float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; i < n; i++) s = fmaf(a[i], b[i], s);
  return s;
}

static void test_attention_chain(int n_heads, int n_kv, int hs, int pos) {
  const int max_seq = pos + 3, group = n_heads / n_kv, T = pos + 1;
  const size_t cache = (size_t)n_kv * max_seq * hs;
  float *q = random_array((size_t)n_heads * hs), *k = random_array(cache), *v = random_array(cache);
  float *out = random_array((size_t)n_heads * hs), *want = random_array((size_t)n_heads * hs);
  float *scratch = random_array((size_t)n_heads * T), *att = random_array(T);
  const float scale = 1.0f / sqrtf((float)hs);
  mdi_attention(out, q, k, v, pos, max_seq, n_heads, n_kv, hs, scratch);
  for (int h = 0; h < n_heads; h++) {
    const float *kc = k + (size_t)(h / group) * max_seq * hs, *vc = v + (size_t)(h / group) * max_seq * hs;
    for (int t = 0; t < T; t++) att[t] = dot_chain(q + (size_t)h * hs, kc + (size_t)t * hs, hs) * scale;
    mdi_softmax_scores(att, T);
    for (int i = 0; i < hs; i++) {
      float acc = 0.0f;
      for (int t = 0; t < T; t++) acc = fmaf(att[t], vc[(size_t)t * hs + i], acc);
      want[(size_t)h * hs + i] = acc;
    }
  }
  CHECK(same_bits(out, want, (size_t)n_heads * hs, "attention", n_heads, hs, pos));
  free(q), free(k), free(v), free(out), free(want), free(scratch), free(att);
}

int main(void) {
  printf("test_kernels_exact: matmul chains %s\n", MATMUL_FUSED ? "fused" : "unfused (no FMA)");
  /* one row and micro-batches (tiles of 1 to 6 rows), partial panels, k
   * blocks of 128 and 256 */
  const int shapes[][3] = {{1, 64, 64}, {1, 130, 300}, {2, 64, 600}, {3, 100, 33}, {4, 64, 520},
                           {5, 200, 64}, {7, 70, 257}, {11, 128, 700}, {16, 192, 300}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    test_matmul_chain(shapes[i][0], shapes[i][1], shapes[i][2]);
  /* head sizes with and without 64-wide blocks and a scalar tail; GQA;
   * positions not a multiple of the four-key blocks */
  const int att[][4] = {{8, 4, 8, 0}, {8, 4, 8, 13}, {4, 4, 64, 38}, {6, 2, 72, 9}, {4, 1, 70, 21}, {2, 2, 128, 66}};
  for (size_t i = 0; i < sizeof att / sizeof att[0]; i++)
    test_attention_chain(att[i][0], att[i][1], att[i][2], att[i][3]);
  return mdi_test_finish("test_kernels_exact");
}

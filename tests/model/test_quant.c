/* The quantized weights (quant.h, quant_kernels.h): half floats, the tile
 * layout, and every kernel of every type against its reference twin.
 *
 *  - f16: every half converts to float and back to itself; rounding of
 *    floats between halves is to nearest even, overflow to infinity.
 *  - tiles: random blocks packed and unpacked come back byte for byte.
 *  - kernels: each instruction set this build has (generic, AVX2, AVX-512)
 *    gives exactly mdi_qmatmul_ref's floats (memcmp), for M = 1..9 rows,
 *    1 and 2 threads, partial last groups; a row alone equals the same row
 *    in a batch; and the result is within the activation quantization's
 *    error of the float product with the dequantized weights.
 *  - dequantization: mdi_matrix_get_row of the tiles equals
 *    mdi_quant_dequantize_row of the blocks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi/model/quant.h"
#include "mdi_test.h"
#include "quant_kernels.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static float frand(void) { return (float)((next() >> 40) / 8388608.0 - 1.0); } /* [-1, 1) */

static void test_f16(void) {
  for (uint32_t h = 0; h < 65536; h++) {
    const float f = mdi_f16_to_f32((uint16_t)h);
    if (f != f) { /* NaN: stays NaN */
      CHECK((mdi_f32_to_f16(f) & 0x7c00) == 0x7c00 && (mdi_f32_to_f16(f) & 0x3ff) != 0);
      continue;
    }
    if (mdi_f32_to_f16(f) != h) {
      fprintf(stderr, "half 0x%04x -> %g -> 0x%04x\n", h, (double)f, mdi_f32_to_f16(f));
      CHECK(0);
    }
  }
  /* halfway cases round to even; beyond 65520 is infinity */
  CHECK(mdi_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);
  CHECK(mdi_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);
  CHECK(mdi_f32_to_f16(65519.0f) == 0x7bff);
  CHECK(mdi_f32_to_f16(65520.0f) == 0x7c00);
  CHECK(mdi_f32_to_f16(0x1p-25f) == 0x0000);          /* half the smallest subnormal: to even (0) */
  CHECK(mdi_f32_to_f16(0x1.8p-25f) == 0x0001);
  CHECK(mdi_f32_to_f16(-0x1p-14f) == 0x8400);
}

static const enum mdi_matrix_type types[] = {MDI_MATRIX_Q8_0, MDI_MATRIX_Q4_0, MDI_MATRIX_Q4_1, MDI_MATRIX_Q5_0,
                                             MDI_MATRIX_Q5_1, MDI_MATRIX_Q4_K, MDI_MATRIX_Q5_K, MDI_MATRIX_Q6_K};
#define N_TYPES ((int)(sizeof types / sizeof types[0]))

/* Rows of blocks: half of them quantized from random floats (realistic
 * scales), half random bytes with sane half-float scales (every level). */
static uint8_t *random_rows(enum mdi_matrix_type t, int N, int K) {
  const size_t rb = mdi_quant_row_bytes(t, K);
  uint8_t *rows = malloc((size_t)N * rb);
  float *w = malloc((size_t)K * sizeof(float));
  const struct mdi_quant_format *f = mdi_quant_format(t);
  for (int n = 0; n < N; n++) {
    uint8_t *row = rows + (size_t)n * rb;
    if (n % 2 == 0) {
      const float scale = 0.02f + (float)(n % 7) * 0.3f;
      for (int k = 0; k < K; k++) w[k] = frand() * scale + (n % 3 == 0 ? 0.3f * scale : 0.0f);
      mdi_quant_quantize_row(t, w, row, K);
      continue;
    }
    for (size_t b = 0; b < rb; b++) row[b] = (uint8_t)next();
    /* the half-float scale fields: small finite values of either sign */
    for (int b = 0; b < K / f->block; b++) {
      uint8_t *blk = row + (size_t)b * f->bytes;
      const int at[2] = {t == MDI_MATRIX_Q6_K ? 208 : 0,
                         t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1 || t == MDI_MATRIX_Q4_K || t == MDI_MATRIX_Q5_K
                             ? 2 : -1};
      for (int i = 0; i < 2; i++) {
        if (at[i] < 0) continue;
        const uint16_t h = mdi_f32_to_f16(frand() * 0.01f);
        memcpy(blk + at[i], &h, 2);
      }
    }
  }
  free(w);
  return rows;
}

static void test_pack(enum mdi_matrix_type t, int N, int K) {
  const size_t rb = mdi_quant_row_bytes(t, K);
  uint8_t *rows = random_rows(t, N, K), *back = malloc(rb);
  float *a = malloc((size_t)K * sizeof(float)), *b = malloc((size_t)K * sizeof(float));
  struct mdi_matrix W;
  CHECK(mdi_matrix_alloc_type(&W, t, N, K, "test") == MDI_OK);
  mdi_matrix_set_rows_blocks(&W, 0, N, rows);
  CHECK(mdi_matrix_bytes(&W) == (size_t)N * rb);
  for (int n = 0; n < N; n++) {
    mdi_matrix_get_row_blocks(&W, n, back);
    if (memcmp(back, rows + (size_t)n * rb, rb) != 0) {
      fprintf(stderr, "%s: row %d of %d x %d changed when packed and unpacked\n", mdi_quant_format(t)->name, n, N, K);
      CHECK(0);
      break;
    }
    mdi_matrix_get_row(&W, n, a);
    mdi_quant_dequantize_row(t, rows + (size_t)n * rb, b, K);
    CHECK(memcmp(a, b, (size_t)K * sizeof(float)) == 0);
  }
  mdi_matrix_free(&W);
  free(rows), free(back), free(a), free(b);
}

/* Every kernel equals the reference bit for bit, and stays near the float
 * product with the dequantized weights. */
static void test_kernels(enum mdi_matrix_type t, int M, int N, int K) {
  const size_t rb = mdi_quant_row_bytes(t, K);
  uint8_t *rows = random_rows(t, N, K);
  float *x = malloc((size_t)M * K * sizeof(float)), *deq = malloc((size_t)N * K * sizeof(float));
  float *ref = malloc((size_t)M * N * sizeof(float)), *out = malloc((size_t)M * N * sizeof(float));
  float *exact = malloc((size_t)M * N * sizeof(float)), *one = malloc((size_t)N * sizeof(float));
  for (int i = 0; i < M * K; i++) x[i] = frand() * (1 + i % 5);
  for (int n = 0; n < N; n++) mdi_quant_dequantize_row(t, rows + (size_t)n * rb, deq + (size_t)n * K, K);
  struct mdi_matrix W;
  CHECK(mdi_matrix_alloc_type(&W, t, N, K, "test") == MDI_OK);
  mdi_matrix_set_rows_blocks(&W, 0, N, rows);
  mdi_qmatmul_ref(ref, x, t, rows, M, N, K);
  mdi_matmul_ref(exact, x, deq, M, N, K);
  /* 8-bit activations: each term off by |w| * dx / 2 at most */
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double bound = 0;
      for (int k = 0; k < K; k++) bound += fabs(deq[(size_t)n * K + k]) * (1 + (m * K + k) % 5) / 127.0 * 0.5;
      CHECK_NEAR(ref[(size_t)m * N + n], exact[(size_t)m * N + n], bound * 1.01 + 1e-5);
    }
  const enum mdi_isa isas[] = {MDI_ISA_GENERIC, MDI_ISA_AVX2, MDI_ISA_AVX512, MDI_ISA_NEON, MDI_ISA_NEON_DOTPROD};
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
    if (mdi_matmul_set_isa(isas[i]) != MDI_OK) continue;
    for (int threads = 1; threads <= 2; threads++) {
      mdi_matmul_set_threads(threads);
      memset(out, 0xff, (size_t)M * N * sizeof(float));
      mdi_matmul(out, x, &W, M);
      if (memcmp(out, ref, (size_t)M * N * sizeof(float)) != 0) {
        int at = 0;
        while (out[at] == ref[at]) at++;
        fprintf(stderr, "%s %s, %d threads, M %d N %d K %d: [%d][%d] = %.9g, reference %.9g\n",
                mdi_quant_format(t)->name, mdi_matmul_isa_name(), threads, M, N, K, at / N, at % N, (double)out[at],
                (double)ref[at]);
        CHECK(0);
      }
      mdi_matmul(one, x + (size_t)(M - 1) * K, &W, 1);
      CHECK(memcmp(one, ref + (size_t)(M - 1) * N, (size_t)N * sizeof(float)) == 0);
    }
  }
  mdi_matmul_set_isa(MDI_ISA_AUTO);
  mdi_matmul_set_threads(1);
  mdi_matrix_free(&W);
  free(rows), free(x), free(deq), free(ref), free(out), free(exact), free(one);
}

/* The vectorised activation quantizer gives the scalar one's values, on
 * ordinary rows and on blocks of zeros, tiny values, huge values, NaN and
 * infinities. */
static void test_activations(void) {
  const mdi_qact_fn fast = mdi_qact_avx512();
  if (!fast) return;
  const int M = 7, K = 512;
  float *x = malloc((size_t)M * K * sizeof(float));
  for (int i = 0; i < M * K; i++) x[i] = frand() * (float)(1 + i % 13);
  for (int k = 0; k < 32; k++) x[32 + k] = 0.0f;                 /* row 0, block 1 */
  for (int k = 0; k < 32; k++) x[K + k] = frand() * 1e-40f;      /* row 1: subnormals */
  for (int k = 0; k < 32; k++) x[2 * K + k] = frand() * 3e38f;   /* row 2: near FLT_MAX */
  x[3 * K + 5] = NAN;
  x[3 * K + 40] = INFINITY;
  x[4 * K + 7] = -INFINITY;
  for (int k = 0; k < 256; k++) x[5 * K + k] = (float)(k % 255 - 127) * 0.5f; /* ties at .5 */
  for (int bs = 32; bs <= 256; bs *= 8) {
    int8_t q1[7 * 512], q2[7 * 512];
    float d1[7 * 16], d2[7 * 16];
    int16_t a1[7 * 32], a2[7 * 32], b1[7 * 16], b2[7 * 16];
    mdi_qact_quantize_rows(x, M, K, bs, q1, d1, a1, b1);
    fast(x, M, K, bs, q2, d2, a2, b2);
    CHECK(memcmp(q1, q2, sizeof q1) == 0);
    CHECK(memcmp(d1, d2, (size_t)M * (K / bs) * sizeof(float)) == 0);
    CHECK(memcmp(a1, a2, sizeof a1) == 0 && memcmp(b1, b2, sizeof b1) == 0);
  }
  free(x);
}

/* The calibration benchmark runs every type. */
static void test_benchmark(void) {
  for (int i = 0; i < N_TYPES; i++) CHECK(mdi_matmul_benchmark(types[i], 2, 40, 512) > 0);
}

int main(void) {
  test_f16();
  for (int i = 0; i < N_TYPES; i++) {
    const int k_type = mdi_quant_format(types[i])->block == MDI_QK_K;
    test_pack(types[i], 37, k_type ? 512 : 96);
    test_kernels(types[i], 1, 16, k_type ? 256 : 32);
    test_kernels(types[i], 5, 37, k_type ? 512 : 160);
    test_kernels(types[i], 9, 70, k_type ? 768 : 64);
    test_kernels(types[i], 19, 33, k_type ? 256 : 96); /* register tiles of 8 rows and a rest */
    test_kernels(types[i], 3, 300, k_type ? 1024 : 512); /* several groups per thread */
    test_kernels(types[i], 2, 40, k_type ? 2304 : 800); /* 25 blocks: past a multiple of 16, and a rest */
    test_kernels(types[i], 1, 20, k_type ? 1280 : 2208); /* 69 blocks: spans of 32, 32 and 5 at one row */
  }
  test_activations();
  test_benchmark();
  return mdi_test_finish("test_quant");
}

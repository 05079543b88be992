/* mdi_matmul's float32 register tiles for AArch64 NEON (see matmul_neon.h).
 *
 * matmul.c's generic tile, compiled for NEON, keeps its arrays of 8-float
 * GNU vectors in memory: objdump of GCC 12's -O3 -mcpu=cortex-a76 output
 * shows, per k step, 176 instructions for the 32 fmla of a 2-row tile, 68
 * of them loads and stores of the stack.  Here every accumulator is a
 * float32x4_t in one of the 32 registers:
 *  - one row: the whole 64-column panel, 16 accumulators;
 *  - two or three rows: 16 or 24 accumulators fit only for 32 columns, so
 *    the tile makes two passes, one per half panel, over a panel block that
 *    matmul.c sizes to stay in cache (the first pass fetches the next one).
 * Per k step that is 30 instructions for 16 fmla (one row), 27 for 16 (two
 * rows, each half) and 40 for 24 (three rows, 5 of them spill traffic).
 * Each lane is one output's chain of vfmaq_f32 (fused, one rounding) in k
 * order, the arithmetic of the x86 kernels, so both give the same bits
 * (tests/model/test_kernels_exact.c). */
#include "matmul_neon.h"

#ifdef MDI_MATMUL_NEON
#include <arm_neon.h>

#include "mdi/model/matmul.h"

/* The tiles are spelled out with one named variable per accumulator
 * (a<row>_<vector>): with an array of float32x4_t, even a 1 x 16 one, GCC 12
 * stores the accumulators to the stack on every k step. */
#define VEC8(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3) X(i, 4) X(i, 5) X(i, 6) X(i, 7)
#define VEC16(X, i) VEC8(X, i) X(i, 8) X(i, 9) X(i, 10) X(i, 11) X(i, 12) X(i, 13) X(i, 14) X(i, 15)
#define ACC_INIT(i, j) float32x4_t a##i##_##j = first ? vdupq_n_f32(0.0f) : vld1q_f32(c + i * ldc + 4 * j);
#define ACC_STORE(i, j) vst1q_f32(c + i * ldc + 4 * j, a##i##_##j);
#define BCAST(i) const float32x4_t b##i = vld1q_dup_f32(x + i * ldx + k);
/* acc += panel weight vector j * x[i][k], fused */
#define FMA(i, j) a##i##_##j = vfmaq_f32(a##i##_##j, vld1q_f32(p + 4 * j), b##i);

/* the row k of the next block, 256 bytes, into cache */
static inline void fetch_row(const float *prefetch, int k) {
  if (prefetch)
    for (int l = 0; l < MDI_PANEL; l += 16) __builtin_prefetch(prefetch + (size_t)k * MDI_PANEL + l, 0, 2);
}

void mdi_neon_tile_1(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                     int nk, int first) {
  (void)ldc, (void)ldx;
  VEC16(ACC_INIT, 0)
  for (int k = 0; k < nk; k++) {
    const float *p = panel + (size_t)k * MDI_PANEL;
    fetch_row(prefetch, k);
    BCAST(0)
    VEC16(FMA, 0)
  }
  VEC16(ACC_STORE, 0)
}

/* c[2][32], c[3][32]: half a panel (the caller offsets c, panel and prefetch) */
static void tile_2x32(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                      int nk, int first) {
  VEC8(ACC_INIT, 0) VEC8(ACC_INIT, 1)
  for (int k = 0; k < nk; k++) {
    const float *p = panel + (size_t)k * MDI_PANEL;
    fetch_row(prefetch, k);
    BCAST(0) BCAST(1)
    VEC8(FMA, 0) VEC8(FMA, 1)
  }
  VEC8(ACC_STORE, 0) VEC8(ACC_STORE, 1)
}

static void tile_3x32(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                      int nk, int first) {
  VEC8(ACC_INIT, 0) VEC8(ACC_INIT, 1) VEC8(ACC_INIT, 2)
  for (int k = 0; k < nk; k++) {
    const float *p = panel + (size_t)k * MDI_PANEL;
    fetch_row(prefetch, k);
    BCAST(0) BCAST(1) BCAST(2)
    VEC8(FMA, 0) VEC8(FMA, 1) VEC8(FMA, 2)
  }
  VEC8(ACC_STORE, 0) VEC8(ACC_STORE, 1) VEC8(ACC_STORE, 2)
}

void mdi_neon_tile_2(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                     int nk, int first) {
  tile_2x32(c, ldc, x, ldx, panel, prefetch, nk, first);
  tile_2x32(c + 32, ldc, x, ldx, panel + 32, NULL, nk, first);
}

void mdi_neon_tile_3(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                     int nk, int first) {
  tile_3x32(c, ldc, x, ldx, panel, prefetch, nk, first);
  tile_3x32(c + 32, ldc, x, ldx, panel + 32, NULL, nk, first);
}
#endif

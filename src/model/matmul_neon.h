/* The float32 register tiles of mdi_matmul for AArch64 NEON (matmul_neon.c),
 * used by matmul.c in place of its generic ones.  Same contract: c[mr][64]
 * (row stride ldc) continues, over k < nk, each output's one fused
 * multiply-add chain of x[mr][k] * panel[k][64] (from zero when `first`),
 * fetching the rows of `prefetch` (or nothing when NULL) along, so the
 * results are bit-identical to the other kernels'.  Private to the model
 * library. */
#ifndef MDI_MATMUL_NEON_H
#define MDI_MATMUL_NEON_H

#include <stddef.h>

#if defined(__aarch64__) && defined(__ARM_NEON)
#define MDI_MATMUL_NEON 1
void mdi_neon_tile_1(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                     int nk, int first);
void mdi_neon_tile_2(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                     int nk, int first);
void mdi_neon_tile_3(float *c, size_t ldc, const float *x, size_t ldx, const float *panel, const float *prefetch,
                     int nk, int first);
#endif

#endif

/* Linear layers: out[M][N] = x[M][K] . W^T for W of N rows ([out][in]).
 *
 * Weights live in a packed "panel" layout made at load time: rows are
 * grouped in panels of MDI_PANEL (64) rows, and a panel is stored k-major,
 * P[p][k][64] = W[64p + j][k] (the last panel padded with zero rows).  A
 * panel then streams from memory as one sequential read, and the kernel
 * keeps 64 outputs per x row in registers, so one sequence (decode) runs at
 * memory bandwidth and a micro-batch reuses each weight from cache.
 *
 * Every output element is one sequential fused multiply-add chain over
 * k = 0..K-1 whatever M, its place in a register tile or the thread count:
 * a sequence gets bit-identical results alone or micro-batched, so the
 * ring's results do not depend on the number of ranks, B or M.  (A GEMM
 * library's blocking changes the summation order with the matrix shape:
 * docs/PERFORMANCE.md, "Why not BLIS".)  Quantized matrices keep the same
 * property with integer dot products (quant_kernels.h). */
#ifndef MDI_MATMUL_H
#define MDI_MATMUL_H

#include <stddef.h>

#include <stdint.h>

#include "mdi/model/quant.h"

#define MDI_PANEL 64

/* A weight matrix: float32 panels (above), or a quantized type in the
 * 16-row tiles of its integer kernels (quant_kernels.h: the GGUF blocks
 * rearranged, the same bytes). */
struct mdi_matrix {
  int rows, cols;            /* N, K */
  enum mdi_matrix_type type;
  float *data;               /* F32: [ceil(N/64)][K][64], 64-byte aligned */
  uint8_t *tiles;            /* quantized: [ceil(N/16)][K/block][tile] */
};

/* Bytes of the N x K weights as stored in the file (float32, or the
 * type's blocks), the figure reported as a rank's weights_bytes. */
static inline size_t mdi_matrix_bytes(const struct mdi_matrix *w) {
  if (w->type != MDI_MATRIX_F32) return (size_t)w->rows * mdi_quant_row_bytes(w->type, w->cols);
  return (size_t)w->rows * (size_t)w->cols * sizeof(float);
}

/* Allocate an N x K matrix (padding zeroed); MDI_ERR with a message on
 * failure.  A quantized type needs K to be whole blocks. */
int mdi_matrix_alloc(struct mdi_matrix *w, int rows, int cols, const char *what);
int mdi_matrix_alloc_type(struct mdi_matrix *w, enum mdi_matrix_type type, int rows, int cols, const char *what);
void mdi_matrix_free(struct mdi_matrix *w);
/* Store rows [row0, row0+n) given row-major src[n][K] into the panels. */
void mdi_matrix_set_rows(struct mdi_matrix *w, int row0, int n, const float *src);
/* Quantized: store rows [row0, row0+n) given as their GGUF blocks,
 * blocks[n][row bytes]; row0 a multiple of 16, n too unless it ends the matrix. */
void mdi_matrix_set_rows_blocks(struct mdi_matrix *w, int row0, int n, const uint8_t *blocks);
/* Copy row `row` (K values, dequantized for a quantized type) out of the panels. */
void mdi_matrix_get_row(const struct mdi_matrix *w, int row, float *dst);
/* Quantized: row `row` as its GGUF blocks (row bytes). */
void mdi_matrix_get_row_blocks(const struct mdi_matrix *w, int row, uint8_t *dst);

/* out[M][w->rows] = x[M][w->cols] . w^T, with the threads of
 * mdi_matmul_set_threads (one parallel region per call). */
void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M);
/* The same product computed by a team of n threads that is already running
 * (block forward passes keep one parallel region per pass, not one per
 * matrix): thread t of n calls it with the same arguments and computes the
 * output columns [c0, c1) that mdi_matmul_share_cols gives it, disjoint
 * ranges covering all w->rows (n = 1: all of them).  No barrier inside; the
 * caller separates the product from the use of `out` by its own.  Every
 * weight type's kernel must keep this contract: a kernel that prepares x
 * (for example quantizes it) does so in thread-private scratch, since all n
 * threads run at once. */
void mdi_matmul_share(float *out, const float *x, const struct mdi_matrix *w, int M, int t, int n);
void mdi_matmul_share_cols(const struct mdi_matrix *w, int t, int n, int *c0, int *c1);
/* Plain triple loop on a row-major W[N][K]: the reference for tests. */
void mdi_matmul_ref(float *out, const float *x, const float *w, int M, int N, int K);
/* The quantized kernels' arithmetic (quant_kernels.h) in plain loops on
 * W's GGUF rows, blocks[N][row bytes]: bit-identical to mdi_matmul. */
void mdi_qmatmul_ref(float *out, const float *x, enum mdi_matrix_type type, const uint8_t *blocks, int M, int N,
                     int K);

/* The instruction set of the quantized kernels: the best this build has
 * (AUTO), or one chosen by tests and benchmarks; MDI_ERR when this build
 * or CPU lacks it.  NEON: AArch64 builds; NEON_DOTPROD: those for a CPU
 * with the dot-product instructions (e.g. -DMDI_CPU=cortex-a76). */
enum mdi_isa { MDI_ISA_AUTO = 0, MDI_ISA_GENERIC, MDI_ISA_AVX2, MDI_ISA_AVX512, MDI_ISA_NEON, MDI_ISA_NEON_DOTPROD };
int mdi_matmul_set_isa(enum mdi_isa isa);
const char *mdi_matmul_isa_name(void); /* of the kernels in use: "avx512-vnni", ... */

/* Seconds one mdi_matmul of M rows by an N x K matrix of `type` takes on this
 * rank now (synthetic weights; mean of back-to-back calls over at least a
 * quarter of a second after a warm-up, so a CPU that is throttled, shared or
 * capped by a CPU quota shows its sustained speed, not its best burst): the
 * speed measurement behind --split calibrate.  <0 if out of memory. */
double mdi_matmul_benchmark(enum mdi_matrix_type type, int M, int N, int K);

/* Threads used by the kernels of this process (OpenMP). */
void mdi_matmul_set_threads(int n);

#endif

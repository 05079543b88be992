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
 * docs/PERFORMANCE.md, "Why not BLIS".) */
#ifndef MDI_MATMUL_H
#define MDI_MATMUL_H

#include <stddef.h>

#include <stdint.h>

#define MDI_PANEL 64
#define MDI_Q8_GROUP 32 /* Q8_0: one float scale per 32 consecutive k of a row */

enum mdi_matrix_type { MDI_MATRIX_F32 = 0, MDI_MATRIX_Q8_0 };

struct mdi_matrix {
  int rows, cols;            /* N, K */
  enum mdi_matrix_type type;
  float *data;               /* F32: [ceil(N/64)][K][64], 64-byte aligned */
  int8_t *qs;                /* Q8_0: [ceil(N/64)][K][64] int8 values */
  float *scales;             /* Q8_0: [ceil(N/64)][ceil(K/32)][64] */
};

/* Q8_0 of one row w[K]: per group of 32, d = max|w| / 127, q = round(w / d);
 * scales[ceil(K/32)], q[K].  The value it stands for is q * d. */
void mdi_q8_quantize_row(const float *w, int K, int8_t *q, float *scales);

/* Bytes of the N x K weights as stored in the file (Q8_0: int8 values and
 * float scales), the figure reported as a rank's weights_bytes. */
static inline size_t mdi_matrix_bytes(const struct mdi_matrix *w) {
  if (w->type == MDI_MATRIX_Q8_0)
    return (size_t)w->rows * (size_t)w->cols +
           (size_t)w->rows * (size_t)((w->cols + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP) * sizeof(float);
  return (size_t)w->rows * (size_t)w->cols * sizeof(float);
}

/* Allocate an N x K matrix (padding zeroed); MDI_ERR with a message on failure. */
int mdi_matrix_alloc(struct mdi_matrix *w, int rows, int cols, const char *what);
int mdi_matrix_alloc_q8(struct mdi_matrix *w, int rows, int cols, const char *what);
/* Q8_0: store rows [row0, row0+n) from row-major q[n][K] and scales[n][ceil(K/32)]. */
void mdi_matrix_set_rows_q8(struct mdi_matrix *w, int row0, int n, const int8_t *q, const float *scales);
void mdi_matrix_free(struct mdi_matrix *w);
/* Store rows [row0, row0+n) given row-major src[n][K] into the panels. */
void mdi_matrix_set_rows(struct mdi_matrix *w, int row0, int n, const float *src);
/* Copy row `row` (K values, dequantized for Q8_0) out of the panels. */
void mdi_matrix_get_row(const struct mdi_matrix *w, int row, float *dst);

/* out[M][w->rows] = x[M][w->cols] . w^T */
void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M);
/* Plain triple loop on a row-major W[N][K]: the reference for tests. */
void mdi_matmul_ref(float *out, const float *x, const float *w, int M, int N, int K);

/* Seconds one mdi_matmul of M rows by an N x K float32 matrix takes on this
 * rank now (synthetic weights; mean of back-to-back calls over at least a
 * quarter of a second after a warm-up, so a CPU that is throttled, shared or
 * capped by a CPU quota shows its sustained speed, not its best burst): the
 * speed measurement behind --split calibrate.  <0 if out of memory. */
double mdi_matmul_benchmark(int M, int N, int K);

/* Threads used by the kernels of this process (OpenMP). */
void mdi_matmul_set_threads(int n);

#endif

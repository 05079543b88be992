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
 * ring's results do not depend on the number of ranks, B or M.
 * matmul.c is the only file that includes blis.h. */
#ifndef MDI_MATMUL_H
#define MDI_MATMUL_H

#include <stddef.h>

#define MDI_PANEL 64

enum mdi_matrix_type { MDI_MATRIX_F32 = 0 };

struct mdi_matrix {
  int rows, cols;            /* N, K */
  enum mdi_matrix_type type;
  float *data;               /* [ceil(N/64)][K][64], 64-byte aligned */
};

/* Bytes of the packed matrix (including panel padding) and of its N x K values. */
size_t mdi_matrix_alloc_bytes(int rows, int cols);
static inline size_t mdi_matrix_bytes(const struct mdi_matrix *w) {
  return (size_t)w->rows * (size_t)w->cols * sizeof(float);
}

/* Allocate an N x K matrix (padding zeroed); MDI_ERR with a message on failure. */
int mdi_matrix_alloc(struct mdi_matrix *w, int rows, int cols, const char *what);
void mdi_matrix_free(struct mdi_matrix *w);
/* Store rows [row0, row0+n) given row-major src[n][K] into the panels. */
void mdi_matrix_set_rows(struct mdi_matrix *w, int row0, int n, const float *src);
/* Copy row `row` (K values) out of the panels. */
void mdi_matrix_get_row(const struct mdi_matrix *w, int row, float *dst);

/* out[M][w->rows] = x[M][w->cols] . w^T */
void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M);
/* Plain triple loop on a row-major W[N][K]: the reference for tests. */
void mdi_matmul_ref(float *out, const float *x, const float *w, int M, int N, int K);

/* Threads used by the kernels of this process (OpenMP and BLIS). */
void mdi_matmul_set_threads(int n);
int mdi_matmul_threads(void);

/* BLIS sgemm on row-major W[N][K]: C[M][N] = A[M][K] . W^T.  Not
 * bit-identical across M; for benchmarks comparing kernels. */
void mdi_sgemm_blis(float *out, const float *x, const float *w, int M, int N, int K);

#endif

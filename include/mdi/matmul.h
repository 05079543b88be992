/* Linear layers: out[M][N] = x[M][K] . W[N][K]^T  (W row-major [out][in]).
 *
 * Every output element is computed by the same sequence of operations
 * whatever M, the row's position in the batch or the number of threads, so
 * a sequence gets bit-identical results alone or micro-batched with others:
 * the ring's results do not depend on the number of ranks, B or M.
 * matmul.c is the only file that includes blis.h. */
#ifndef MDI_MATMUL_H
#define MDI_MATMUL_H

#include <stddef.h>

enum mdi_matrix_type { MDI_MATRIX_F32 = 0 };

struct mdi_matrix {
  int rows, cols;            /* [out][in] */
  enum mdi_matrix_type type;
  float *data;               /* [rows][cols], 64-byte aligned */
};

static inline size_t mdi_matrix_bytes(const struct mdi_matrix *w) {
  return (size_t)w->rows * (size_t)w->cols * sizeof(float);
}

/* out[M][w->rows] = x[M][w->cols] . w^T  (optimized, deterministic per element) */
void mdi_matmul(float *out, const float *x, const struct mdi_matrix *w, int M);
/* Plain triple loop: the reference the optimized kernel is tested against. */
void mdi_matmul_ref(float *out, const float *x, const float *w, int M, int N, int K);

/* Threads used by the kernels of this process (OpenMP and BLIS). */
void mdi_matmul_set_threads(int n);
int mdi_matmul_threads(void);

/* BLIS sgemm (row-major, W transposed): C[M][N] = A[M][K] . W[N][K]^T.
 * Not bit-identical across M; used by benchmarks and kernel comparisons. */
void mdi_sgemm_blis(float *out, const float *x, const float *w, int M, int N, int K);

#endif

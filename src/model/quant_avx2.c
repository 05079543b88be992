/* The quantized kernels for AVX2 (quant_kernels.h). */
#include "quant_kernels.h"

mdi_qkernel_fn mdi_qkernel_avx2(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}

/* The arm64 build runs its NEON kernels: both quantized kernel sets exist
 * (the widening one on any ARMv8-A, sdot's with the dot-product extension,
 * which scripts/arm64-root.sh's -mcpu=cortex-a76 has), sdot's is the one in
 * use, and the x86 sets are absent.  test_quant compares each set with the
 * reference; this test makes sure there were NEON sets to compare. */
#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi_test.h"

int main(void) {
  printf("test_neon_isas: kernels in use: %s\n", mdi_matmul_isa_name());
  CHECK_STR(mdi_matmul_isa_name(), "neon-dotprod");
  CHECK(mdi_matmul_set_isa(MDI_ISA_NEON) == MDI_OK);
  CHECK_STR(mdi_matmul_isa_name(), "neon");
  CHECK(mdi_matmul_set_isa(MDI_ISA_NEON_DOTPROD) == MDI_OK);
  CHECK_STR(mdi_matmul_isa_name(), "neon-dotprod");
  CHECK(mdi_matmul_set_isa(MDI_ISA_AVX2) == MDI_ERR);
  CHECK(mdi_matmul_set_isa(MDI_ISA_AVX512) == MDI_ERR);
  CHECK(mdi_matmul_set_isa(MDI_ISA_AUTO) == MDI_OK);
  return mdi_test_finish("test_neon_isas");
}

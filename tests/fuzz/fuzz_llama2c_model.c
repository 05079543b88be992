/* Fuzz harness: the llama2.c checkpoint reader of `mdi_convert llama2c`
 * (convert_llama2c_locate: legacy and version 1 headers, the tensor layout,
 * the file size check).  Input: a checkpoint file.  Beyond crashes and
 * sanitizer reports it checks that every tensor of an accepted file lies
 * inside it. */
#include "convert.h"
#include "fuzz_util.h"
#include "mdi/base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_temp_file(data, size, ".bin");
  struct convert_input in;
  if (convert_input_open(&in, path) != MDI_OK) return 0;
  struct convert_model_src src;
  const char *format = NULL;
  if (convert_llama2c_locate(&in, &src, &format) == MDI_OK) {
    FUZZ_CHECK(format != NULL && src.in == &in);
    fuzz_check_located(&src);
  }
  free(src.layers);
  convert_input_close(&in);
  return 0;
}

/* Fuzz harness: the reader of llama2.c's tokenizer.bin
 * (convert_read_llama2c_tokenizer) and the tokenizer it builds.
 * Input: a little-endian uint16 vocabulary size (the model header gives it
 * in real use; the file does not store it), then the tokenizer.bin bytes.
 * An accepted tokenizer must encode and decode a text without a finding. */
#include <string.h>

#include "convert.h"
#include "fuzz_util.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const int vocab = data[0] | data[1] << 8;
  const char *path = fuzz_temp_file(data + 2, size - 2, ".bin");
  struct mdi_tokenizer t;
  if (convert_read_llama2c_tokenizer(&t, path, vocab) != MDI_OK) return 0;
  FUZZ_CHECK(t.vocab_size == vocab && t.bos_id == 1 && t.eos_id == 2);
  for (int i = 0; i < t.vocab_size; i++)
    FUZZ_CHECK(t.piece_lens[i] >= 0 && t.piece_lens[i] <= t.max_token_length &&
               strlen(t.pieces[i]) == (size_t)t.piece_lens[i]);
  static const char text[] = "Once upon a time, the <0x41> cat saw \xc3\xbc \xf0\x9f\x98\x80.\n";
  fuzz_check_roundtrip(&t, text, sizeof text - 1, 0);
  mdi_tokenizer_free(&t);
  return 0;
}

/* Fuzz harness: prompt encoding (mdi_tokenizer_encode) with the shipped
 * stories260K tokenizer, models/tok512.bin, read once at start-up (its path
 * is compiled in; MDI_FUZZ_TOKENIZER overrides it).
 * Input: the prompt bytes, as a -p argument or a prompt file line gives them.
 * Checks: invalid UTF-8 never encodes, every id is a token, and the decoded
 * ids give back the prompt when all its bytes are printable. */
#include "fuzz_util.h"
#include "mdi/model/tokenizer.h"

#ifndef MDI_FUZZ_TOKENIZER_PATH
#error "MDI_FUZZ_TOKENIZER_PATH: the path of models/tok512.bin (tests/fuzz/CMakeLists.txt)"
#endif

static struct mdi_tokenizer tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  fuzz_load_tokenizer(&tok, MDI_FUZZ_TOKENIZER_PATH, "fuzz_prompt_encode");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_check_roundtrip(&tok, (const char *)data, size, 1);
  return 0;
}

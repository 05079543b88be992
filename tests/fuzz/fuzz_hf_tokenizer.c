/* Fuzz harness: the reader of Hugging Face's tokenizer.json
 * (convert_read_hf_tokenizer_json) and the pipeline it builds.  Input: a
 * little-endian uint16 vocabulary size (config.json gives it in real use),
 * then the tokenizer.json bytes.  An accepted tokenizer must encode texts
 * in every mode into ids of the vocabulary, and decode them, whole and
 * token by token, into valid UTF-8 within decode's bound. */
#include <string.h>

#include "convert.h"
#include "fuzz_util.h"
#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "mdi/model/tokenizer.h"

static void check_text(const struct mdi_tokenizer *t, const char *text, size_t len) {
  static const unsigned modes[] = {0, MDI_ENCODE_SPECIAL, MDI_ENCODE_PARSE_SPECIAL,
                                   MDI_ENCODE_SPECIAL | MDI_ENCODE_PARSE_SPECIAL};
  const size_t cap = (size_t)t->max_token_length + 8; /* decode's bound */
  char *piece = malloc(cap);
  FUZZ_CHECK(piece);
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    struct mdi_ids ids = {0};
    const int ok = mdi_tokenizer_encode_text(t, text, len, modes[m], &ids) == MDI_OK;
    if (!mdi_utf8_valid(text, len)) FUZZ_CHECK(!ok);
    for (int i = 0; ok && i < ids.n; i++) {
      FUZZ_CHECK(ids.v[i] >= 0 && ids.v[i] < t->vocab_size);
      FUZZ_CHECK(mdi_tokenizer_decode(t, i > 0 ? ids.v[i - 1] : -1, ids.v[i], piece, cap) < cap);
    }
    for (int skip = 0; ok && skip < 2; skip++) {
      char *out = NULL;
      size_t n = 0;
      FUZZ_CHECK(mdi_tokenizer_decode_text(t, ids.v, ids.n, skip, &out, &n) == MDI_OK);
      FUZZ_CHECK(strlen(out) == n && mdi_utf8_valid(out, n));
      free(out);
    }
    mdi_ids_free(&ids);
  }
  free(piece);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const int vocab = data[0] | data[1] << 8;
  const char *path = fuzz_temp_file(data + 2, size - 2, ".json");
  const struct convert_hf_ids ids = {.bos_id = -1};
  struct mdi_tokenizer t;
  if (vocab < 1 || convert_read_hf_tokenizer_json(&t, path, vocab, &ids) != MDI_OK) return 0;
  FUZZ_CHECK(t.vocab_size == vocab && t.kind == MDI_TOKENIZER_HF);
  FUZZ_CHECK(t.bos_id >= 0 && t.bos_id < vocab && t.eos_id >= 0 && t.eos_id < vocab);
  static const char *const texts[] = {
      "Hello world, it's 2025!  <s> <|endoftext|> \xe2\x96\x81x",
      " caf\xc3\xa9 e\xcc\x81 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb\n\n\t1234567 \xef\xb7\xba",
      "",
      "\xff invalid",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) check_text(&t, texts[i], strlen(texts[i]));
  mdi_tokenizer_free(&t);
  return 0;
}

/* The tokenizers of the architecture fixtures (tests/data/archs) against
 * llama.cpp's prompt ids:
 *   test_fixture_tokenizers (--hf DIR | --gguf FILE) REFERENCE.json FORMAT
 * The Hugging Face directory's tokenizer (as mdi_convert hf reads it) or the
 * GGUF's (as mdi_convert gguf reads it) must encode every prompt text of
 * reference.json, with the special tokens the tokenizer adds, into exactly
 * the ids llama.cpp was given (make_refs.py checked that llama.cpp's own
 * tokenizer makes them); its BOS is reference.json's bos_id, its chat
 * template is recognised as FORMAT, and a conversation renders and encodes
 * with the template's special tokens as single tokens. */
#include <stdint.h>

#include "convert.h"
#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/chat.h"
#include "mdi/model/tokenizer.h"
#include "mdi_test.h"

static int load(const char *how, const char *path, struct mdi_tokenizer *t) {
  if (!strcmp(how, "--hf")) {
    const struct convert_hf_ids ids = {.bos_id = -1};
    return convert_read_hf_tokenizer(t, path, 464, &ids); /* every fixture's vocab_size is at most 464 */
  }
  struct gguf_file g;
  if (gguf_open(&g, path) != MDI_OK) return MDI_ERR;
  const struct gguf_kv *tokens = gguf_find_kv(&g, "tokenizer.ggml.tokens");
  int rc = tokens ? convert_gguf_read_tokenizer(&g, (int)tokens->count, t) : mdi_fail("%s: no tokens", path);
  gguf_close(&g);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 5 || (strcmp(argv[1], "--hf") && strcmp(argv[1], "--gguf"))) {
    fprintf(stderr, "usage: %s (--hf DIR | --gguf FILE) REFERENCE.json FORMAT\n", argv[0]);
    return 2;
  }
  mdi_log_set_quiet(1);
  struct mdi_json_doc *doc;
  struct mdi_tokenizer t;
  if (mdi_json_parse_file(&doc, argv[3], 1 << 26) != MDI_OK || load(argv[1], argv[2], &t) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  const struct mdi_json *root = mdi_json_root(doc);
  int n = 0;
  for (const struct mdi_json *p = mdi_json_first(mdi_json_get(root, "prompts")); p; p = mdi_json_next(p), n++) {
    const char *text = mdi_json_string(mdi_json_get(p, "text"));
    struct mdi_ids ids = {0};
    CHECK_EQ_INT(mdi_tokenizer_encode_text(&t, text, strlen(text), MDI_ENCODE_SPECIAL, &ids), MDI_OK);
    int same = mdi_json_count(mdi_json_get(p, "ids")) == ids.n, i = 0;
    for (const struct mdi_json *e = mdi_json_first(mdi_json_get(p, "ids")); e && same; e = mdi_json_next(e), i++) {
      int64_t id;
      same = mdi_json_int(e, 0, 1 << 30, &id) && id == ids.v[i];
    }
    if (!same) {
      fprintf(stderr, "%s: prompt %d \"%s\" encodes to", argv[2], n, text);
      for (i = 0; i < ids.n; i++) fprintf(stderr, " %d", ids.v[i]);
      fprintf(stderr, "\n");
      mdi_test_failures++;
    }
    mdi_ids_free(&ids);
  }
  CHECK_EQ_INT(n, 3);
  int64_t bos;
  CHECK(mdi_json_int(mdi_json_get(root, "bos_id"), 0, 1 << 30, &bos) && bos == t.bos_id);
  CHECK_STR(t.chat_format, argv[4]);
  /* a rendered conversation: the template's control tokens are single ids */
  struct mdi_chat_message m[2] = {{"user", "Hello there"}, {"assistant", "Hi!"}};
  char *text = NULL;
  CHECK_EQ_INT(mdi_chat_render(t.chat_format, t.chat_bos, t.chat_eos, m, 2, NULL, &text), MDI_OK);
  struct mdi_ids ids = {0}, raw = {0};
  CHECK_EQ_INT(mdi_tokenizer_encode_text(&t, text, strlen(text), MDI_ENCODE_PARSE_SPECIAL, &ids), MDI_OK);
  CHECK_EQ_INT(mdi_tokenizer_encode_text(&t, text, strlen(text), 0, &raw), MDI_OK);
  int specials = 0;
  for (int i = 0; i < ids.n; i++) specials += mdi_tokenizer_is_special(&t, ids.v[i]);
  CHECK(specials > 0 && ids.n < raw.n); /* as text they take several pieces each */
  char *back = NULL;
  size_t len;
  CHECK_EQ_INT(mdi_tokenizer_decode_text(&t, ids.v, ids.n, 0, &back, &len), MDI_OK);
  CHECK(back && strstr(back, "Hello there") != NULL);
  printf("%s %s: 3 prompts as llama.cpp encodes them, chat %s (%d tokens, %d special)\n", argv[1], argv[2],
         t.chat_format, ids.n, specials);
  free(back);
  free(text);
  mdi_ids_free(&ids);
  mdi_ids_free(&raw);
  mdi_tokenizer_free(&t);
  mdi_json_free(doc);
  return mdi_test_finish("test_fixture_tokenizers");
}

/* The tokenizer of a GGUF file, from its tokenizer.ggml.* metadata (see
 * convert.h, convert_gguf_read_tokenizer): today the SentencePiece-style
 * vocabulary ('llama') of llama2.c-family models.  The tensors and the
 * model's hyperparameters are convert_gguf.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

/* SentencePiece's word-boundary mark U+2581, stored by llama2.c as ' '. */
static const char SPM_SPACE[] = "\xe2\x96\x81";

struct pieces {
  const char *path;
  uint8_t *bytes; /* all pieces, back to back */
  size_t len, cap;
  int64_t *offsets; /* [vocab+1] */
};

/* Append one token, with U+2581 spelled ' ' as in llama2.c's tokenizer.bin. */
static int add_piece(void *ctx, int64_t i, const char *s, size_t len) {
  struct pieces *p = ctx;
  if (p->len + len > p->cap) { /* len bytes suffice: U+2581 -> ' ' only shrinks */
    size_t want = p->cap ? p->cap : 4096;
    while (want < p->len + len) want *= 2;
    uint8_t *b = realloc(p->bytes, want);
    if (!b) return mdi_fail("out of memory: cannot allocate %zu bytes for tokenizer pieces", want);
    p->bytes = b;
    p->cap = want;
  }
  if (memchr(s, 0, len)) return mdi_fail("%s: token %lld contains a NUL byte", p->path, (long long)i);
  for (size_t k = 0; k < len;) {
    if (k + 3 <= len && memcmp(s + k, SPM_SPACE, 3) == 0) {
      p->bytes[p->len++] = ' ';
      k += 3;
    } else {
      p->bytes[p->len++] = (uint8_t)s[k++];
    }
  }
  p->offsets[i + 1] = (int64_t)p->len;
  return 0;
}

static int special_id(struct gguf_file *g, const char *key, int fallback, int *out) {
  int64_t v;
  int found = gguf_get_int(g, key, &v);
  if (found < 0) return MDI_ERR;
  if (!found) {
    mdi_log_info("note: %s: %s is missing, using %d", g->in.path, key, fallback);
    v = fallback;
  }
  *out = v < -1 || v > 0x7fffffff ? -1 : (int)v; /* mdi_tokenizer_init checks the range */
  return MDI_OK;
}

int convert_gguf_read_tokenizer(struct gguf_file *g, int vocab, struct mdi_tokenizer *t) {
  char model[64];
  int found = gguf_get_string(g, "tokenizer.ggml.model", model, sizeof model);
  if (found < 0) return MDI_ERR;
  if (found && strcmp(model, "llama") != 0)
    return mdi_fail("%s: tokenizer model '%s' is not supported (only 'llama', SentencePiece BPE)",
                    g->in.path, model);
  const struct gguf_kv *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens");
  const struct gguf_kv *scores_kv = gguf_find_kv(g, "tokenizer.ggml.scores");
  if (!scores_kv) return mdi_fail("%s: metadata tokenizer.ggml.scores is missing", g->in.path);
  if (scores_kv->count != vocab)
    return mdi_fail("%s: tokenizer.ggml.scores has %lld entries but tokenizer.ggml.tokens has %d",
                    g->in.path, (long long)scores_kv->count, vocab);
  int bos, eos;
  if (special_id(g, "tokenizer.ggml.bos_token_id", 1, &bos) != MDI_OK ||
      special_id(g, "tokenizer.ggml.eos_token_id", 2, &eos) != MDI_OK)
    return MDI_ERR;
  struct pieces p = {.path = g->in.path};
  float *scores = mdi_malloc((size_t)vocab * sizeof *scores, "tokenizer scores");
  p.offsets = mdi_malloc(((size_t)vocab + 1) * sizeof *p.offsets, "tokenizer offsets");
  int rc = MDI_ERR;
  if (!scores || !p.offsets) goto done;
  p.offsets[0] = 0;
  if (gguf_read_f32_array(g, scores_kv, scores) != MDI_OK ||
      gguf_read_string_array(g, tokens, add_piece, &p) != MDI_OK)
    goto done;
  /* stop at BOS and EOS, as for llama2.c models: llama2.c-trained models end
   * a text with BOS; EOS is what llama.cpp stops at */
  const int stop[2] = {bos, eos};
  static const uint8_t none = 0;
  rc = mdi_tokenizer_init(t, vocab, scores, p.bytes ? p.bytes : &none, p.offsets, bos, eos, stop,
                          bos == eos ? 1 : 2, g->in.path);
done:
  free(p.bytes);
  free(p.offsets);
  free(scores);
  return rc;
}

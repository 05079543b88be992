/* Reader of llama2.c's tokenizer.bin (the file run.c's build_tokenizer reads).
 *
 * Layout, little-endian:
 *   int32 max_token_length
 *   vocab_size times: float32 score, int32 len, len bytes (no NUL)
 * The file does not store its vocabulary size: run.c takes it from the
 * model header, and so do we.  Trailing bytes after the last token mean the
 * tokenizer belongs to another model, which is an error here (run.c would
 * silently decode with the wrong pieces). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

/* Longest piece a tokenizer.bin may declare; real ones stay below 64. */
#define MAX_TOKEN_LENGTH (1 << 16)

/* llama2.c's fixed special ids (run.c stops at BOS; EOS stops as well). */
#define LLAMA2C_BOS 1
#define LLAMA2C_EOS 2

/* Append n bytes to a growing byte buffer. */
static int append_bytes(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *src, size_t n) {
  if (n == 0) return MDI_OK; /* an empty piece: *buf may still be NULL */
  if (*len + n > *cap) {
    size_t want = *cap ? *cap : 4096;
    while (want < *len + n) want *= 2;
    uint8_t *p = realloc(*buf, want);
    if (!p) return mdi_fail("out of memory: cannot allocate %zu bytes for tokenizer pieces", want);
    *buf = p;
    *cap = want;
  }
  memcpy(*buf + *len, src, n);
  *len += n;
  return MDI_OK;
}

static int truncated(const struct convert_input *in, int token, int vocab_size) {
  return mdi_fail("%s: truncated tokenizer: the file (%lld bytes) ends inside token %d of the "
                  "model's %d", in->path, (long long)in->size, token, vocab_size);
}

/* Read the tokens into scores[vocab], offsets[vocab+1] and *bytes. */
static int read_tokens(struct convert_input *in, int vocab_size, int max_len, float *scores,
                       int64_t *offsets, uint8_t **bytes) {
  size_t len = 0, cap = 0;
  uint8_t piece[MAX_TOKEN_LENGTH];
  offsets[0] = 0;
  for (int i = 0; i < vocab_size; i++) {
    char what[64];
    snprintf(what, sizeof what, "token %d of %d", i, vocab_size);
    int32_t n;
    if (convert_input_left(in) < 8) return truncated(in, i, vocab_size);
    if (convert_input_read(in, &scores[i], 4, what) != MDI_OK ||
        convert_input_read(in, &n, 4, what) != MDI_OK)
      return MDI_ERR;
    if (isnan(scores[i])) return mdi_fail("%s: token %d has score NaN", in->path, i);
    if (n < 0 || n > max_len)
      return mdi_fail("%s: token %d has length %d, outside [0, max_token_length %d]", in->path, i,
                      (int)n, max_len);
    if (convert_input_left(in) < n) return truncated(in, i, vocab_size);
    if (convert_input_read(in, piece, (size_t)n, what) != MDI_OK) return MDI_ERR;
    if (memchr(piece, 0, (size_t)n))
      return mdi_fail("%s: token %d contains a NUL byte", in->path, i);
    if (append_bytes(bytes, &len, &cap, piece, (size_t)n) != MDI_OK) return MDI_ERR;
    offsets[i + 1] = (int64_t)len;
  }
  return MDI_OK;
}

int convert_read_llama2c_tokenizer(struct mdi_tokenizer *t, const char *path, int vocab_size) {
  struct convert_input in;
  if (convert_input_open(&in, path) != MDI_OK) return MDI_ERR;
  float *scores = NULL;
  int64_t *offsets = NULL;
  uint8_t *bytes = NULL;
  int rc = MDI_ERR;
  int32_t max_len;
  if (convert_input_read(&in, &max_len, 4, "max_token_length") != MDI_OK) {
    mdi_fail_context("%s: not a llama2.c tokenizer", path);
    goto done;
  }
  if (max_len < 1 || max_len > MAX_TOKEN_LENGTH) {
    mdi_fail("%s: max_token_length = %d is absurd (expected 1..%d): not a llama2.c tokenizer?",
             path, (int)max_len, MAX_TOKEN_LENGTH);
    goto done;
  }
  /* every token takes at least 8 bytes: refuse before allocating */
  if ((int64_t)vocab_size * 8 > convert_input_left(&in)) {
    mdi_fail("%s: file is %lld bytes, too short for the model's %d tokens (at least %lld bytes)",
             path, (long long)in.size, vocab_size, 4 + (long long)vocab_size * 8);
    goto done;
  }
  scores = mdi_malloc((size_t)vocab_size * sizeof *scores, "tokenizer scores");
  offsets = mdi_malloc(((size_t)vocab_size + 1) * sizeof *offsets, "tokenizer offsets");
  if (!scores || !offsets) goto done;
  if (read_tokens(&in, vocab_size, max_len, scores, offsets, &bytes) != MDI_OK) goto done;
  if (convert_input_left(&in) != 0) {
    mdi_fail("%s: %lld bytes follow the model's %d tokens: tokenizer of another model?", path,
             (long long)convert_input_left(&in), vocab_size);
    goto done;
  }
  if (vocab_size <= LLAMA2C_EOS) {
    mdi_fail("%s: %d tokens leave no room for BOS (id 1) and EOS (id 2)", path, vocab_size);
    goto done;
  }
  const int stop[2] = {LLAMA2C_BOS, LLAMA2C_EOS};
  static const uint8_t none = 0; /* piece_bytes must not be NULL when every piece is empty */
  if (mdi_tokenizer_init(t, vocab_size, scores, bytes ? bytes : &none, offsets, LLAMA2C_BOS,
                         LLAMA2C_EOS, stop, 2, path) != MDI_OK)
    goto done;
  /* t->max_token_length is the longest piece, which is what the model file
   * records; the declared bound only served to reject absurd lengths */
  rc = MDI_OK;
done:
  free(scores);
  free(offsets);
  free(bytes);
  convert_input_close(&in);
  return rc;
}

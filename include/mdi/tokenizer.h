/* SentencePiece-style BPE tokenizer with byte fallback, as llama2.c uses it.
 *
 * In the model file it is the group /tokenizer (docs/FORMAT.md):
 *   scores        float32 [vocab]
 *   piece_offsets int64   [vocab+1]   piece i = piece_bytes[off[i] .. off[i+1])
 *   piece_bytes   uint8   [total]     raw bytes, no NUL terminators
 *   stop_ids      int32   [n_stop]    generation stops when one is sampled
 *   attributes: bos_id, eos_id, max_token_length
 */
#ifndef MDI_TOKENIZER_H
#define MDI_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct mdi_h5;
struct mdi_h5w;

#define MDI_MAX_STOP_IDS 16

struct mdi_tokenizer {
  int vocab_size;
  char **pieces;          /* [vocab] NUL-terminated copies (pieces hold no NUL) */
  int *piece_lens;        /* [vocab] */
  float *scores;          /* [vocab] merge scores: higher merges first */
  int *sorted_ids;        /* [vocab] ids sorted by piece bytes, for lookup */
  int byte_ids[256];      /* id of the piece "<0xNN>" for byte NN, -1 if absent */
  int bos_id, eos_id;
  int stop_ids[MDI_MAX_STOP_IDS];
  int n_stop;
  int max_token_length;
};

/* Build from raw arrays (copies everything).  `pieces_bytes`/`offsets` as in
 * the file.  Validates ids and lengths; `source` names the origin in errors. */
int mdi_tokenizer_init(struct mdi_tokenizer *t, int vocab_size, const float *scores,
                       const uint8_t *piece_bytes, const int64_t *offsets, int bos_id,
                       int eos_id, const int *stop_ids, int n_stop, const char *source);
/* Read the /tokenizer group of an open model file. */
int mdi_tokenizer_load(struct mdi_tokenizer *t, struct mdi_h5 *f);
/* Write t as the /tokenizer group. */
int mdi_tokenizer_save(const struct mdi_tokenizer *t, struct mdi_h5w *w);
void mdi_tokenizer_free(struct mdi_tokenizer *t);

/* Encode UTF-8 text as llama2.c does: optional BOS, a dummy-prefix space when
 * the text is not empty, each code point looked up (bytes fall back to
 * <0xNN>), then greedy merges of the best-scoring pair.  `ids` must hold
 * len + 3 entries.  Fails (message set) on invalid UTF-8 or NUL bytes. */
int mdi_tokenizer_encode(const struct mdi_tokenizer *t, const char *text, size_t len, int add_bos,
                         int add_eos, int *ids, int *n_ids);

/* The bytes printed for `token` following `prev` (llama2.c decode +
 * safe_printf): the leading space is dropped after BOS, "<0xNN>" pieces
 * become the raw byte, and a single unprintable byte prints nothing.
 * Returns the number of bytes written to out (out holds >= max_token_length+1;
 * 8 + max_token_length is always enough). */
size_t mdi_tokenizer_decode(const struct mdi_tokenizer *t, int prev, int token, char *out,
                            size_t cap);

/* 1 if id is one of the stop ids. */
int mdi_tokenizer_is_stop(const struct mdi_tokenizer *t, int id);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates) with no NUL. */
int mdi_utf8_valid(const char *s, size_t len);

#endif

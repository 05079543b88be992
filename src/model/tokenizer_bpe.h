/* Byte-level BPE inside the tokenizer module: what tokenizer.c calls in
 * tokenizer_bpe.c for a tokenizer of kind "byte-bpe" (not a public API). */
#ifndef MDI_TOKENIZER_BPE_H
#define MDI_TOKENIZER_BPE_H

#include <stddef.h>

#include "mdi/model/tokenizer.h"

/* Append the ids of valid UTF-8 text[0..len) to ids (from ids[*n]; at most
 * len more): pre-tokenize, then merge each piece's bytes by rank. */
int mdi_bpe_encode(const struct mdi_tokenizer *t, const char *text, size_t len, int *ids, int *n);

/* The bytes piece `token` stands for, NUL-terminated in out[cap]; returns
 * their count (never more than the piece's length). */
size_t mdi_bpe_decode(const struct mdi_tokenizer *t, int token, char *out, size_t cap);

#endif

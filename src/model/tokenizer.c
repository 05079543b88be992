/* The tokenizer (include/mdi/tokenizer.h): construction, the /tokenizer
 * group, and the SentencePiece-style BPE; the byte-level BPE of GPT-2 lives
 * in tokenizer_bpe.c.
 *
 * The sentencepiece kind follows llama2.c's run.c (encode, decode,
 * safe_printf) so that prompts give the same token ids and generated ids
 * print the same bytes.  Pieces are compared as byte strings with memcmp; as
 * they never contain NUL this is the order strcmp gives, which run.c uses
 * for its lookup.
 */
#include "mdi/model/tokenizer.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "mdi/model/weights.h"
#include "tokenizer_bpe.h"
#include "tokenizer_hf.h"

/* "<0xNN>" is 6 bytes */
#define BYTE_PIECE_LEN 6

static const char *source_name(const char *source) { return source ? source : "tokenizer"; }

static uint32_t bytes_hash(const char *s, int len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (int i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* Id of the piece equal to s[0..len), or -1; a piece listed twice resolves
 * to its lowest id (the one inserted first). */
static int piece_lookup(const struct mdi_tokenizer *t, const char *s, int len) {
  for (uint32_t i = bytes_hash(s, len) & t->piece_mask;; i = (i + 1) & t->piece_mask) {
    const int id = t->piece_slots[i];
    if (id < 0) return -1;
    if (t->piece_lens[id] == len && memcmp(t->pieces[id], s, (size_t)len) == 0) return id;
  }
}

int mdi_tokenizer_lookup(const struct mdi_tokenizer *t, const char *s, int len) {
  return piece_lookup(t, s, len);
}

const char *mdi_tokenizer_kind_name(enum mdi_tokenizer_kind kind) {
  return kind == MDI_TOKENIZER_HF ? "hf" : kind == MDI_TOKENIZER_BYTE_BPE ? "byte-bpe" : "sentencepiece";
}

/* ---- construction ------------------------------------------------------ */

/* Offsets start at 0, never decrease, and give pieces of at most
 * MDI_MAX_PIECE_BYTES bytes without NUL.  The caller guarantees that
 * piece_bytes holds offsets[vocab] bytes. */
static int check_pieces(int vocab, const uint8_t *piece_bytes, const int64_t *offsets,
                        const char *src) {
  if (offsets[0] != 0)
    return mdi_fail("%s: tokenizer piece_offsets[0] is %lld, expected 0", src,
                    (long long)offsets[0]);
  for (int i = 0; i < vocab; i++) {
    int64_t len = offsets[i + 1] - offsets[i];
    if (len < 0)
      return mdi_fail("%s: tokenizer piece_offsets decrease at piece %d (%lld then %lld)", src, i,
                      (long long)offsets[i], (long long)offsets[i + 1]);
    if (len > MDI_MAX_PIECE_BYTES)
      return mdi_fail("%s: tokenizer piece %d is %lld bytes long (at most %d allowed)", src, i,
                      (long long)len, MDI_MAX_PIECE_BYTES);
    const uint8_t *nul = memchr(piece_bytes + offsets[i], 0, (size_t)len);
    if (nul)
      return mdi_fail("%s: tokenizer piece %d contains a NUL byte (piece_bytes[%lld])", src, i,
                      (long long)(nul - piece_bytes));
  }
  return MDI_OK;
}

static int check_ids(int vocab, const float *scores, int bos_id, int eos_id, const int *stop_ids,
                     int n_stop, const char *src) {
  for (int i = 0; i < vocab; i++)
    if (isnan(scores[i])) return mdi_fail("%s: tokenizer scores[%d] is not a number", src, i);
  if (bos_id < 0 || bos_id >= vocab)
    return mdi_fail("%s: tokenizer bos_id %d is outside the vocabulary [0, %d)", src, bos_id,
                    vocab);
  if (eos_id < 0 || eos_id >= vocab)
    return mdi_fail("%s: tokenizer eos_id %d is outside the vocabulary [0, %d)", src, eos_id,
                    vocab);
  if (n_stop < 0 || n_stop > MDI_MAX_STOP_IDS)
    return mdi_fail("%s: tokenizer has %d stop_ids (0 to %d allowed)", src, n_stop,
                    MDI_MAX_STOP_IDS);
  for (int i = 0; i < n_stop; i++)
    if (stop_ids[i] < 0 || stop_ids[i] >= vocab)
      return mdi_fail("%s: tokenizer stop_ids[%d] = %d is outside the vocabulary [0, %d)", src, i,
                      stop_ids[i], vocab);
  return MDI_OK;
}

/* Allocate the per-piece arrays; on failure the caller frees what exists. */
static int alloc_arrays(struct mdi_tokenizer *t, int vocab, int64_t total_bytes) {
  t->pieces = mdi_calloc((size_t)vocab, sizeof *t->pieces, "tokenizer pieces");
  t->piece_lens = mdi_malloc((size_t)vocab * sizeof *t->piece_lens, "tokenizer piece lengths");
  t->scores = mdi_malloc((size_t)vocab * sizeof *t->scores, "tokenizer scores");
  /* all pieces live in one block, each followed by its NUL; pieces[0] is
   * the block's start, which is what mdi_tokenizer_free releases */
  char *text = mdi_malloc((size_t)total_bytes + (size_t)vocab, "tokenizer piece text");
  if (t->pieces) t->pieces[0] = text;
  if (!t->pieces || !t->piece_lens || !t->scores || !text) {
    if (!t->pieces) free(text);
    return MDI_ERR;
  }
  return MDI_OK;
}

/* The open-addressing table of piece_lookup: load factor at most 1/2. */
static int build_piece_slots(struct mdi_tokenizer *t) {
  uint32_t cap = 16;
  while (cap < 2u * (uint32_t)t->vocab_size) cap *= 2;
  t->piece_slots = mdi_malloc((size_t)cap * sizeof *t->piece_slots, "tokenizer piece table");
  if (!t->piece_slots) return MDI_ERR;
  t->piece_mask = cap - 1;
  for (uint32_t i = 0; i < cap; i++) t->piece_slots[i] = -1;
  for (int id = 0; id < t->vocab_size; id++)
    if (piece_lookup(t, t->pieces[id], t->piece_lens[id]) < 0)
      for (uint32_t i = bytes_hash(t->pieces[id], t->piece_lens[id]) & t->piece_mask;; i = (i + 1) & t->piece_mask)
        if (t->piece_slots[i] < 0) {
          t->piece_slots[i] = id;
          break;
        }
  return MDI_OK;
}

/* byte_ids[b] = id of "<0xBB>" (upper-case hex, as SentencePiece writes them). */
static void build_byte_ids(struct mdi_tokenizer *t) {
  for (int b = 0; b < 256; b++) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    t->byte_ids[b] = piece_lookup(t, name, BYTE_PIECE_LEN);
  }
}

int mdi_tokenizer_init(struct mdi_tokenizer *t, int vocab_size, const float *scores,
                       const uint8_t *piece_bytes, const int64_t *offsets, int bos_id,
                       int eos_id, const int *stop_ids, int n_stop, const char *source) {
  const char *src = source_name(source);
  memset(t, 0, sizeof *t);
  if (vocab_size < 1 || vocab_size > INT_MAX - 1)
    return mdi_fail("%s: tokenizer vocab_size %d is out of range", src, vocab_size);
  if (check_pieces(vocab_size, piece_bytes, offsets, src) != MDI_OK ||
      check_ids(vocab_size, scores, bos_id, eos_id, stop_ids, n_stop, src) != MDI_OK)
    return MDI_ERR;
  if (alloc_arrays(t, vocab_size, offsets[vocab_size]) != MDI_OK) goto fail;
  t->vocab_size = vocab_size;
  char *text = t->pieces[0];
  for (int i = 0; i < vocab_size; i++) {
    int len = (int)(offsets[i + 1] - offsets[i]);
    memcpy(text, piece_bytes + offsets[i], (size_t)len);
    text[len] = '\0';
    t->pieces[i] = text;
    t->piece_lens[i] = len;
    if (len > t->max_token_length) t->max_token_length = len;
    text += len + 1;
  }
  memcpy(t->scores, scores, (size_t)vocab_size * sizeof *scores);
  if (build_piece_slots(t) != MDI_OK) goto fail;
  build_byte_ids(t);
  t->bos_id = bos_id;
  t->eos_id = eos_id;
  t->n_stop = n_stop;
  for (int i = 0; i < n_stop; i++) t->stop_ids[i] = stop_ids[i];
  t->kind = MDI_TOKENIZER_SENTENCEPIECE;
  t->add_bos = 1;
  return MDI_OK;
fail:
  mdi_fail_context("%s: building the tokenizer", src);
  mdi_tokenizer_free(t);
  return MDI_ERR;
}

void mdi_tokenizer_free(struct mdi_tokenizer *t) {
  if (!t) return;
  if (t->pieces) free(t->pieces[0]); /* the block holding every piece */
  free(t->pieces);
  free(t->piece_lens);
  free(t->scores);
  free(t->piece_slots);
  free(t->merges);
  free(t->merge_table);
  mdi_hf_pipeline_free(t->hf);
  free(t->chat_template);
  free(t->special_ids);
  memset(t, 0, sizeof *t);
}

/* ---- encode -------------------------------------------------------------- */

/* Append the id of one code point s[0..len), or its bytes' <0xNN> ids. */
static int push_code_point(const struct mdi_tokenizer *t, const char *s, int len, size_t offset,
                           struct bpe_work *w) {
  int id = piece_lookup(t, s, len);
  if (id >= 0) {
    bpe_work_add(w, id, len);
    return MDI_OK;
  }
  for (int i = 0; i < len; i++) {
    unsigned char b = (unsigned char)s[i];
    if (t->byte_ids[b] < 0)
      return mdi_fail("cannot encode byte 0x%02X at byte offset %zu: the vocabulary has neither "
                      "the character nor the piece <0x%02X>", b, offset + (size_t)i, b);
    bpe_work_add(w, t->byte_ids[b], 1);
  }
  return MDI_OK;
}

/* run.c's merge rule: the adjacent pair whose concatenation is a piece with
 * the highest score merges (strictly above -1e10; the leftmost of equal
 * scores).  As a priority queue this gives what run.c's rescans give. */
static int pair_llama2c(const struct mdi_tokenizer *t, struct bpe_work *w, int a, int b, uint32_t *key,
                        int *new_id) {
  const int la = t->piece_lens[a], lb = t->piece_lens[b];
  if (la + lb > t->max_token_length) return 0; /* longer than every piece */
  if (w->cap_buf < (size_t)(la + lb)) {
    w->cap_buf = 2 * (size_t)(la + lb);
    w->buf = mdi_xrealloc(w->buf, w->cap_buf, "tokenizer merge buffer");
  }
  memcpy(w->buf, t->pieces[a], (size_t)la);
  memcpy(w->buf + la, t->pieces[b], (size_t)lb);
  const int id = piece_lookup(t, w->buf, la + lb);
  if (id < 0 || !(t->scores[id] > -1e10f)) return 0;
  *key = bpe_score_key(t->scores[id]);
  *new_id = id;
  return 1;
}

static int encode_llama2c(const struct mdi_tokenizer *t, const char *text, size_t len, int add_bos,
                          struct mdi_ids *out) {
  struct bpe_work w = {0};
  int rc = MDI_ERR;
  if (add_bos) bpe_work_add(&w, t->bos_id, 1);
  /* SentencePiece's dummy prefix: a space before non-empty text, looked up
   * like any other code point */
  if (len > 0 && push_code_point(t, " ", 1, 0, &w) != MDI_OK) goto done;
  for (size_t i = 0; i < len;) {
    int cl = mdi_utf8_seq_len((unsigned char)text[i]);
    if (push_code_point(t, text + i, cl, i, &w) != MDI_OK) goto done;
    i += (size_t)cl;
  }
  /* like run.c, BOS takes part in the merges (no tok512 piece starts with it) */
  bpe_merge(t, &w, pair_llama2c, out);
  rc = MDI_OK;
done:
  bpe_work_free(&w);
  return rc;
}

static int check_text(const char *text, size_t len) {
  size_t bad = mdi_utf8_bad_offset(text, len);
  if (bad < len) {
    if (text[bad] == '\0')
      return mdi_fail("text is not valid UTF-8: NUL byte at byte offset %zu", bad);
    return mdi_fail("text is not valid UTF-8: bad byte 0x%02X at byte offset %zu",
                    (unsigned char)text[bad], bad);
  }
  return MDI_OK;
}

int mdi_tokenizer_set_special(struct mdi_tokenizer *t, const int *ids, int n, const char *source) {
  for (int i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= t->vocab_size || t->piece_lens[ids[i]] == 0)
      return mdi_fail("%s: special token id %d is outside the vocabulary [0, %d) or has no piece",
                      source ? source : "tokenizer", ids[i], t->vocab_size);
  free(t->special_ids);
  t->special_ids = mdi_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ids, "special tokens");
  memcpy(t->special_ids, ids, (size_t)n * sizeof *ids);
  t->n_special = n;
  return MDI_OK;
}

/* The longest special token's piece at text[i..len) (BOS, EOS and
 * special_ids), or -1. */
static int special_at(const struct mdi_tokenizer *t, const char *text, size_t len, size_t i) {
  int best = -1;
  for (int k = -2; k < t->n_special; k++) {
    const int id = k == -2 ? t->bos_id : k == -1 ? t->eos_id : t->special_ids[k], n = t->piece_lens[id];
    if (n == 0) continue;
    if ((size_t)n <= len - i && text[i] == t->pieces[id][0] && !memcmp(text + i, t->pieces[id], (size_t)n) &&
        (best < 0 || n > t->piece_lens[best]))
      best = id;
  }
  return best;
}

/* llama2.c's encoder on each piece of text between special tokens (the
 * leftmost-longest matches of special_ids), each piece with its dummy-prefix
 * space, as llama.cpp splits a SentencePiece prompt around its control tokens. */
static int encode_llama2c_special(const struct mdi_tokenizer *t, const char *text, size_t len, int add_bos,
                                  struct mdi_ids *out) {
  if (add_bos) mdi_ids_push(out, t->bos_id);
  size_t from = 0;
  for (size_t i = 0; i <= len;) {
    const int id = i < len ? special_at(t, text, len, i) : -1;
    if (id < 0 && i < len) {
      i++;
      continue;
    }
    if (i > from && encode_llama2c(t, text + from, i - from, 0, out) != MDI_OK) return MDI_ERR;
    if (id < 0) break;
    mdi_ids_push(out, id);
    i += (size_t)t->piece_lens[id];
    from = i;
  }
  return MDI_OK;
}

int mdi_tokenizer_encode_text(const struct mdi_tokenizer *t, const char *text, size_t len, unsigned flags,
                              struct mdi_ids *out) {
  if (check_text(text, len) != MDI_OK) return MDI_ERR;
  switch (t->kind) {
    case MDI_TOKENIZER_HF:
      return mdi_hf_encode(t, text, len, flags, out);
    case MDI_TOKENIZER_BYTE_BPE:
      if ((flags & MDI_ENCODE_SPECIAL) && t->add_bos) mdi_ids_push(out, t->bos_id);
      return mdi_hf_encode(t, text, len, 0, out);
    case MDI_TOKENIZER_SENTENCEPIECE:
      break;
  }
  const int add_bos = (flags & MDI_ENCODE_SPECIAL) && t->add_bos;
  if (flags & MDI_ENCODE_PARSE_SPECIAL) return encode_llama2c_special(t, text, len, add_bos, out);
  return encode_llama2c(t, text, len, add_bos, out);
}

int mdi_tokenizer_encode(const struct mdi_tokenizer *t, const char *text, size_t len, int add_bos,
                         int add_eos, int *ids, int *n_ids) {
  *n_ids = 0;
  struct mdi_ids l = {0};
  int rc = check_text(text, len);
  if (rc == MDI_OK && t->kind == MDI_TOKENIZER_SENTENCEPIECE) {
    rc = encode_llama2c(t, text, len, add_bos, &l);
  } else if (rc == MDI_OK) {
    if (add_bos) mdi_ids_push(&l, t->bos_id);
    rc = mdi_hf_encode(t, text, len, 0, &l);
  }
  if (rc == MDI_OK && add_eos) mdi_ids_push(&l, t->eos_id);
  if (rc == MDI_OK && (size_t)l.n > len + 3)
    rc = mdi_fail("the text's %d tokens exceed the %zu ids this call can return", l.n, len + 3);
  if (rc == MDI_OK) {
    if (l.n) memcpy(ids, l.v, (size_t)l.n * sizeof *ids);
    *n_ids = l.n;
  }
  mdi_ids_free(&l);
  return rc;
}

int mdi_tokenizer_is_special(const struct mdi_tokenizer *t, int id) {
  if (id < 0 || id >= t->vocab_size) return 0;
  if (t->kind == MDI_TOKENIZER_HF) return t->hf->added_of_id[id] >= 0 && t->hf->added[t->hf->added_of_id[id]].special;
  for (int i = 0; i < t->n_special; i++)
    if (t->special_ids[i] == id) return 1;
  return id == t->bos_id || id == t->eos_id;
}

/* ---- decode -------------------------------------------------------------- */

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The byte NN of a "<0xNN>" piece, or -1 for any other piece. */
static int byte_piece_value(const char *p, int len) {
  if (len != BYTE_PIECE_LEN || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
  int hi = hex_digit(p[3]), lo = hex_digit(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* safe_printf's test in the "C" locale (isprint || isspace), independent of
 * the process locale.  Bytes >= 0x80 also pass: they are pieces of UTF-8
 * characters that arrive one byte token at a time, and dropping them would
 * lose every non-ASCII character that falls back to bytes. */
static int byte_printable(unsigned char b) {
  return (b >= 0x20 && b <= 0x7E) || (b >= 0x09 && b <= 0x0D) || b >= 0x80;
}

size_t mdi_tokenizer_decode(const struct mdi_tokenizer *t, int prev, int token, char *out,
                            size_t cap) {
  MDI_ASSERT(token >= 0 && token < t->vocab_size);
  const char *p = t->pieces[token];
  int len = t->piece_lens[token];
  if (t->kind == MDI_TOKENIZER_HF) return mdi_hf_decode_piece(t, prev, token, out, cap);
  if (t->kind == MDI_TOKENIZER_BYTE_BPE) {
    size_t n = mdi_bpe_decode(t, token, out, cap);
    if (n == 1 && !byte_printable((unsigned char)out[0])) out[n = 0] = '\0';
    return n;
  }
  /* SentencePiece strips the dummy-prefix space of the first piece */
  if (prev == t->bos_id && len > 0 && p[0] == ' ') p++, len--;
  char byte;
  int value = byte_piece_value(p, len);
  if (value >= 0) {
    byte = (char)value;
    p = &byte;
    len = 1;
  }
  if (len == 1 && !byte_printable((unsigned char)p[0])) len = 0;
  MDI_ASSERT((size_t)len < cap);
  memcpy(out, p, (size_t)len);
  out[len] = '\0';
  return (size_t)len;
}


int mdi_tokenizer_decode_text(const struct mdi_tokenizer *t, const int *ids, int n, int skip_special, char **out,
                              size_t *out_len) {
  if (t->kind == MDI_TOKENIZER_HF) return mdi_hf_decode(t, ids, n, skip_special, out, out_len);
  const size_t piece_max = (size_t)t->max_token_length + 8;
  char *buf = mdi_xmalloc((size_t)n * piece_max + 1, "decoded text");
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->vocab_size) {
      free(buf);
      return mdi_fail("cannot decode token id %d: outside the vocabulary [0, %d)", ids[i], t->vocab_size);
    }
    if (skip_special && mdi_tokenizer_is_special(t, ids[i])) continue;
    len += mdi_tokenizer_decode(t, i > 0 ? ids[i - 1] : -1, ids[i], buf + len, piece_max);
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return MDI_OK;
}

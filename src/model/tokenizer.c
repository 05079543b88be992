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

/* Longest piece accepted: real vocabularies stay far below (Llama 2: 16
 * bytes, tok512: 7); the bound keeps the merge buffer small. */
#define MDI_MAX_PIECE_BYTES 4096

/* "<0xNN>" is 6 bytes */
#define BYTE_PIECE_LEN 6

static const char *source_name(const char *source) { return source ? source : "tokenizer"; }

/* -1, 0, 1 as strcmp orders the NUL-free strings a[0..alen) and b[0..blen). */
static int bytes_cmp(const char *a, int alen, const char *b, int blen) {
  int c = memcmp(a, b, (size_t)(alen < blen ? alen : blen));
  if (c != 0) return c;
  return (alen > blen) - (alen < blen);
}

/* Id of the piece equal to s[0..len), or -1.  sorted_ids orders equal pieces
 * by id, and the first of them is returned, so duplicates resolve to the
 * lowest id. */
static int piece_lookup(const struct mdi_tokenizer *t, const char *s, int len) {
  int lo = 0, hi = t->vocab_size; /* first position whose piece is >= s */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    int id = t->sorted_ids[mid];
    if (bytes_cmp(t->pieces[id], t->piece_lens[id], s, len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == t->vocab_size) return -1;
  int id = t->sorted_ids[lo];
  return bytes_cmp(t->pieces[id], t->piece_lens[id], s, len) == 0 ? id : -1;
}

int mdi_tokenizer_lookup(const struct mdi_tokenizer *t, const char *s, int len) {
  return piece_lookup(t, s, len);
}

const char *mdi_tokenizer_kind_name(enum mdi_tokenizer_kind kind) {
  return kind == MDI_TOKENIZER_BYTE_BPE ? "byte-bpe" : "sentencepiece";
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
  t->sorted_ids = mdi_malloc((size_t)vocab * sizeof *t->sorted_ids, "tokenizer sorted ids");
  /* all pieces live in one block, each followed by its NUL; pieces[0] is
   * the block's start, which is what mdi_tokenizer_free releases */
  char *text = mdi_malloc((size_t)total_bytes + (size_t)vocab, "tokenizer piece text");
  if (t->pieces) t->pieces[0] = text;
  if (!t->pieces || !t->piece_lens || !t->scores || !t->sorted_ids || !text) {
    if (!t->pieces) free(text);
    return MDI_ERR;
  }
  return MDI_OK;
}

struct piece_key {
  const char *s;
  int len;
  int id;
};

/* Piece byte order, then id, so the order is total and lookups of
 * duplicated pieces are deterministic. */
static int piece_key_cmp(const void *a, const void *b) {
  const struct piece_key *x = a, *y = b;
  int c = bytes_cmp(x->s, x->len, y->s, y->len);
  if (c != 0) return c;
  return (x->id > y->id) - (x->id < y->id);
}

static int build_sorted_ids(struct mdi_tokenizer *t) {
  int vocab = t->vocab_size;
  struct piece_key *keys = mdi_malloc((size_t)vocab * sizeof *keys, "tokenizer sort keys");
  if (!keys) return MDI_ERR;
  for (int i = 0; i < vocab; i++) keys[i] = (struct piece_key){t->pieces[i], t->piece_lens[i], i};
  qsort(keys, (size_t)vocab, sizeof *keys, piece_key_cmp);
  for (int i = 0; i < vocab; i++) t->sorted_ids[i] = keys[i].id;
  free(keys);
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
  if (build_sorted_ids(t) != MDI_OK) goto fail;
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
  free(t->sorted_ids);
  free(t->merges);
  free(t->merge_table);
  memset(t, 0, sizeof *t);
}

/* ---- the /tokenizer group ------------------------------------------------ */

/* Length of the 1-D dataset tokenizer/<name>, checked to lie in [lo, hi]. */
static int dataset_len(struct mdi_h5 *f, const char *name, int64_t lo, int64_t hi, int64_t *len) {
  int nd;
  int64_t dims[MDI_MAX_DIMS];
  if (mdi_h5_shape(f, name, &nd, dims) != MDI_OK) return MDI_ERR;
  if (nd != 1)
    return mdi_fail("%s: /%s has %d dimensions, expected 1", mdi_h5_path(f), name, nd);
  if (dims[0] < lo || dims[0] > hi) {
    if (lo == hi)
      return mdi_fail("%s: /%s has %lld entries, expected %lld", mdi_h5_path(f), name,
                      (long long)dims[0], (long long)lo);
    return mdi_fail("%s: /%s has %lld entries (%lld to %lld allowed)", mdi_h5_path(f), name,
                    (long long)dims[0], (long long)lo, (long long)hi);
  }
  *len = dims[0];
  return MDI_OK;
}

/* Integer attribute of /tokenizer that must lie in [lo, hi]. */
static int group_attr(struct mdi_h5 *f, const char *attr, int64_t lo, int64_t hi, int *out) {
  int64_t v;
  if (mdi_h5_attr_int(f, "/tokenizer", attr, &v) != MDI_OK) return MDI_ERR;
  if (v < lo || v > hi)
    return mdi_fail("%s: attribute %s of /tokenizer is %lld (%lld to %lld allowed)",
                    mdi_h5_path(f), attr, (long long)v, (long long)lo, (long long)hi);
  *out = (int)v;
  return MDI_OK;
}

/* Every offset must point into piece_bytes ([0, total]) before init checks
 * their order; init is given no byte count, so this is checked here. */
static int check_offsets_range(struct mdi_h5 *f, const int64_t *off, int64_t vocab, int64_t total) {
  for (int64_t i = 0; i <= vocab; i++)
    if (off[i] < 0 || off[i] > total)
      return mdi_fail("%s: /tokenizer/piece_offsets[%lld] = %lld is outside /tokenizer/piece_bytes "
                      "(%lld bytes)", mdi_h5_path(f), (long long)i, (long long)off[i],
                      (long long)total);
  if (off[vocab] != total)
    return mdi_fail("%s: /tokenizer/piece_offsets ends at %lld but /tokenizer/piece_bytes has %lld "
                    "bytes", mdi_h5_path(f), (long long)off[vocab], (long long)total);
  return MDI_OK;
}

/* Buffers read from the file before they are copied by init. */
struct tok_file_data {
  float *scores;     /* [vocab] */
  int64_t *offsets;  /* [vocab+1] */
  uint8_t *bytes;    /* [total] */
  int stop_ids[MDI_MAX_STOP_IDS];
  int n_stop;
  int bos_id, eos_id, max_token_length;
};

static int read_group(struct mdi_h5 *f, struct tok_file_data *d, int64_t *vocab) {
  int64_t v, total, n_offsets, n_stop;
  if (dataset_len(f, "tokenizer/scores", 1, INT_MAX - 1, &v) != MDI_OK ||
      /* one offset more than there are scores */
      dataset_len(f, "tokenizer/piece_offsets", v + 1, v + 1, &n_offsets) != MDI_OK ||
      dataset_len(f, "tokenizer/piece_bytes", 0, v * MDI_MAX_PIECE_BYTES, &total) != MDI_OK ||
      dataset_len(f, "tokenizer/stop_ids", 0, MDI_MAX_STOP_IDS, &n_stop) != MDI_OK)
    return MDI_ERR;
  *vocab = v;
  d->scores = mdi_malloc((size_t)v * sizeof *d->scores, "tokenizer scores");
  d->offsets = mdi_malloc((size_t)n_offsets * sizeof *d->offsets, "tokenizer piece offsets");
  d->bytes = mdi_malloc((size_t)total, "tokenizer piece bytes");
  if (!d->scores || !d->offsets || !d->bytes) return MDI_ERR;
  int32_t stop[MDI_MAX_STOP_IDS];
  if (mdi_h5_read(f, "tokenizer/scores", MDI_F32, 1, &v, d->scores) != MDI_OK ||
      mdi_h5_read(f, "tokenizer/piece_offsets", MDI_I64, 1, &n_offsets, d->offsets) != MDI_OK ||
      check_offsets_range(f, d->offsets, v, total) != MDI_OK ||
      mdi_h5_read(f, "tokenizer/piece_bytes", MDI_U8, 1, &total, d->bytes) != MDI_OK ||
      mdi_h5_read(f, "tokenizer/stop_ids", MDI_I32, 1, &n_stop, stop) != MDI_OK)
    return MDI_ERR;
  d->n_stop = (int)n_stop;
  for (int i = 0; i < d->n_stop; i++) d->stop_ids[i] = stop[i];
  if (group_attr(f, "bos_id", 0, v - 1, &d->bos_id) != MDI_OK ||
      group_attr(f, "eos_id", 0, v - 1, &d->eos_id) != MDI_OK ||
      group_attr(f, "max_token_length", 1, MDI_MAX_PIECE_BYTES, &d->max_token_length) != MDI_OK)
    return MDI_ERR;
  return MDI_OK;
}

/* The optional attributes kind and add_bos, and a byte-bpe tokenizer's
 * merges int32 [n][2] (absent: none), applied to the tokenizer t built from
 * the pieces. */
static int read_kind(struct mdi_h5 *f, struct mdi_tokenizer *t) {
  const char *path = mdi_h5_path(f);
  char kind[32] = "sentencepiece";
  if (mdi_h5_attr_exists(f, "/tokenizer", "kind") &&
      mdi_h5_attr_string(f, "/tokenizer", "kind", kind, sizeof kind) != MDI_OK)
    return MDI_ERR;
  int add_bos = 1;
  if (mdi_h5_attr_exists(f, "/tokenizer", "add_bos") && group_attr(f, "add_bos", 0, 1, &add_bos) != MDI_OK)
    return MDI_ERR;
  if (strcmp(kind, "sentencepiece") == 0) {
    t->add_bos = add_bos;
    return MDI_OK;
  }
  if (strcmp(kind, "byte-bpe") != 0)
    return mdi_fail("%s: attribute kind of /tokenizer is \"%s\" (expected \"sentencepiece\" or \"byte-bpe\")",
                    path, kind);
  int64_t dims[2] = {0, 2};
  int32_t *merges = NULL;
  if (mdi_h5_exists(f, "tokenizer/merges")) {
    int nd;
    int64_t have[MDI_MAX_DIMS];
    if (mdi_h5_shape(f, "tokenizer/merges", &nd, have) != MDI_OK) return MDI_ERR;
    if (nd != 2 || have[1] != 2 || have[0] < 0 || have[0] > (1 << 26))
      return mdi_fail("%s: /tokenizer/merges must be int32 [n][2] with n <= %d", path, 1 << 26);
    dims[0] = have[0];
    merges = mdi_malloc((size_t)(dims[0] > 0 ? dims[0] : 1) * 2 * sizeof *merges, "tokenizer merges");
    if (!merges) return MDI_ERR;
    if (dims[0] > 0 && mdi_h5_read(f, "tokenizer/merges", MDI_I32, 2, dims, merges) != MDI_OK) {
      free(merges);
      return MDI_ERR;
    }
  }
  int rc = mdi_tokenizer_set_byte_bpe(t, merges, (int)dims[0], path);
  free(merges);
  if (rc == MDI_OK) t->add_bos = add_bos;
  return rc;
}

int mdi_tokenizer_load(struct mdi_tokenizer *t, struct mdi_h5 *f) {
  const char *path = mdi_h5_path(f);
  memset(t, 0, sizeof *t);
  if (!mdi_h5_exists(f, "tokenizer"))
    return mdi_fail("%s: the model file has no /tokenizer group", path);
  struct tok_file_data d = {0};
  int64_t vocab = 0;
  int rc = read_group(f, &d, &vocab);
  if (rc == MDI_OK)
    rc = mdi_tokenizer_init(t, (int)vocab, d.scores, d.bytes, d.offsets, d.bos_id, d.eos_id,
                            d.stop_ids, d.n_stop, path);
  if (rc == MDI_OK && d.max_token_length < t->max_token_length) {
    rc = mdi_fail("%s: attribute max_token_length of /tokenizer is %d but the longest piece has "
                  "%d bytes", path, d.max_token_length, t->max_token_length);
    mdi_tokenizer_free(t);
  }
  if (rc == MDI_OK && read_kind(f, t) != MDI_OK) {
    rc = MDI_ERR;
    mdi_tokenizer_free(t);
  }
  /* a larger declared value is kept: decode buffers sized from it still fit */
  if (rc == MDI_OK) t->max_token_length = d.max_token_length;
  free(d.scores);
  free(d.offsets);
  free(d.bytes);
  return rc;
}

int mdi_tokenizer_save(const struct mdi_tokenizer *t, struct mdi_h5w *w) {
  int64_t vocab = t->vocab_size, total = 0;
  for (int i = 0; i < t->vocab_size; i++) total += t->piece_lens[i];
  int64_t *offsets = mdi_malloc((size_t)(vocab + 1) * sizeof *offsets, "tokenizer piece offsets");
  uint8_t *bytes = mdi_malloc((size_t)total, "tokenizer piece bytes");
  int rc = MDI_ERR;
  if (!offsets || !bytes) goto done;
  offsets[0] = 0;
  for (int i = 0; i < t->vocab_size; i++) {
    memcpy(bytes + offsets[i], t->pieces[i], (size_t)t->piece_lens[i]);
    offsets[i + 1] = offsets[i] + t->piece_lens[i];
  }
  int32_t stop[MDI_MAX_STOP_IDS];
  for (int i = 0; i < t->n_stop; i++) stop[i] = t->stop_ids[i];
  const int64_t n_offsets = vocab + 1, n_stop = t->n_stop;
  if (mdi_h5w_write(w, "tokenizer/scores", MDI_F32, 1, &vocab, t->scores) != MDI_OK ||
      mdi_h5w_write(w, "tokenizer/piece_offsets", MDI_I64, 1, &n_offsets, offsets) != MDI_OK ||
      mdi_h5w_write(w, "tokenizer/piece_bytes", MDI_U8, 1, &total, bytes) != MDI_OK ||
      mdi_h5w_write(w, "tokenizer/stop_ids", MDI_I32, 1, &n_stop, stop) != MDI_OK ||
      mdi_h5w_attr_int(w, "/tokenizer", "bos_id", t->bos_id) != MDI_OK ||
      mdi_h5w_attr_int(w, "/tokenizer", "eos_id", t->eos_id) != MDI_OK ||
      mdi_h5w_attr_int(w, "/tokenizer", "max_token_length", t->max_token_length) != MDI_OK)
    goto done;
  /* the defaults (sentencepiece, add_bos 1) are left implicit, so llama2.c-style
   * tokenizers are written exactly as before these attributes existed */
  if ((t->kind != MDI_TOKENIZER_SENTENCEPIECE || !t->add_bos) &&
      (mdi_h5w_attr_string(w, "/tokenizer", "kind", mdi_tokenizer_kind_name(t->kind)) != MDI_OK ||
       mdi_h5w_attr_int(w, "/tokenizer", "add_bos", t->add_bos) != MDI_OK))
    goto done;
  const int64_t merge_dims[2] = {t->n_merges, 2};
  if (t->kind == MDI_TOKENIZER_BYTE_BPE && t->n_merges > 0 &&
      mdi_h5w_write(w, "tokenizer/merges", MDI_I32, 2, merge_dims, t->merges) != MDI_OK)
    goto done;
  rc = MDI_OK;
done:
  free(offsets);
  free(bytes);
  return rc;
}

/* ---- encode -------------------------------------------------------------- */

/* Append the id of one code point s[0..len), or its bytes' <0xNN> ids. */
static int push_code_point(const struct mdi_tokenizer *t, const char *s, int len, size_t offset,
                           int *ids, int *n) {
  int id = piece_lookup(t, s, len);
  if (id >= 0) {
    ids[(*n)++] = id;
    return MDI_OK;
  }
  for (int i = 0; i < len; i++) {
    unsigned char b = (unsigned char)s[i];
    if (t->byte_ids[b] < 0)
      return mdi_fail("cannot encode byte 0x%02X at byte offset %zu: the vocabulary has neither "
                      "the character nor the piece <0x%02X>", b, offset + (size_t)i, b);
    ids[(*n)++] = t->byte_ids[b];
  }
  return MDI_OK;
}

/* Id of the piece spelling pieces[a] followed by pieces[b], or -1.
 * buf holds 2 * max_token_length bytes. */
static int pair_id(const struct mdi_tokenizer *t, int a, int b, char *buf) {
  int la = t->piece_lens[a], lb = t->piece_lens[b];
  if (la + lb > t->max_token_length) return -1; /* longer than every piece */
  memcpy(buf, t->pieces[a], (size_t)la);
  memcpy(buf + la, t->pieces[b], (size_t)lb);
  return piece_lookup(t, buf, la + lb);
}

/* run.c's merge loop: repeatedly replace the adjacent pair whose merged
 * piece has the highest score (strictly higher than -1e10 and than every
 * earlier pair, so the leftmost of equal scores wins) until none merges.
 * pair[i] caches the merged id of (ids[i], ids[i+1]); only the two pairs
 * touching a merge change, which gives the same result as rescanning.
 * ids[n], pair[n]; returns the new n. */
static int merge_pairs(const struct mdi_tokenizer *t, int *ids, int n, int *pair, char *buf) {
  for (int i = 0; i + 1 < n; i++) pair[i] = pair_id(t, ids[i], ids[i + 1], buf);
  for (;;) {
    float best_score = -1e10f;
    int best = -1;
    for (int i = 0; i + 1 < n; i++) {
      if (pair[i] >= 0 && t->scores[pair[i]] > best_score) {
        best_score = t->scores[pair[i]];
        best = i;
      }
    }
    if (best < 0) return n;
    ids[best] = pair[best];
    memmove(ids + best + 1, ids + best + 2, (size_t)(n - best - 2) * sizeof *ids);
    if (n - best - 3 > 0)
      memmove(pair + best + 1, pair + best + 2, (size_t)(n - best - 3) * sizeof *pair);
    n--;
    if (best > 0) pair[best - 1] = pair_id(t, ids[best - 1], ids[best], buf);
    if (best + 1 < n) pair[best] = pair_id(t, ids[best], ids[best + 1], buf);
  }
}

int mdi_tokenizer_encode(const struct mdi_tokenizer *t, const char *text, size_t len, int add_bos,
                         int add_eos, int *ids, int *n_ids) {
  *n_ids = 0;
  size_t bad = mdi_utf8_bad_offset(text, len);
  if (bad < len) {
    if (text[bad] == '\0')
      return mdi_fail("text is not valid UTF-8: NUL byte at byte offset %zu", bad);
    return mdi_fail("text is not valid UTF-8: bad byte 0x%02X at byte offset %zu",
                    (unsigned char)text[bad], bad);
  }
  if (t->kind == MDI_TOKENIZER_BYTE_BPE) {
    int n = 0;
    if (add_bos) ids[n++] = t->bos_id;
    if (mdi_bpe_encode(t, text, len, ids, &n) != MDI_OK) return MDI_ERR;
    if (add_eos) ids[n++] = t->eos_id;
    *n_ids = n;
    return MDI_OK;
  }
  /* merge candidates: 2 pieces; pair cache: one per token (len + 2 at most) */
  char *buf = mdi_malloc(2 * (size_t)t->max_token_length, "tokenizer merge buffer");
  int *pair = mdi_malloc((len + 2) * sizeof *pair, "tokenizer merge pairs");
  int n = 0, rc = MDI_ERR;
  if (!buf || !pair) goto done;
  if (add_bos) ids[n++] = t->bos_id;
  /* SentencePiece's dummy prefix: a space before non-empty text, looked up
   * like any other code point */
  if (len > 0 && push_code_point(t, " ", 1, 0, ids, &n) != MDI_OK) goto done;
  for (size_t i = 0; i < len;) {
    int cl = mdi_utf8_seq_len((unsigned char)text[i]);
    if (push_code_point(t, text + i, cl, i, ids, &n) != MDI_OK) goto done;
    i += (size_t)cl;
  }
  /* like run.c, BOS takes part in the merges (no tok512 piece starts with it) */
  n = merge_pairs(t, ids, n, pair, buf);
  if (add_eos) ids[n++] = t->eos_id;
  *n_ids = n;
  rc = MDI_OK;
done:
  free(buf);
  free(pair);
  return rc;
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


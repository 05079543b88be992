/* BPE inside the tokenizer module: the byte-to-unicode table of byte-level
 * vocabularies, the merge table, and the merging of one word's symbols with
 * a priority queue (what every kind shares).  Not a public API. */
#ifndef MDI_TOKENIZER_BPE_H
#define MDI_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/model/tokenizer.h"

/* The byte a code point spells in a byte-level vocabulary, or -1. */
int mdi_bpe_code_point_byte(int cp);

/* A symbol of the word being merged: symbols form a linked list inside an
 * array; a symbol merged into its left neighbour gets len 0. */
struct bpe_sym {
  int id;
  int prev, next; /* -1: none */
  int len;        /* bytes of the text it covers */
};
/* A merge candidate, key << 32 | pos: the pair starting at symbol pos,
 * lower keys first and equal keys leftmost first, in one comparison. */
typedef uint64_t bpe_cand;
/* Scratch memory of one encode call, reused word after word. */
struct bpe_work {
  struct bpe_sym *sym;
  int n_sym, cap_sym;
  bpe_cand *heap;
  int n_heap, cap_heap;
  char *buf; /* concatenation of two pieces */
  size_t cap_buf;
};
void bpe_work_free(struct bpe_work *w);
void bpe_work_add(struct bpe_work *w, int id, int len);

/* Whether pieces left and right merge: 1 with the merged id and its key
 * (lower merges first), 0 when they do not. */
typedef int (*bpe_pair_fn)(const struct mdi_tokenizer *t, struct bpe_work *w, int left, int right, uint32_t *key,
                           int *new_id);
/* By rank of the merge list (byte-bpe, hf). */
int bpe_pair_rank(const struct mdi_tokenizer *t, struct bpe_work *w, int left, int right, uint32_t *key, int *new_id);
/* The key of a piece score when higher scores merge first: the float's
 * order reversed, as an unsigned integer. */
uint32_t bpe_score_key(float score);

/* Merge w's symbols as tokenizers' Word::merge_all does: repeatedly the
 * candidate of lowest key (then leftmost) merges, unless it is stale (its
 * left symbol is gone, has no right neighbour, or the pair there now merges
 * into something else); then the ids in order are appended to out.
 * tokenizers keeps the merged id in a candidate and compares it; here the
 * key is compared: within one word the pair at a position only grows, so
 * a pair there with another merged id has another span, and a different
 * pair with the same key and position merges the same way.   Each
 * merge pushes at most two candidates into a 4-ary heap (a node's children
 * share cache lines): O(n log n) for n symbols. */
void bpe_merge(const struct mdi_tokenizer *t, struct bpe_work *w, bpe_pair_fn pair, struct mdi_ids *out);

/* The merge table of t from merges[n][2] (rank = index; a pair listed twice
 * keeps its last rank, as tokenizers' merge map does).  result(t, a, b)
 * gives the merged piece's id or -1 (an error naming the merge).  The
 * table and a copy of the merges replace t's on success. */
typedef int (*bpe_result_fn)(const struct mdi_tokenizer *t, int a, int b, char *buf);
int bpe_build_merges(struct mdi_tokenizer *t, const int32_t *merges, int n_merges, bpe_result_fn result,
                     const char *source);
/* The merge of (a, b), or NULL. */
const struct mdi_bpe_merge *bpe_merge_of(const struct mdi_tokenizer *t, int a, int b);

/* The bytes piece `token` of a byte-level vocabulary stands for, NUL-terminated
 * in out[cap]; returns their count (never more than the piece's length). */
size_t mdi_bpe_decode(const struct mdi_tokenizer *t, int token, char *out, size_t cap);

#endif

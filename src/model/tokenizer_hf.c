/* Encoding with an "hf" pipeline (tokenizer_hf.h): added tokens, the
 * normalizer and pre-tokenizer steps, the BPE model on each pre-token, the
 * post-processor, in the order tokenizers' encode runs them. */
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "tokenizer_bpe.h"
#include "tokenizer_hf.h"
#include "unicode.h"

/* ---- added tokens ------------------------------------------------------------------ */

/* The longest added token starting at s[i]: its index into added[] and end, or -1. */
static int longest_at(const struct hf_trie *tr, const char *s, size_t len, size_t i, size_t *end) {
  int node = 0, found = -1;
  for (size_t k = i; k < len; k++) {
    int ch = tr->nodes[node].child;
    while (ch >= 0 && tr->nodes[ch].byte != (unsigned char)s[k]) ch = tr->nodes[ch].sibling;
    if (ch < 0) break;
    node = ch;
    if (tr->nodes[node].token >= 0) found = tr->nodes[node].token, *end = k + 1;
  }
  return found;
}

static uint32_t last_cp(const char *s, size_t len) {
  size_t i = len - 1;
  while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
  uint32_t cp;
  mdi_utf8_decode(s + i, len - i, &cp);
  return cp;
}

/* Start of the run of white space that ends s[0..len). */
static size_t trailing_space_start(const char *s, size_t len) {
  while (len > 0) {
    size_t i = len - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    uint32_t cp;
    mdi_utf8_decode(s + i, len - i, &cp);
    if (!mdi_unicode_is_whitespace(cp)) break;
    len = i;
  }
  return len;
}

static size_t leading_space_len(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    const int n = mdi_utf8_decode(s + i, len - i, &cp);
    if (n <= 0 || !mdi_unicode_is_whitespace(cp)) break;
    i += (size_t)n;
  }
  return i;
}

/* Cut text piece p at the added tokens of trie tr (AddedVocabulary's
 * find_matches): leftmost-longest matches; a special token is text unless
 * parse_special; single_word, lstrip and rstrip as the token says. */
static void split_added(const struct mdi_tok_pipeline *pl, const struct hf_trie *tr, int parse_special,
                        const struct hf_piece *p, struct hf_pieces *out) {
  const char *s = p->s;
  const size_t len = p->len;
  size_t from = 0; /* start_offset: the end of the last token */
  if (tr->n > 0) {
    for (size_t i = 0; i < len;) {
      size_t stop = 0;
      const int k = longest_at(tr, s, len, i, &stop);
      if (k < 0) {
        i++;
        continue;
      }
      const struct hf_added *a = &pl->added[k];
      size_t start = i;
      i = stop; /* the search resumes after the match, whatever happens to it */
      if (a->special && !parse_special) continue;
      if (a->single_word) {
        uint32_t cp;
        const int word_before = start > 0 && mdi_unicode_is_word(last_cp(s, start));
        const int word_after = stop < len && mdi_utf8_decode(s + stop, len - stop, &cp) > 0 && mdi_unicode_is_word(cp);
        if (word_before || word_after) continue;
      }
      if (a->lstrip) {
        const size_t ns = trailing_space_start(s, start);
        start = ns > from ? ns : from;
      }
      if (a->rstrip) stop += leading_space_len(s + stop, len - stop);
      if (from < start) hf_pieces_push(out, s + from, start - from, -1, p->origin0 && from == 0);
      hf_pieces_push(out, s + start, stop - start, a->id, 0);
      from = stop;
    }
  }
  if (from < len) hf_pieces_push(out, s + from, len - from, -1, p->origin0 && from == 0);
}

/* ---- the BPE model on one pre-token -------------------------------------------------- */

/* By score of the merged piece, highest first (llama.cpp's SentencePiece BPE). */
static int pair_score(const struct mdi_tokenizer *t, struct bpe_work *w, int left, int right, uint32_t *key,
                      int *new_id) {
  const size_t la = (size_t)t->piece_lens[left], lb = (size_t)t->piece_lens[right];
  if (la + lb > (size_t)t->max_token_length) return 0;
  if (w->cap_buf < la + lb) {
    w->cap_buf = 2 * (la + lb);
    w->buf = mdi_xrealloc(w->buf, w->cap_buf, "tokenizer merge buffer");
  }
  memcpy(w->buf, t->pieces[left], la);
  memcpy(w->buf + la, t->pieces[right], lb);
  const int id = mdi_hf_vocab_lookup(t->hf, t, w->buf, la + lb);
  if (id < 0) return 0;
  *key = bpe_score_key(t->scores[id]);
  *new_id = id;
  return 1;
}

/* The characters of w, as tokenizers' BPE::merge_word sees them, become
 * symbols: looked up with the subword prefix/suffix, else byte pieces, else
 * the unknown token (fused when fuse_unk), else dropped. */
static int word_symbols(const struct mdi_tokenizer *t, const char *w, size_t len, struct bpe_work *work,
                        struct hf_arena *a) {
  const struct mdi_tok_pipeline *p = t->hf;
  int unk_len = 0; /* bytes of the pending unknown symbol, 0: none */
  for (size_t i = 0; i < len;) {
    const int n = mdi_utf8_seq_len((unsigned char)w[i]);
    const int first = i == 0, last = i + (size_t)n == len;
    const char *s = w + i;
    size_t sl = (size_t)n;
    if ((!first && p->subword_prefix) || (last && p->word_suffix)) {
      const size_t pl = !first && p->subword_prefix ? p->subword_prefix_len : 0;
      const size_t xl = last && p->word_suffix ? p->word_suffix_len : 0;
      char *b = hf_arena_alloc(a, pl + sl + xl);
      memcpy(b, p->subword_prefix, pl);
      memcpy(b + pl, s, sl);
      memcpy(b + pl + sl, p->word_suffix, xl);
      s = b;
      sl += pl + xl;
    }
    i += (size_t)n;
    const int id = mdi_hf_vocab_lookup(p, t, s, sl);
    if (id >= 0) {
      if (unk_len) bpe_work_add(work, p->unk_id, unk_len), unk_len = 0;
      bpe_work_add(work, id, n);
      continue;
    }
    if (p->byte_fallback) {
      size_t k = 0;
      while (k < sl && p->byte_piece[(unsigned char)s[k]] >= 0) k++;
      if (k == sl) {
        for (k = 0; k < sl; k++) bpe_work_add(work, p->byte_piece[(unsigned char)s[k]], 1);
        continue;
      }
    }
    if (p->unk_missing)
      return mdi_fail("the character \"%.*s\" is not in the vocabulary and the unknown token \"%.40s\" is not either",
                      n, w + i - (size_t)n, p->unk_missing);
    if (p->unk_id < 0) continue;
    if (unk_len && !p->fuse_unk) bpe_work_add(work, p->unk_id, unk_len), unk_len = 0;
    unk_len += n;
  }
  if (unk_len) bpe_work_add(work, p->unk_id, unk_len);
  return MDI_OK;
}

static int model_tokenize(const struct mdi_tokenizer *t, const char *w, size_t len, struct bpe_work *work,
                          struct hf_arena *a, struct mdi_ids *out) {
  const struct mdi_tok_pipeline *p = t->hf;
  if (len == 0) return MDI_OK;
  if (p->ignore_merges) {
    const int id = mdi_hf_vocab_lookup(p, t, w, len);
    if (id >= 0) {
      mdi_ids_push(out, id);
      return MDI_OK;
    }
  }
  if (word_symbols(t, w, len, work, a) != MDI_OK) {
    work->n_sym = 0;
    return MDI_ERR;
  }
  bpe_merge(t, work, p->by_score ? pair_score : bpe_pair_rank, out);
  return MDI_OK;
}

/* ---- the driver ------------------------------------------------------------------------ */

int mdi_hf_encode(const struct mdi_tokenizer *t, const char *text, size_t len, unsigned flags, struct mdi_ids *out) {
  const struct mdi_tok_pipeline *p = t->hf;
  const int parse_special = (flags & MDI_ENCODE_PARSE_SPECIAL) != 0;
  struct hf_arena arena = {0};
  struct hf_pieces a = {0}, b = {0};
  struct bpe_work work = {0};
  int rc = MDI_OK;
  if (flags & MDI_ENCODE_SPECIAL)
    for (int i = 0; i < p->n_prefix; i++) mdi_ids_push(out, p->prefix[i]);
  /* 1. added tokens matched in the raw text */
  const struct hf_piece whole = {text, len, -1, 1};
  split_added(p, &p->raw_trie, parse_special, &whole, &a);
  /* 2. the normalizer on each segment, then the normalized added tokens */
  for (int i = 0; i < a.n && rc == MDI_OK; i++) {
    struct hf_piece q = a.v[i];
    if (q.id >= 0) {
      hf_pieces_push(&b, q.s, q.len, q.id, 0);
      continue;
    }
    if ((rc = hf_normalize(p, q.s, q.len, &arena, &q.s, &q.len)) == MDI_OK) split_added(p, &p->norm_trie, parse_special, &q, &b);
  }
  /* 3. the pre-tokenizer steps */
  for (int k = 0; k < p->n_pre && rc == MDI_OK; k++) {
    rc = hf_pre_tokenize(&p->pre[k], &b, &a, &arena);
    struct hf_pieces swap = a;
    a = b;
    b = swap;
  }
  /* 4. the model on each pre-token */
  for (int i = 0; i < b.n && rc == MDI_OK; i++) {
    if (b.v[i].id >= 0) mdi_ids_push(out, b.v[i].id);
    else rc = model_tokenize(t, b.v[i].s, b.v[i].len, &work, &arena, out);
  }
  if (rc == MDI_OK && (flags & MDI_ENCODE_SPECIAL))
    for (int i = 0; i < p->n_suffix; i++) mdi_ids_push(out, p->suffix[i]);
  free(a.v);
  free(b.v);
  bpe_work_free(&work);
  hf_arena_free(&arena);
  return rc;
}

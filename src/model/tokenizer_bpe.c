/* BPE pieces shared by the tokenizer kinds (tokenizer_bpe.h): the
 * byte-to-unicode table, the merge table, and merging with a priority queue.
 *
 * A byte-level vocabulary spells every byte as one character: the printable
 * bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF as themselves, the other 68 as
 * U+0100 + n in byte order (space is U+0120 'Ġ', newline U+010A 'Ċ').  The
 * pieces are stored in that spelling (as in the vocabulary of tokenizer.json),
 * so no piece holds a NUL, and decoding maps each character back to its byte. */
#include "tokenizer_bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

/* ---- the byte-to-unicode table --------------------------------------------- */

static int byte_spells_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* Code point spelling byte b. */
static int byte_code_point(int b) {
  if (byte_spells_itself(b)) return b;
  int n = 0; /* bytes before b that do not spell themselves */
  for (int c = 0; c < b; c++) n += !byte_spells_itself(c);
  return 256 + n;
}

int mdi_bpe_byte_char(int b, char buf[2]) {
  MDI_ASSERT(b >= 0 && b < 256);
  const int cp = byte_code_point(b);
  if (cp < 0x80) {
    buf[0] = (char)cp;
    return 1;
  }
  buf[0] = (char)(0xC0 | (cp >> 6)); /* every code point of the table is below U+0800 */
  buf[1] = (char)(0x80 | (cp & 0x3F));
  return 2;
}

int mdi_bpe_code_point_byte(int cp) {
  static int table[324]; /* code points 0..323: the table's range */
  static int ready = 0;
  if (!ready) {
    for (int i = 0; i < 324; i++) table[i] = -1;
    for (int b = 0; b < 256; b++) table[byte_code_point(b)] = b;
    ready = 1; /* idempotent: concurrent first calls write the same values */
  }
  return cp >= 0 && cp < 324 ? table[cp] : -1;
}

size_t mdi_bpe_decode(const struct mdi_tokenizer *t, int token, char *out, size_t cap) {
  const char *p = t->pieces[token];
  const size_t len = (size_t)t->piece_lens[token];
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    const int n = mdi_utf8_decode(p + i, len - i, &cp);
    MDI_ASSERT(n > 0); /* pieces of a byte-level vocabulary are checked UTF-8 */
    const int b = mdi_bpe_code_point_byte((int)cp);
    if (b >= 0) { /* a byte's spelling: never longer than the byte, so out keeps up */
      out[o++] = (char)b;
    } else { /* a character outside the table (in an added token): as it is */
      memcpy(out + o, p + i, (size_t)n);
      o += (size_t)n;
    }
    i += (size_t)n;
  }
  MDI_ASSERT(o < cap);
  out[o] = '\0';
  return o;
}

/* ---- the merge table --------------------------------------------------------- */

static uint32_t pair_hash(int32_t a, int32_t b) {
  uint64_t h = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32);
}

/* The slot of (a, b): its merge, or the empty slot where it would go. */
static struct mdi_bpe_merge *find_slot(struct mdi_bpe_merge *table, uint32_t mask, int32_t a, int32_t b) {
  for (uint32_t i = pair_hash(a, b) & mask;; i = (i + 1) & mask)
    if (table[i].left < 0 || (table[i].left == a && table[i].right == b)) return &table[i];
}

const struct mdi_bpe_merge *bpe_merge_of(const struct mdi_tokenizer *t, int a, int b) {
  if (!t->merge_table) return NULL;
  const struct mdi_bpe_merge *m = find_slot(t->merge_table, t->merge_mask, a, b);
  return m->left < 0 ? NULL : m;
}

int bpe_build_merges(struct mdi_tokenizer *t, const int32_t *merges, int n_merges, bpe_result_fn result,
                     const char *src) {
  if (n_merges < 0 || n_merges > (1 << 26)) return mdi_fail("%s: %d merges is out of range", src, n_merges);
  uint32_t cap = 16;
  while (cap < 2u * (uint32_t)n_merges) cap *= 2; /* load factor at most 1/2 */
  struct mdi_bpe_merge *table = mdi_malloc((size_t)cap * sizeof *table, "tokenizer merge table");
  int32_t *copy = mdi_malloc((size_t)(n_merges > 0 ? n_merges : 1) * 2 * sizeof *copy, "tokenizer merges");
  char *buf = mdi_malloc(2 * (size_t)t->max_token_length + 1, "tokenizer merge buffer");
  if (!table || !copy || !buf) goto fail;
  for (uint32_t i = 0; i < cap; i++) table[i].left = -1;
  for (int r = 0; r < n_merges; r++) {
    const int32_t a = merges[2 * r], b = merges[2 * r + 1];
    if (a < 0 || a >= t->vocab_size || b < 0 || b >= t->vocab_size) {
      mdi_fail("%s: merge %d joins ids %d and %d, outside the vocabulary [0, %d)", src, r, (int)a, (int)b,
               t->vocab_size);
      goto fail;
    }
    const int res = result(t, a, b, buf);
    if (res < 0) {
      const int la = t->piece_lens[a], lb = t->piece_lens[b];
      mdi_fail("%s: merge %d joins pieces %d and %d (\"%.*s\" \"%.*s\"), which make no piece", src, r, (int)a,
               (int)b, la > 80 ? 80 : la, t->pieces[a], lb > 80 ? 80 : lb, t->pieces[b]);
      goto fail;
    }
    *find_slot(table, cap - 1, a, b) = (struct mdi_bpe_merge){a, b, r, res};
    copy[2 * r] = a;
    copy[2 * r + 1] = b;
  }
  free(buf);
  free(t->merges);
  free(t->merge_table);
  t->merges = copy;
  t->n_merges = n_merges;
  t->merge_table = table;
  t->merge_mask = cap - 1;
  return MDI_OK;
fail:
  free(table);
  free(copy);
  free(buf);
  return MDI_ERR;
}

/* ---- merging a word ------------------------------------------------------------ */

void bpe_work_free(struct bpe_work *w) {
  free(w->sym);
  free(w->heap);
  free(w->buf);
  memset(w, 0, sizeof *w);
}

void bpe_work_add(struct bpe_work *w, int id, int len) {
  if (w->n_sym == w->cap_sym) {
    w->cap_sym = w->cap_sym ? 2 * w->cap_sym : 64;
    w->sym = mdi_xrealloc(w->sym, (size_t)w->cap_sym * sizeof *w->sym, "tokenizer symbols");
  }
  const int i = w->n_sym++;
  w->sym[i] = (struct bpe_sym){id, i - 1, -1, len};
  if (i > 0) w->sym[i - 1].next = i;
}

int bpe_pair_rank(const struct mdi_tokenizer *t, struct bpe_work *w, int left, int right, uint32_t *key,
                  int *new_id) {
  (void)w;
  const struct mdi_bpe_merge *m = bpe_merge_of(t, left, right);
  if (!m) return 0;
  *key = (uint32_t)m->rank;
  *new_id = m->result;
  return 1;
}

uint32_t bpe_score_key(float score) {
  if (score == 0.0f) score = 0.0f; /* -0 and +0 are equal scores */
  uint32_t u;
  memcpy(&u, &score, sizeof u);
  u = (u & 0x80000000u) ? ~u : u | 0x80000000u; /* ascending with the float */
  return ~u;                                     /* descending */
}

/* The heap: children of node i are 4i+1 .. 4i+4. */
static void sift_down(bpe_cand *h, int n, int i) {
  const bpe_cand c = h[i];
  for (;;) {
    const int first = 4 * i + 1;
    if (first >= n) break;
    int best = first;
    const int last = first + 4 < n ? first + 4 : n;
    for (int k = first + 1; k < last; k++)
      if (h[k] < h[best]) best = k;
    if (h[best] >= c) break;
    h[i] = h[best];
    i = best;
  }
  h[i] = c;
}

static void heap_push(struct bpe_work *w, bpe_cand c) {
  if (w->n_heap == w->cap_heap) {
    w->cap_heap = w->cap_heap ? 2 * w->cap_heap : 64;
    w->heap = mdi_xrealloc(w->heap, (size_t)w->cap_heap * sizeof *w->heap, "tokenizer merge queue");
  }
  int i = w->n_heap++;
  while (i > 0) { /* sift up */
    const int parent = (i - 1) / 4;
    if (w->heap[parent] <= c) break;
    w->heap[i] = w->heap[parent];
    i = parent;
  }
  w->heap[i] = c;
}

static bpe_cand heap_pop(struct bpe_work *w) {
  const bpe_cand top = w->heap[0];
  w->heap[0] = w->heap[--w->n_heap];
  if (w->n_heap > 0) sift_down(w->heap, w->n_heap, 0);
  return top;
}

/* The candidate of the pair starting at symbol pos, if it merges. */
static int candidate(const struct mdi_tokenizer *t, struct bpe_work *w, bpe_pair_fn pair, int pos, bpe_cand *c,
                     int *new_id) {
  const int next = w->sym[pos].next;
  uint32_t key;
  if (next < 0 || !pair(t, w, w->sym[pos].id, w->sym[next].id, &key, new_id)) return 0;
  *c = (uint64_t)key << 32 | (uint32_t)pos;
  return 1;
}

static void push_pair(const struct mdi_tokenizer *t, struct bpe_work *w, bpe_pair_fn pair, int pos) {
  bpe_cand c;
  int id;
  if (candidate(t, w, pair, pos, &c, &id)) heap_push(w, c);
}

void bpe_merge(const struct mdi_tokenizer *t, struct bpe_work *w, bpe_pair_fn pair, struct mdi_ids *out) {
  /* the first candidates in one go, then heapified from the bottom: O(n) */
  if (w->cap_heap < w->n_sym) {
    w->cap_heap = w->n_sym;
    w->heap = mdi_xrealloc(w->heap, (size_t)w->cap_heap * sizeof *w->heap, "tokenizer merge queue");
  }
  w->n_heap = 0;
  int id;
  for (int i = 0; i + 1 < w->n_sym; i++)
    if (candidate(t, w, pair, i, &w->heap[w->n_heap], &id)) w->n_heap++;
  for (int i = (w->n_heap - 2) / 4; i >= 0 && w->n_heap > 1; i--) sift_down(w->heap, w->n_heap, i);
  while (w->n_heap > 0) {
    const bpe_cand top = heap_pop(w);
    const int pos = (int)(uint32_t)top;
    struct bpe_sym *s = &w->sym[pos];
    if (s->len == 0 || s->next < 0) continue;
    bpe_cand now;
    if (!candidate(t, w, pair, pos, &now, &id) || now != top) continue; /* stale */
    struct bpe_sym *right = &w->sym[s->next];
    s->id = id;
    s->len += right->len;
    s->next = right->next;
    right->len = 0;
    if (s->next >= 0) w->sym[s->next].prev = pos;
    if (s->prev >= 0) push_pair(t, w, pair, s->prev);
    push_pair(t, w, pair, pos);
  }
  for (int i = 0; i < w->n_sym; i++)
    if (w->sym[i].len > 0) mdi_ids_push(out, w->sym[i].id);
  w->n_sym = 0;
}

void mdi_ids_push(struct mdi_ids *l, int id) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->v = mdi_xrealloc(l->v, (size_t)l->cap * sizeof *l->v, "token ids");
  }
  l->v[l->n++] = id;
}

void mdi_ids_free(struct mdi_ids *l) {
  free(l->v);
  memset(l, 0, sizeof *l);
}

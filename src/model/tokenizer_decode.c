/* Decoding with an "hf" pipeline (tokenizer_hf.h): the decoder steps of
 * tokenizers on the tokens' strings.  Two uses:
 *  - a whole sequence, exactly as tokenizers' decode (tests, journal);
 *  - one token at a time while text streams out: the same steps on the
 *    token alone, as the first token of the text or not; bytes are passed
 *    on as they are (a character may arrive in pieces), and a Strip that
 *    acts on the fused text removes its start only from the first token.
 * Text here is a C string: a NUL byte that the steps produce (the byte token
 * <0x00>, ByteLevel's U+0100) is dropped, where tokenizers keeps it. */
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "tokenizer_bpe.h"
#include "tokenizer_hf.h"

struct str {
  char *s;
  size_t len;
};
struct strs {
  struct str *v;
  int n, cap;
};

static void strs_push(struct strs *l, char *s, size_t len) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = mdi_xrealloc(l->v, (size_t)l->cap * sizeof *l->v, "decoded tokens");
  }
  l->v[l->n++] = (struct str){s, len};
}

static char *dup_in(struct hf_arena *a, const char *s, size_t len) {
  char *p = hf_arena_alloc(a, len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

/* One string for the whole list. */
static void fuse(struct strs *l, struct hf_arena *a) {
  size_t total = 0;
  for (int i = 0; i < l->n; i++) total += l->v[i].len;
  char *p = hf_arena_alloc(a, total + 1), *w = p;
  for (int i = 0; i < l->n; i++) memcpy(w, l->v[i].s, l->v[i].len), w += l->v[i].len;
  *w = '\0';
  l->n = 0;
  strs_push(l, p, total);
}

/* "<0xNN>" -> NN, or -1 (tokenizers: six bytes, "<0x", two hex digits, ">"). */
static int byte_token(const char *s, size_t len) {
  if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; k++) {
    const char c = s[k];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

static void byte_level(struct strs *l, struct hf_arena *a, int streaming) {
  size_t total = 0;
  for (int i = 0; i < l->n; i++) total += l->v[i].len;
  char *raw = hf_arena_alloc(a, total + 1);
  size_t o = 0;
  for (int i = 0; i < l->n; i++) {
    const struct str *t = &l->v[i];
    const size_t start = o;
    for (size_t k = 0; k < t->len;) { /* every character a byte's spelling, or the token as it is */
      uint32_t cp;
      const int n = mdi_utf8_decode(t->s + k, t->len - k, &cp);
      const int b = n > 0 ? mdi_bpe_code_point_byte((int)cp) : -1;
      if (b < 0) {
        o = start;
        memcpy(raw + o, t->s, t->len);
        o += t->len;
        break;
      }
      raw[o++] = (char)b;
      k += (size_t)n;
    }
  }
  l->n = 0;
  if (streaming) {
    strs_push(l, raw, o);
    return;
  }
  char *text = hf_arena_alloc(a, 3 * o + 1);
  strs_push(l, text, mdi_utf8_lossy(raw, o, text));
}

/* UTF-8 as Rust's String::from_utf8 checks it (NUL allowed). */
static int valid_utf8(const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    const int k = mdi_utf8_decode(s + i, n - i, &cp);
    if (k <= 0) return 0;
    i += (size_t)k;
  }
  return 1;
}

/* Consecutive byte tokens become their text when it is valid UTF-8, else one
 * U+FFFD per byte; streaming passes each byte on. */
static void byte_fallback(struct strs *l, struct hf_arena *a, int streaming) {
  struct strs out = {0};
  char *bytes = hf_arena_alloc(a, (size_t)l->n + 1);
  int nb = 0;
  for (int i = 0; i <= l->n; i++) {
    const int b = i < l->n ? byte_token(l->v[i].s, l->v[i].len) : -1;
    if (b >= 0) {
      bytes[nb++] = (char)b;
      continue;
    }
    if (nb > 0) {
      if (streaming || valid_utf8(bytes, (size_t)nb)) {
        strs_push(&out, dup_in(a, bytes, (size_t)nb), (size_t)nb);
      } else {
        for (int k = 0; k < nb; k++) strs_push(&out, dup_in(a, "\xEF\xBF\xBD", 3), 3);
      }
      bytes += nb;
      nb = 0;
    }
    if (i < l->n) strs_push(&out, l->v[i].s, l->v[i].len);
  }
  free(l->v);
  *l = out;
}

/* Metaspace: the replacement becomes a space, except in the first token,
 * where it is dropped unless the scheme is never (tokenizers' decoder). */
static void metaspace(const struct hf_dec *d, struct strs *l, struct hf_arena *a, int first_index) {
  char rep[4];
  const size_t rl = (size_t)mdi_utf8_encode(d->cp, rep);
  for (int i = 0; i < l->n; i++) {
    struct str *t = &l->v[i];
    char *o = hf_arena_alloc(a, t->len + 1), *w = o;
    const int drop = i + first_index == 0 && d->prepend != HF_PREPEND_NEVER;
    for (size_t k = 0; k < t->len;) {
      if (t->len - k >= rl && !memcmp(t->s + k, rep, rl)) {
        if (!drop) *w++ = ' ';
        k += rl;
      } else {
        *w++ = t->s[k++];
      }
    }
    *w = '\0';
    *t = (struct str){o, (size_t)(w - o)};
  }
}

static int replace(const struct hf_dec *d, struct strs *l, struct hf_arena *a) {
  struct hf_spans m = {0};
  for (int i = 0; i < l->n; i++) {
    struct str *t = &l->v[i];
    if (hf_find_matches(&d->pat, t->s, t->len, &m) != MDI_OK) return free(m.v), MDI_ERR;
    size_t total = 0;
    for (int k = 0; k < m.n; k++) total += m.v[k].match ? d->content_len : m.v[k].end - m.v[k].start;
    char *o = hf_arena_alloc(a, total + 1), *w = o;
    for (int k = 0; k < m.n; k++) {
      if (m.v[k].match) memcpy(w, d->content, d->content_len), w += d->content_len;
      else memcpy(w, t->s + m.v[k].start, m.v[k].end - m.v[k].start), w += m.v[k].end - m.v[k].start;
    }
    *w = '\0';
    *t = (struct str){o, total};
  }
  free(m.v);
  return MDI_OK;
}

/* Strip up to start leading and stop trailing characters d->cp from t. */
static void strip(const struct hf_dec *d, struct str *t, int start, int stop) {
  char c[4];
  const size_t cl = (size_t)mdi_utf8_encode(d->cp, c);
  for (int k = 0; k < start && t->len >= cl && !memcmp(t->s, c, cl); k++) t->s += cl, t->len -= cl;
  for (int k = 0; k < stop && t->len >= cl && !memcmp(t->s + t->len - cl, c, cl); k++) t->len -= cl;
}

/* Run the decoder steps on l.  Streaming: l holds one token, first_index 0
 * when it starts the text, 1 when it does not. */
static int run(const struct mdi_tok_pipeline *p, struct strs *l, struct hf_arena *a, int streaming, int first_index) {
  int fused = 0;
  for (int k = 0; k < p->n_dec; k++) {
    const struct hf_dec *d = &p->dec[k];
    switch (d->type) {
      case HF_DEC_BYTE_LEVEL: byte_level(l, a, streaming), fused = 1; break;
      case HF_DEC_BYTE_FALLBACK: byte_fallback(l, a, streaming); break;
      case HF_DEC_FUSE: fuse(l, a), fused = 1; break;
      case HF_DEC_METASPACE: metaspace(d, l, a, first_index); break;
      case HF_DEC_REPLACE:
        if (replace(d, l, a) != MDI_OK) return MDI_ERR;
        break;
      case HF_DEC_STRIP:
        for (int i = 0; i < l->n; i++) {
          if (!streaming || !fused) strip(d, &l->v[i], d->start, d->stop);
          else if (first_index == 0) strip(d, &l->v[i], d->start, 0); /* the end of the text is not known yet */
        }
        break;
    }
  }
  return MDI_OK;
}

/* The string tokenizers' decode starts from for id (NULL: nothing). */
static const char *token_string(const struct mdi_tokenizer *t, int id, int skip_special, size_t *len) {
  const struct mdi_tok_pipeline *p = t->hf;
  const int a = p->added_of_id[id];
  if (a >= 0) {
    const struct hf_added *x = &p->added[a];
    if (skip_special && x->special) return NULL;
    if (x->norm && (x->norm_len != x->len || memcmp(x->norm, x->content, x->len) != 0))
      return *len = x->norm_len, x->norm;
    return *len = x->len, x->content;
  }
  if (t->piece_lens[id] == 0) return NULL; /* an id without a piece */
  *len = (size_t)t->piece_lens[id];
  return t->pieces[id];
}

/* Copy s[0..n) to w but its NUL bytes; returns the end of what was written. */
static char *copy_without_nul(char *w, const char *s, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (s[k] != '\0') *w++ = s[k];
  return w;
}

int mdi_hf_decode(const struct mdi_tokenizer *t, const int *ids, int n, int skip_special, char **out, size_t *out_len) {
  struct hf_arena a = {0};
  struct strs l = {0};
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->vocab_size) {
      free(l.v);
      hf_arena_free(&a);
      return mdi_fail("cannot decode token id %d: outside the vocabulary [0, %d)", ids[i], t->vocab_size);
    }
    size_t len;
    const char *s = token_string(t, ids[i], skip_special, &len);
    if (s) strs_push(&l, (char *)s, len);
  }
  int rc = run(t->hf, &l, &a, 0, 0);
  if (rc == MDI_OK) {
    size_t total = 0;
    for (int i = 0; i < l.n; i++) total += l.v[i].len;
    char *o = mdi_xmalloc(total + 1, "decoded text"), *w = o;
    for (int i = 0; i < l.n; i++) w = copy_without_nul(w, l.v[i].s, l.v[i].len);
    *w = '\0';
    *out = o;
    *out_len = (size_t)(w - o);
  }
  free(l.v);
  hf_arena_free(&a);
  return rc;
}

static int is_special(const struct mdi_tok_pipeline *p, int id) {
  return p->added_of_id[id] >= 0 && p->added[p->added_of_id[id]].special;
}

size_t mdi_hf_decode_piece(const struct mdi_tokenizer *t, int prev, int token, char *out, size_t cap) {
  const struct mdi_tok_pipeline *p = t->hf;
  size_t len, o = 0;
  const char *s = token_string(t, token, 1, &len);
  if (s) {
    struct hf_arena a = {0};
    struct strs l = {0};
    strs_push(&l, (char *)s, len);
    const int first = prev < 0 || prev >= t->vocab_size || is_special(p, prev);
    if (run(p, &l, &a, 1, first ? 0 : 1) == MDI_OK) /* the steps cannot fail on text already checked */
      for (int i = 0; i < l.n; i++) {
        /* max_token_length was raised to the longest decoding when the
         * pipeline was built; a longer one (past the 4096-byte limit) is cut */
        const size_t k = l.v[i].len < cap - 1 - o ? l.v[i].len : cap - 1 - o;
        o = (size_t)(copy_without_nul(out + o, l.v[i].s, k) - out);
      }
    free(l.v);
    hf_arena_free(&a);
  }
  out[o] = '\0';
  return o;
}

size_t mdi_hf_decode_piece_max(const struct mdi_tokenizer *t) {
  size_t growth = 1, longest = (size_t)t->max_token_length; /* a Replace may put its content in place of every byte */
  for (int k = 0; k < t->hf->n_dec; k++)
    if (t->hf->dec[k].type == HF_DEC_REPLACE && t->hf->dec[k].content_len > 1) growth *= t->hf->dec[k].content_len;
  for (int k = 0; k < t->hf->n_added; k++) /* a normalized added token decodes as its normalized text */
    if (t->hf->added[k].norm_len > longest) longest = t->hf->added[k].norm_len;
  size_t cap = growth * longest + 64, max = 0;
  char *buf = mdi_xmalloc(cap + 1, "decode buffer");
  for (int id = 0; id < t->vocab_size; id++)
    for (int first = 0; first < 2; first++) {
      /* the result bounds the runtime's buffers (max_token_length + 8) */
      const size_t n = mdi_hf_decode_piece(t, first ? -1 : id, id, buf, cap);
      if (n > max) max = n;
    }
  free(buf);
  return max;
}

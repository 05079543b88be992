/* Normalizers and pre-tokenizers of the "hf" pipeline (tokenizer_hf.h), as
 * tokenizers' NormalizedString and PreTokenizedString apply them; only the
 * text matters here, not the offsets tokenizers also tracks. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "regex.h"
#include "tokenizer_bpe.h"
#include "tokenizer_hf.h"
#include "unicode.h"

/* ---- memory of one encode ------------------------------------------------------- */

struct hf_arena_block {
  struct hf_arena_block *next;
  size_t used, cap;
  char data[];
};

char *hf_arena_alloc(struct hf_arena *a, size_t n) {
  struct hf_arena_block *b = a->head;
  if (!b || b->cap - b->used < n) {
    /* blocks grow from 4 KiB (decoding one token) to 1 MiB (a long text) */
    size_t cap = b ? (b->cap < ((size_t)1 << 20) ? 2 * b->cap : b->cap) : 4096;
    if (cap < n) cap = n;
    b = mdi_xmalloc(sizeof *b + cap, "tokenizer text");
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
  }
  char *p = b->data + b->used;
  b->used += n;
  return p;
}

void hf_arena_free(struct hf_arena *a) {
  while (a->head) {
    struct hf_arena_block *next = a->head->next;
    free(a->head);
    a->head = next;
  }
}

/* a[0..la) followed by b[0..lb), in the arena */
static char *concat(struct hf_arena *a, const char *x, size_t lx, const char *y, size_t ly) {
  char *p = hf_arena_alloc(a, lx + ly + 1);
  memcpy(p, x, lx);
  memcpy(p + lx, y, ly);
  p[lx + ly] = '\0';
  return p;
}

void hf_pieces_push(struct hf_pieces *l, const char *s, size_t len, int id, int origin0) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = mdi_xrealloc(l->v, (size_t)l->cap * sizeof *l->v, "tokenizer pieces");
  }
  l->v[l->n++] = (struct hf_piece){s, len, id, origin0};
}

static void spans_push(struct hf_spans *l, size_t start, size_t end, int match) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = mdi_xrealloc(l->v, (size_t)l->cap * sizeof *l->v, "tokenizer matches");
  }
  l->v[l->n++] = (struct hf_span){start, end, match};
}

static uint32_t cp_at(const char *s, size_t len, size_t i, int *n) {
  uint32_t cp;
  *n = mdi_utf8_decode(s + i, len - i, &cp);
  MDI_ASSERT(*n > 0); /* text is checked UTF-8 before encoding starts */
  return cp;
}

/* ---- matching ------------------------------------------------------------------------ */

int hf_find_matches(const struct hf_pattern *pat, const char *s, size_t len, struct hf_spans *out) {
  out->n = 0;
  if (len == 0) {
    spans_push(out, 0, 0, 0);
    return MDI_OK;
  }
  size_t prev = 0;
  if (pat->re) {
    struct mdi_regex_iter it;
    mdi_regex_iter_init(&it, pat->re, s, len);
    size_t ms, me;
    int rc;
    while ((rc = mdi_regex_iter_next(&it, &ms, &me)) == 1) {
      if (prev != ms) spans_push(out, prev, ms, 0);
      spans_push(out, ms, me, 1);
      prev = me;
    }
    mdi_regex_iter_free(&it);
    if (rc < 0) return MDI_ERR;
  } else {
    for (size_t i = 0; pat->len > 0 && i + pat->len <= len;) {
      const char *hit = memmem(s + i, len - i, pat->str, pat->len);
      if (!hit) break;
      const size_t ms = (size_t)(hit - s);
      if (prev != ms) spans_push(out, prev, ms, 0);
      spans_push(out, ms, ms + pat->len, 1);
      prev = i = ms + pat->len;
    }
  }
  if (prev != len) spans_push(out, prev, len, 0);
  return MDI_OK;
}

/* Matches of a character predicate: every matching character is a match of
 * its own (tokenizers' Pattern for Fn(char) -> bool). */
static void find_chars(const char *s, size_t len, int (*pred)(uint32_t cp, const void *arg), const void *arg,
                       struct hf_spans *out) {
  out->n = 0;
  if (len == 0) {
    spans_push(out, 0, 0, 0);
    return;
  }
  size_t last = 0;
  for (size_t i = 0; i < len;) {
    int n;
    const uint32_t cp = cp_at(s, len, i, &n);
    if (pred(cp, arg)) {
      if (last < i) spans_push(out, last, i, 0);
      spans_push(out, i, i + (size_t)n, 1);
      last = i + (size_t)n;
    }
    i += (size_t)n;
  }
  if (len > last) spans_push(out, last, len, 0);
}

/* Cut piece p at the spans by behavior (NormalizedString::split), dropping
 * empty results; the first result starting at offset 0 keeps origin0. */
static void split_by(const struct hf_piece *p, struct hf_spans *m, enum hf_behavior b, int invert,
                     struct hf_pieces *out) {
  if (invert)
    for (int i = 0; i < m->n; i++) m->v[i].match = !m->v[i].match;
  /* merge the spans in place as the behavior says; a removed span gets match 2 */
  int n = 0, prev_match = 0;
  switch (b) {
    case HF_ISOLATED:
      n = m->n;
      break;
    case HF_REMOVED:
      for (int i = 0; i < m->n; i++) m->v[n++] = (struct hf_span){m->v[i].start, m->v[i].end, m->v[i].match ? 2 : 0};
      break;
    case HF_CONTIGUOUS:
      for (int i = 0; i < m->n; i++) {
        if (n > 0 && m->v[i].match == prev_match) m->v[n - 1].end = m->v[i].end;
        else m->v[n++] = m->v[i];
        prev_match = m->v[i].match;
      }
      break;
    case HF_MERGED_WITH_PREVIOUS:
      for (int i = 0; i < m->n; i++) {
        if (m->v[i].match && !prev_match && n > 0) m->v[n - 1].end = m->v[i].end;
        else m->v[n++] = m->v[i];
        prev_match = m->v[i].match;
      }
      break;
    case HF_MERGED_WITH_NEXT: { /* from the end: a match joins the piece after it */
      int w = m->n;
      for (int i = m->n - 1; i >= 0; i--) {
        if (m->v[i].match && !prev_match && w < m->n) m->v[w].start = m->v[i].start;
        else m->v[--w] = m->v[i];
        prev_match = m->v[i].match;
      }
      for (int i = w; i < m->n; i++) m->v[n++] = m->v[i];
      break;
    }
  }
  for (int i = 0; i < n; i++) {
    const struct hf_span *s = &m->v[i];
    if (s->match == 2 || s->end == s->start) continue;
    hf_pieces_push(out, p->s + s->start, s->end - s->start, -1, p->origin0 && s->start == 0);
  }
}

/* ---- normalizers ------------------------------------------------------------------------ */

static int is_ws(uint32_t cp) { return mdi_unicode_is_whitespace(cp); }

/* Replace each match of pat in s by content. */
static int replace(const struct hf_pattern *pat, const char *content, size_t clen, const char **s, size_t *len,
                   struct hf_arena *a) {
  struct hf_spans m = {0};
  if (hf_find_matches(pat, *s, *len, &m) != MDI_OK) return free(m.v), MDI_ERR;
  size_t total = 0;
  for (int i = 0; i < m.n; i++) total += m.v[i].match ? clen : m.v[i].end - m.v[i].start;
  char *o = hf_arena_alloc(a, total + 1), *w = o;
  for (int i = 0; i < m.n; i++) {
    if (m.v[i].match) memcpy(w, content, clen), w += clen;
    else memcpy(w, *s + m.v[i].start, m.v[i].end - m.v[i].start), w += m.v[i].end - m.v[i].start;
  }
  *w = '\0';
  free(m.v);
  *s = o;
  *len = total;
  return MDI_OK;
}

/* Keep the malloc'd result buf[0..n) of a Unicode transformation in the arena. */
static void keep(char *buf, size_t n, const char **s, size_t *len, struct hf_arena *a) {
  *s = concat(a, buf, n, "", 0);
  *len = n;
  free(buf);
}

int hf_normalize(const struct mdi_tok_pipeline *p, const char *s, size_t len, struct hf_arena *a, const char **out,
                 size_t *out_len) {
  for (int k = 0; k < p->n_norm; k++) {
    const struct hf_norm *st = &p->norm[k];
    char *buf = NULL;
    size_t n = 0;
    switch (st->type) {
      case HF_NFC:
      case HF_NFD:
      case HF_NFKC:
      case HF_NFKD: {
        static const enum mdi_unicode_form form[] = {MDI_NFC, MDI_NFD, MDI_NFKC, MDI_NFKD};
        if (mdi_unicode_normalize(form[st->type - HF_NFC], s, len, &buf, &n) != MDI_OK) return MDI_ERR;
        keep(buf, n, &s, &len, a);
        break;
      }
      case HF_LOWERCASE:
        if (mdi_unicode_lowercase(s, len, &buf, &n) != MDI_OK) return MDI_ERR;
        keep(buf, n, &s, &len, a);
        break;
      case HF_PREPEND:
        if (len > 0) s = concat(a, st->text, st->text_len, s, len), len += st->text_len;
        break;
      case HF_REPLACE:
        if (replace(&st->pat, st->text, st->text_len, &s, &len, a) != MDI_OK) return MDI_ERR;
        break;
      case HF_STRIP: {
        int nb;
        while (st->left && len > 0 && is_ws(cp_at(s, len, 0, &nb))) s += nb, len -= (size_t)nb;
        while (st->right && len > 0) { /* the last character: step back over continuation bytes */
          size_t i = len - 1;
          while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
          if (!is_ws(cp_at(s, len, i, &nb))) break;
          len = i;
        }
        break;
      }
    }
  }
  *out = s;
  *out_len = len;
  return MDI_OK;
}

/* ---- pre-tokenizers --------------------------------------------------------------------- */

static int numeric(uint32_t cp, const void *arg) {
  (void)arg;
  return mdi_unicode_is_numeric(cp);
}

static int is_char(uint32_t cp, const void *arg) { return cp == *(const uint32_t *)arg; }

/* Each byte of s spelled as its byte-level character. */
static void byte_level_spell(struct hf_piece *p, struct hf_arena *a) {
  char *o = hf_arena_alloc(a, 2 * p->len + 1), *w = o;
  for (size_t i = 0; i < p->len; i++) w += mdi_bpe_byte_char((unsigned char)p->s[i], w);
  *w = '\0';
  p->s = o;
  p->len = (size_t)(w - o);
}

/* Metaspace on one piece: spaces become the replacement, which is prepended
 * as the scheme says, then the piece is split before each replacement. */
static void metaspace(const struct hf_pre *st, const struct hf_piece *p, struct hf_spans *m, struct hf_pieces *out,
                      struct hf_arena *a) {
  size_t spaces = 0;
  for (size_t i = 0; i < p->len; i++) spaces += p->s[i] == ' ';
  const int starts = p->len > 0 && (p->s[0] == ' ' || (p->len >= (size_t)st->repl_len &&
                                                       !memcmp(p->s, st->repl_utf8, (size_t)st->repl_len)));
  const int prepend = !starts && (st->prepend == HF_PREPEND_ALWAYS || (st->prepend == HF_PREPEND_FIRST && p->origin0));
  const size_t rl = (size_t)st->repl_len, len = p->len + spaces * (rl - 1) + (prepend ? rl : 0);
  char *o = hf_arena_alloc(a, len + 1), *w = o;
  if (prepend) memcpy(w, st->repl_utf8, rl), w += rl;
  for (size_t i = 0; i < p->len; i++) {
    if (p->s[i] == ' ') memcpy(w, st->repl_utf8, rl), w += rl;
    else *w++ = p->s[i];
  }
  *w = '\0';
  struct hf_piece q = {o, len, -1, p->origin0};
  if (!st->split) {
    if (len > 0) hf_pieces_push(out, o, len, -1, p->origin0);
    return;
  }
  find_chars(q.s, q.len, is_char, &st->repl, m);
  split_by(&q, m, HF_MERGED_WITH_NEXT, 0, out);
}

int hf_pre_tokenize(const struct hf_pre *st, const struct hf_pieces *in, struct hf_pieces *out, struct hf_arena *a) {
  struct hf_spans m = {0};
  int rc = MDI_OK;
  out->n = 0;
  for (int i = 0; i < in->n && rc == MDI_OK; i++) {
    struct hf_piece p = in->v[i];
    if (p.id >= 0) {
      hf_pieces_push(out, p.s, p.len, p.id, p.origin0);
      continue;
    }
    switch (st->type) {
      case HF_SPLIT:
        if ((rc = hf_find_matches(&st->pat, p.s, p.len, &m)) == MDI_OK) split_by(&p, &m, st->behavior, st->invert, out);
        break;
      case HF_DIGITS:
        find_chars(p.s, p.len, numeric, NULL, &m);
        split_by(&p, &m, st->individual_digits ? HF_ISOLATED : HF_CONTIGUOUS, 0, out);
        break;
      case HF_METASPACE:
        metaspace(st, &p, &m, out, a);
        break;
      case HF_BYTE_LEVEL: {
        if (st->add_prefix_space && (p.len == 0 || p.s[0] != ' ')) p.s = concat(a, " ", 1, p.s, p.len), p.len++;
        const int first = out->n;
        if (!st->use_regex) {
          if (p.len > 0) hf_pieces_push(out, p.s, p.len, -1, p.origin0);
        } else if ((rc = hf_find_matches(&st->pat, p.s, p.len, &m)) == MDI_OK) {
          split_by(&p, &m, HF_ISOLATED, 0, out);
        }
        for (int k = first; k < out->n; k++) byte_level_spell(&out->v[k], a);
        break;
      }
    }
  }
  free(m.v);
  return rc;
}

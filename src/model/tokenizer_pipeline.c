/* The "hf" pipeline: its description (docs/FORMAT.md, "The tokenizer
 * group", /tokenizer/pipeline) read into tokenizer_hf.h's structures, and
 * the lookups encoding needs (the model's vocabulary, the added tokens'
 * tries).
 *
 * The normalizer, pre_tokenizer and decoder objects are those of
 * tokenizer.json, with the same keys and defaults as tokenizers gives them
 * when it deserializes the file; Sequences are flattened into lists of
 * steps.  Anything else is refused with its name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/base/utf8.h"
#include "regex.h"
#include "tokenizer_bpe.h"
#include "tokenizer_hf.h"

#define MAX_STEPS 64 /* steps of one normalizer, pre-tokenizer or decoder after flattening */

/* ---- JSON helpers --------------------------------------------------------------- */

struct ctx {
  const char *src;
  struct mdi_tokenizer *t;
  struct mdi_tok_pipeline *p;
};

static const char *type_of(const struct mdi_json *o) {
  const char *s = mdi_json_string(mdi_json_get(o, "type"));
  return s ? s : "";
}

/* Boolean member `key` of o (fallback when absent or null). */
static int get_bool(const struct ctx *c, const struct mdi_json *o, const char *key, int fallback, int *out,
                    const char *what) {
  const struct mdi_json *v = mdi_json_get(o, key);
  if (!v || mdi_json_type(v) == MDI_JSON_NULL) return *out = fallback, MDI_OK;
  if (mdi_json_type(v) != MDI_JSON_BOOL) return mdi_fail("%s: %s: \"%s\" must be true or false", c->src, what, key);
  *out = mdi_json_bool(v);
  return MDI_OK;
}

static int get_int(const struct ctx *c, const struct mdi_json *o, const char *key, int64_t lo, int64_t hi,
                   int64_t fallback, int64_t *out, const char *what) {
  const struct mdi_json *v = mdi_json_get(o, key);
  if (!v || mdi_json_type(v) == MDI_JSON_NULL) return *out = fallback, MDI_OK;
  if (!mdi_json_int(v, lo, hi, out))
    return mdi_fail("%s: %s: \"%s\" must be an integer in [%lld, %lld]", c->src, what, key, (long long)lo,
                    (long long)hi);
  return MDI_OK;
}

/* String member `key` (NULL when absent or null when optional). */
static int get_str(const struct ctx *c, const struct mdi_json *o, const char *key, int required, const char **out,
                   const char *what) {
  const struct mdi_json *v = mdi_json_get(o, key);
  *out = NULL;
  if (!v || mdi_json_type(v) == MDI_JSON_NULL) {
    if (required) return mdi_fail("%s: %s needs a string \"%s\"", c->src, what, key);
    return MDI_OK;
  }
  if (!(*out = mdi_json_string(v))) return mdi_fail("%s: %s: \"%s\" must be a string", c->src, what, key);
  return MDI_OK;
}

/* A single character given as a string (Metaspace replacement, Strip content). */
static int get_char(const struct ctx *c, const struct mdi_json *o, const char *key, uint32_t *cp, const char *what) {
  const char *s;
  if (get_str(c, o, key, 1, &s, what) != MDI_OK) return MDI_ERR;
  const size_t len = strlen(s);
  if (len == 0 || mdi_utf8_decode(s, len, cp) != (int)len)
    return mdi_fail("%s: %s: \"%s\" must be one character", c->src, what, key);
  return MDI_OK;
}

/* {"String": s} or {"Regex": r}. */
static int get_pattern(const struct ctx *c, const struct mdi_json *o, struct hf_pattern *pat, const char *what) {
  const struct mdi_json *v = mdi_json_get(o, "pattern");
  const char *s = mdi_json_string(mdi_json_get(v, "String")), *r = mdi_json_string(mdi_json_get(v, "Regex"));
  if (!s && !r) return mdi_fail("%s: %s needs \"pattern\": {\"String\": ...} or {\"Regex\": ...}", c->src, what);
  pat->str = mdi_xstrdup(s ? s : r);
  pat->len = strlen(pat->str);
  if (r) {
    char where[160];
    snprintf(where, sizeof where, "%s: %s", c->src, what);
    return mdi_regex_new(&pat->re, pat->str, pat->len, where);
  }
  return MDI_OK;
}

static void free_pattern(struct hf_pattern *pat) {
  free(pat->str);
  mdi_regex_free(pat->re);
}

/* Metaspace's prepend scheme: "prepend_scheme" (default always), or the
 * older add_prefix_space (false means never). */
static int get_prepend(const struct ctx *c, const struct mdi_json *o, enum hf_prepend *out, const char *what) {
  const char *scheme;
  int add_prefix = 1;
  if (get_str(c, o, "prepend_scheme", 0, &scheme, what) != MDI_OK ||
      get_bool(c, o, "add_prefix_space", 1, &add_prefix, what) != MDI_OK)
    return MDI_ERR;
  *out = HF_PREPEND_ALWAYS;
  if (scheme && !strcmp(scheme, "first")) *out = HF_PREPEND_FIRST;
  else if (scheme && !strcmp(scheme, "never")) *out = HF_PREPEND_NEVER;
  else if (scheme && strcmp(scheme, "always") != 0)
    return mdi_fail("%s: %s: prepend_scheme \"%s\" is not always, first or never", c->src, what, scheme);
  if (!add_prefix) {
    if (*out != HF_PREPEND_NEVER && scheme)
      return mdi_fail("%s: %s: add_prefix_space false does not match prepend_scheme \"%s\"", c->src, what, scheme);
    *out = HF_PREPEND_NEVER;
  }
  return MDI_OK;
}

/* ---- the steps -------------------------------------------------------------------- */

/* Append the steps of o (a step or a Sequence of steps under `list_key`). */
typedef int (*step_fn)(struct ctx *c, const struct mdi_json *o, void *steps, int *n);

static int flatten(struct ctx *c, const struct mdi_json *o, const char *list_key, step_fn one, void *steps, int *n,
                   int depth) {
  if (!o || mdi_json_type(o) == MDI_JSON_NULL) return MDI_OK;
  if (mdi_json_type(o) != MDI_JSON_OBJECT || depth > 8)
    return mdi_fail("%s: a pipeline step must be an object (Sequences nest at most 8 deep)", c->src);
  if (!strcmp(type_of(o), "Sequence")) {
    const struct mdi_json *list = mdi_json_get(o, list_key);
    if (!list || mdi_json_type(list) != MDI_JSON_ARRAY)
      return mdi_fail("%s: Sequence needs a list \"%s\"", c->src, list_key);
    for (const struct mdi_json *s = mdi_json_first(list); s; s = mdi_json_next(s))
      if (flatten(c, s, list_key, one, steps, n, depth + 1) != MDI_OK) return MDI_ERR;
    return MDI_OK;
  }
  if (*n >= MAX_STEPS) return mdi_fail("%s: more than %d pipeline steps", c->src, MAX_STEPS);
  return one(c, o, steps, n);
}

static int one_norm(struct ctx *c, const struct mdi_json *o, void *steps, int *n) {
  struct hf_norm *s = (struct hf_norm *)steps + *n;
  memset(s, 0, sizeof *s);
  const char *type = type_of(o), *text;
  (*n)++; /* counted before it can fail, so that free releases what it holds */
  if (!strcmp(type, "NFC")) s->type = HF_NFC;
  else if (!strcmp(type, "NFD")) s->type = HF_NFD;
  else if (!strcmp(type, "NFKC")) s->type = HF_NFKC;
  else if (!strcmp(type, "NFKD")) s->type = HF_NFKD;
  else if (!strcmp(type, "Lowercase")) s->type = HF_LOWERCASE;
  else if (!strcmp(type, "Prepend")) {
    s->type = HF_PREPEND;
    if (get_str(c, o, "prepend", 1, &text, "normalizer Prepend") != MDI_OK) return MDI_ERR;
    s->text = mdi_xstrdup(text);
    s->text_len = strlen(text);
  } else if (!strcmp(type, "Replace")) {
    s->type = HF_REPLACE;
    if (get_str(c, o, "content", 1, &text, "normalizer Replace") != MDI_OK) return MDI_ERR;
    s->text = mdi_xstrdup(text);
    s->text_len = strlen(text);
    if (get_pattern(c, o, &s->pat, "normalizer Replace") != MDI_OK) return MDI_ERR;
  } else if (!strcmp(type, "Strip")) {
    s->type = HF_STRIP;
    if (get_bool(c, o, "strip_left", 1, &s->left, "normalizer Strip") != MDI_OK ||
        get_bool(c, o, "strip_right", 1, &s->right, "normalizer Strip") != MDI_OK)
      return MDI_ERR;
  } else {
    return mdi_fail("%s: normalizer \"%s\" is not supported (NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, "
                    "Strip and Sequence are)", c->src, type);
  }
  return MDI_OK;
}

static int behavior(const struct ctx *c, const char *s, enum hf_behavior *b) {
  static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
  for (int i = 0; i < 5; i++)
    if (s && !strcmp(s, names[i])) return *b = (enum hf_behavior)i, MDI_OK;
  return mdi_fail("%s: pre-tokenizer Split: behavior \"%s\" is not one of Removed, Isolated, MergedWithPrevious, "
                  "MergedWithNext, Contiguous", c->src, s ? s : "");
}

static int one_pre(struct ctx *c, const struct mdi_json *o, void *steps, int *n) {
  struct hf_pre *s = (struct hf_pre *)steps + *n;
  memset(s, 0, sizeof *s);
  const char *type = type_of(o), *b;
  (*n)++;
  if (!strcmp(type, "Split")) {
    s->type = HF_SPLIT;
    if (get_pattern(c, o, &s->pat, "pre-tokenizer Split") != MDI_OK ||
        get_str(c, o, "behavior", 1, &b, "pre-tokenizer Split") != MDI_OK || behavior(c, b, &s->behavior) != MDI_OK ||
        get_bool(c, o, "invert", 0, &s->invert, "pre-tokenizer Split") != MDI_OK)
      return MDI_ERR;
  } else if (!strcmp(type, "ByteLevel")) {
    s->type = HF_BYTE_LEVEL;
    if (get_bool(c, o, "add_prefix_space", 1, &s->add_prefix_space, "pre-tokenizer ByteLevel") != MDI_OK ||
        get_bool(c, o, "use_regex", 1, &s->use_regex, "pre-tokenizer ByteLevel") != MDI_OK)
      return MDI_ERR;
    if (s->use_regex) { /* the GPT-2 pattern built into ByteLevel */
      static const char gpt2[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
      s->pat.str = mdi_xstrdup(gpt2);
      s->pat.len = strlen(gpt2);
      if (mdi_regex_new(&s->pat.re, gpt2, s->pat.len, c->src) != MDI_OK) return MDI_ERR;
    }
  } else if (!strcmp(type, "Metaspace")) {
    s->type = HF_METASPACE;
    if (get_char(c, o, "replacement", &s->repl, "pre-tokenizer Metaspace") != MDI_OK ||
        get_prepend(c, o, &s->prepend, "pre-tokenizer Metaspace") != MDI_OK ||
        get_bool(c, o, "split", 1, &s->split, "pre-tokenizer Metaspace") != MDI_OK)
      return MDI_ERR;
    s->repl_len = mdi_utf8_encode(s->repl, s->repl_utf8);
  } else if (!strcmp(type, "Digits")) {
    s->type = HF_DIGITS;
    if (get_bool(c, o, "individual_digits", 0, &s->individual_digits, "pre-tokenizer Digits") != MDI_OK)
      return MDI_ERR;
  } else {
    return mdi_fail("%s: pre-tokenizer \"%s\" is not supported (Split, ByteLevel, Metaspace, Digits and Sequence "
                    "are)", c->src, type);
  }
  return MDI_OK;
}

static int one_dec(struct ctx *c, const struct mdi_json *o, void *steps, int *n) {
  struct hf_dec *s = (struct hf_dec *)steps + *n;
  memset(s, 0, sizeof *s);
  const char *type = type_of(o), *text;
  (*n)++;
  if (!strcmp(type, "ByteLevel")) s->type = HF_DEC_BYTE_LEVEL;
  else if (!strcmp(type, "ByteFallback")) s->type = HF_DEC_BYTE_FALLBACK;
  else if (!strcmp(type, "Fuse")) s->type = HF_DEC_FUSE;
  else if (!strcmp(type, "Metaspace")) {
    s->type = HF_DEC_METASPACE;
    if (get_char(c, o, "replacement", &s->cp, "decoder Metaspace") != MDI_OK ||
        get_prepend(c, o, &s->prepend, "decoder Metaspace") != MDI_OK)
      return MDI_ERR;
  } else if (!strcmp(type, "Replace")) {
    s->type = HF_DEC_REPLACE;
    if (get_str(c, o, "content", 1, &text, "decoder Replace") != MDI_OK ||
        get_pattern(c, o, &s->pat, "decoder Replace") != MDI_OK)
      return MDI_ERR;
    s->content = mdi_xstrdup(text);
    s->content_len = strlen(text);
  } else if (!strcmp(type, "Strip")) {
    s->type = HF_DEC_STRIP;
    int64_t start, stop;
    if (get_char(c, o, "content", &s->cp, "decoder Strip") != MDI_OK ||
        get_int(c, o, "start", 0, 1 << 20, 0, &start, "decoder Strip") != MDI_OK ||
        get_int(c, o, "stop", 0, 1 << 20, 0, &stop, "decoder Strip") != MDI_OK)
      return MDI_ERR;
    s->start = (int)start;
    s->stop = (int)stop;
  } else {
    return mdi_fail("%s: decoder \"%s\" is not supported (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip "
                    "and Sequence are)", c->src, type);
  }
  return MDI_OK;
}

/* ---- lookups ------------------------------------------------------------------------ */

static uint32_t str_hash(const char *s, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

int mdi_hf_vocab_lookup(const struct mdi_tok_pipeline *p, const struct mdi_tokenizer *t, const char *s, size_t len) {
  const struct hf_vocab_hash *v = &p->vocab;
  for (uint32_t i = str_hash(s, len) & v->mask;; i = (i + 1) & v->mask) {
    const int id = v->slots[i];
    if (id < 0) return -1;
    if ((size_t)t->piece_lens[id] == len && memcmp(t->pieces[id], s, len) == 0) return id;
  }
}

/* The model's vocabulary: every non-empty piece except the added tokens
 * that are not also in it; a piece listed twice keeps its lowest id. */
static void build_vocab(struct mdi_tokenizer *t, struct mdi_tok_pipeline *p) {
  uint32_t cap = 16;
  while (cap < 2u * (uint32_t)t->vocab_size) cap *= 2;
  p->vocab.slots = mdi_xmalloc((size_t)cap * sizeof *p->vocab.slots, "tokenizer vocabulary");
  p->vocab.mask = cap - 1;
  for (uint32_t i = 0; i < cap; i++) p->vocab.slots[i] = -1;
  for (int id = 0; id < t->vocab_size; id++) {
    const int a = p->added_of_id[id];
    if (t->piece_lens[id] == 0 || (a >= 0 && !p->added[a].in_vocab)) continue;
    for (uint32_t i = str_hash(t->pieces[id], (size_t)t->piece_lens[id]) & p->vocab.mask;; i = (i + 1) & p->vocab.mask) {
      const int other = p->vocab.slots[i];
      if (other < 0) {
        p->vocab.slots[i] = id;
        break;
      }
      if (t->piece_lens[other] == t->piece_lens[id] && !memcmp(t->pieces[other], t->pieces[id], (size_t)t->piece_lens[id]))
        break;
    }
  }
  for (int b = 0; b < 256; b++) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    p->byte_piece[b] = mdi_hf_vocab_lookup(p, t, name, 6);
  }
}

static void trie_add(struct hf_trie *tr, const char *s, size_t len, int token) {
  if (tr->n == 0) {
    tr->cap = 64;
    tr->nodes = mdi_xmalloc((size_t)tr->cap * sizeof *tr->nodes, "added-token trie");
    tr->nodes[tr->n++] = (struct hf_trie_node){-1, -1, -1, 0};
  }
  int node = 0;
  for (size_t i = 0; i < len; i++) {
    const unsigned char b = (unsigned char)s[i];
    int ch = tr->nodes[node].child;
    while (ch >= 0 && tr->nodes[ch].byte != b) ch = tr->nodes[ch].sibling;
    if (ch < 0) {
      if (tr->n == tr->cap) {
        tr->cap *= 2;
        tr->nodes = mdi_xrealloc(tr->nodes, (size_t)tr->cap * sizeof *tr->nodes, "added-token trie");
      }
      ch = tr->n++;
      tr->nodes[ch] = (struct hf_trie_node){-1, tr->nodes[node].child, -1, b};
      tr->nodes[node].child = ch;
    }
    node = ch;
  }
  tr->nodes[node].token = token; /* a content listed twice: the later token, as tokenizers' map */
}

/* ---- added tokens, model, post-processor ------------------------------------------- */

static int read_added(struct ctx *c, const struct mdi_json *list) {
  struct mdi_tok_pipeline *p = c->p;
  struct mdi_tokenizer *t = c->t;
  if (list && mdi_json_type(list) != MDI_JSON_ARRAY) return mdi_fail("%s: \"added_tokens\" must be a list", c->src);
  p->n_added = 0;
  p->added = mdi_xcalloc((size_t)mdi_json_count(list) + 1, sizeof *p->added, "added tokens");
  for (const struct mdi_json *o = mdi_json_first(list); o; o = mdi_json_next(o)) {
    struct hf_added *a = &p->added[p->n_added];
    int64_t id;
    const char *content;
    int special = 0, lstrip = 0, rstrip = 0, normalized = 0, single_word = 0, in_vocab = 0;
    if (get_int(c, o, "id", 0, t->vocab_size - 1, -1, &id, "added token") != MDI_OK ||
        get_str(c, o, "content", 1, &content, "added token") != MDI_OK ||
        get_bool(c, o, "special", 0, &special, "added token") != MDI_OK ||
        get_bool(c, o, "lstrip", 0, &lstrip, "added token") != MDI_OK ||
        get_bool(c, o, "rstrip", 0, &rstrip, "added token") != MDI_OK ||
        get_bool(c, o, "normalized", !special, &normalized, "added token") != MDI_OK ||
        get_bool(c, o, "single_word", 0, &single_word, "added token") != MDI_OK ||
        get_bool(c, o, "in_vocab", 0, &in_vocab, "added token") != MDI_OK)
      return MDI_ERR;
    const size_t len = strlen(content);
    if (id < 0) return mdi_fail("%s: added token \"%.40s\" has no id", c->src, content);
    if (len == 0) continue; /* tokenizers ignores empty added tokens */
    if ((size_t)t->piece_lens[id] != len || memcmp(t->pieces[id], content, len) != 0)
      return mdi_fail("%s: added token %lld is \"%.40s\" but piece %lld is \"%.40s\"", c->src, (long long)id, content,
                      (long long)id, t->pieces[id]);
    *a = (struct hf_added){.id = (int)id, .content = mdi_xstrdup(content), .len = len, .special = (unsigned char)special,
                           .lstrip = (unsigned char)lstrip, .rstrip = (unsigned char)rstrip,
                           .normalized = (unsigned char)normalized, .single_word = (unsigned char)single_word,
                           .in_vocab = (unsigned char)in_vocab};
    p->added_of_id[id] = p->n_added++;
  }
  return MDI_OK;
}

/* The normalized form of each `normalized` added token, and the two tries. */
static int build_tries(struct ctx *c) {
  struct mdi_tok_pipeline *p = c->p;
  for (int i = 0; i < p->n_added; i++) {
    struct hf_added *a = &p->added[i];
    if (!a->normalized) {
      trie_add(&p->raw_trie, a->content, a->len, i);
      continue;
    }
    struct hf_arena arena = {0};
    const char *s;
    size_t len;
    if (hf_normalize(p, a->content, a->len, &arena, &s, &len) != MDI_OK) {
      hf_arena_free(&arena);
      return mdi_fail_context("%s: normalizing added token \"%.40s\"", c->src, a->content);
    }
    a->norm = mdi_xmalloc(len + 1, "added token");
    memcpy(a->norm, s, len);
    a->norm[len] = '\0';
    a->norm_len = len;
    hf_arena_free(&arena);
    if (len > 0) trie_add(&p->norm_trie, a->norm, a->norm_len, i);
  }
  return MDI_OK;
}

static int read_ids(struct ctx *c, const struct mdi_json *o, const char *key, int **ids, int *n) {
  const struct mdi_json *list = mdi_json_get(o, key);
  *n = 0;
  *ids = mdi_xmalloc(((size_t)mdi_json_count(list) + 1) * sizeof **ids, "post-processor ids");
  if (list && mdi_json_type(list) != MDI_JSON_ARRAY)
    return mdi_fail("%s: post_processor \"%s\" must be a list of ids", c->src, key);
  for (const struct mdi_json *v = mdi_json_first(list); v; v = mdi_json_next(v)) {
    int64_t id;
    if (!mdi_json_int(v, 0, c->t->vocab_size - 1, &id))
      return mdi_fail("%s: post_processor \"%s\" holds a value that is not an id in [0, %d)", c->src, key,
                      c->t->vocab_size);
    (*ids)[(*n)++] = (int)id;
  }
  return MDI_OK;
}

static int read_model(struct ctx *c, const struct mdi_json *m) {
  struct mdi_tok_pipeline *p = c->p;
  const char *unk, *prefix, *suffix, *order;
  if (m && mdi_json_type(m) != MDI_JSON_OBJECT) return mdi_fail("%s: \"model\" must be an object", c->src);
  if (get_bool(c, m, "byte_fallback", 0, &p->byte_fallback, "model") != MDI_OK ||
      get_bool(c, m, "ignore_merges", 0, &p->ignore_merges, "model") != MDI_OK ||
      get_bool(c, m, "fuse_unk", 0, &p->fuse_unk, "model") != MDI_OK ||
      get_str(c, m, "unk_token", 0, &unk, "model") != MDI_OK ||
      get_str(c, m, "continuing_subword_prefix", 0, &prefix, "model") != MDI_OK ||
      get_str(c, m, "end_of_word_suffix", 0, &suffix, "model") != MDI_OK ||
      get_str(c, m, "merge_order", 0, &order, "model") != MDI_OK)
    return MDI_ERR;
  if (order && strcmp(order, "rank") != 0 && strcmp(order, "score") != 0)
    return mdi_fail("%s: model: merge_order \"%s\" is not rank or score", c->src, order);
  p->by_score = order && !strcmp(order, "score");
  if (prefix && *prefix) p->subword_prefix = mdi_xstrdup(prefix), p->subword_prefix_len = strlen(prefix);
  if (suffix && *suffix) p->word_suffix = mdi_xstrdup(suffix), p->word_suffix_len = strlen(suffix);
  p->unk_id = -1;
  /* tokenizers looks the unknown token up only when a character needs it
   * (never, in a byte-level vocabulary): so is it here */
  if (unk && (p->unk_id = mdi_hf_vocab_lookup(p, c->t, unk, strlen(unk))) < 0) p->unk_missing = mdi_xstrdup(unk);
  return MDI_OK;
}

/* The merged piece of (a, b) in the model's vocabulary: b without the
 * continuing-subword prefix, as tokenizers builds its merge map. */
static int merge_result(const struct mdi_tokenizer *t, int a, int b, char *buf) {
  const struct mdi_tok_pipeline *p = t->hf;
  const size_t la = (size_t)t->piece_lens[a], lb = (size_t)t->piece_lens[b];
  size_t skip = 0;
  if (p->subword_prefix && lb >= p->subword_prefix_len && !memcmp(t->pieces[b], p->subword_prefix, p->subword_prefix_len))
    skip = p->subword_prefix_len;
  memcpy(buf, t->pieces[a], la);
  memcpy(buf + la, t->pieces[b] + skip, lb - skip);
  return mdi_hf_vocab_lookup(p, t, buf, la + lb - skip);
}

/* ---- building and freeing --------------------------------------------------------- */

void mdi_hf_pipeline_free(struct mdi_tok_pipeline *p) {
  if (!p) return;
  for (int i = 0; i < p->n_norm; i++) free(p->norm[i].text), free_pattern(&p->norm[i].pat);
  for (int i = 0; i < p->n_pre; i++) free_pattern(&p->pre[i].pat);
  for (int i = 0; i < p->n_dec; i++) free(p->dec[i].content), free_pattern(&p->dec[i].pat);
  for (int i = 0; i < p->n_added; i++) free(p->added[i].content), free(p->added[i].norm);
  free(p->norm);
  free(p->pre);
  free(p->dec);
  free(p->added);
  free(p->added_of_id);
  free(p->raw_trie.nodes);
  free(p->norm_trie.nodes);
  free(p->prefix);
  free(p->suffix);
  free(p->unk_missing);
  free(p->subword_prefix);
  free(p->word_suffix);
  free(p->vocab.slots);
  free(p->json);
  free(p);
}

static int build(struct ctx *c, const struct mdi_json *root) {
  struct mdi_tok_pipeline *p = c->p;
  if (mdi_json_type(root) != MDI_JSON_OBJECT) return mdi_fail("%s: the pipeline must be a JSON object", c->src);
  p->norm = mdi_xcalloc(MAX_STEPS, sizeof *p->norm, "normalizer");
  p->pre = mdi_xcalloc(MAX_STEPS, sizeof *p->pre, "pre-tokenizer");
  p->dec = mdi_xcalloc(MAX_STEPS, sizeof *p->dec, "decoder");
  p->added_of_id = mdi_xmalloc((size_t)c->t->vocab_size * sizeof *p->added_of_id, "added tokens");
  for (int i = 0; i < c->t->vocab_size; i++) p->added_of_id[i] = -1;
  const struct mdi_json *post = mdi_json_get(root, "post_processor");
  if (flatten(c, mdi_json_get(root, "normalizer"), "normalizers", one_norm, p->norm, &p->n_norm, 0) != MDI_OK ||
      flatten(c, mdi_json_get(root, "pre_tokenizer"), "pretokenizers", one_pre, p->pre, &p->n_pre, 0) != MDI_OK ||
      flatten(c, mdi_json_get(root, "decoder"), "decoders", one_dec, p->dec, &p->n_dec, 0) != MDI_OK ||
      read_added(c, mdi_json_get(root, "added_tokens")) != MDI_OK)
    return MDI_ERR;
  build_vocab(c->t, p);
  if (read_model(c, mdi_json_get(root, "model")) != MDI_OK || build_tries(c) != MDI_OK ||
      read_ids(c, post, "prefix", &p->prefix, &p->n_prefix) != MDI_OK ||
      read_ids(c, post, "suffix", &p->suffix, &p->n_suffix) != MDI_OK)
    return MDI_ERR;
  return MDI_OK;
}

/* Build the pipeline from json and make the merge table on it. */
static int build_all(struct mdi_tokenizer *t, const char *json, size_t len, const int32_t *merges, int n_merges,
                     const char *src) {
  struct mdi_json_doc *doc;
  if (mdi_json_parse(&doc, json, len, src) != MDI_OK) return MDI_ERR;
  struct mdi_tok_pipeline *p = mdi_xcalloc(1, sizeof *p, "tokenizer pipeline");
  struct ctx c = {src, t, p};
  struct mdi_tok_pipeline *old = t->hf;
  t->hf = p; /* merge_result reads it */
  int rc = build(&c, mdi_json_root(doc));
  mdi_json_free(doc);
  if (rc == MDI_OK) {
    p->json = mdi_xmalloc(len + 1, "tokenizer pipeline");
    memcpy(p->json, json, len);
    p->json[len] = '\0';
    p->json_len = len;
    rc = bpe_build_merges(t, merges, n_merges, merge_result, src);
  }
  if (rc == MDI_OK && p->n_dec > 0) { /* decode buffers are sized from max_token_length */
    const size_t longest = mdi_hf_decode_piece_max(t);
    if (longest > (size_t)t->max_token_length)
      t->max_token_length = longest < MDI_MAX_PIECE_BYTES ? (int)longest : MDI_MAX_PIECE_BYTES;
  }
  if (rc != MDI_OK) {
    t->hf = old;
    mdi_hf_pipeline_free(p);
    return MDI_ERR;
  }
  mdi_hf_pipeline_free(old);
  return MDI_OK;
}

int mdi_tokenizer_set_hf(struct mdi_tokenizer *t, const int32_t *merges, int n_merges, const char *json, size_t len,
                         const char *source) {
  const char *src = source ? source : "tokenizer";
  if (!mdi_utf8_valid(json, len)) return mdi_fail("%s: the tokenizer pipeline is not valid UTF-8", src);
  const enum mdi_tokenizer_kind kind = t->kind;
  t->kind = MDI_TOKENIZER_HF;
  if (build_all(t, json, len, merges, n_merges, src) != MDI_OK) {
    t->kind = kind;
    return MDI_ERR;
  }
  t->add_bos = t->hf->n_prefix > 0 && t->hf->prefix[0] == t->bos_id;
  return MDI_OK;
}

int mdi_tokenizer_set_byte_bpe(struct mdi_tokenizer *t, const int32_t *merges, int n_merges, const char *source) {
  const char *src = source ? source : "tokenizer";
  for (int b = 0; b < 256; b++) {
    char s[2];
    const int n = mdi_bpe_byte_char(b, s);
    if (mdi_tokenizer_lookup(t, s, n) < 0)
      return mdi_fail("%s: byte-level tokenizer has no piece for byte 0x%02X (spelled \"%.*s\")", src, b, n, s);
  }
  static const char gpt2[] = "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                             "\"use_regex\": true}, \"decoder\": {\"type\": \"ByteLevel\"}}";
  if (build_all(t, gpt2, strlen(gpt2), merges, n_merges, src) != MDI_OK) return MDI_ERR;
  for (int b = 0; b < 256; b++) {
    char s[2];
    const int n = mdi_bpe_byte_char(b, s);
    t->byte_ids[b] = mdi_hf_vocab_lookup(t->hf, t, s, (size_t)n);
  }
  t->kind = MDI_TOKENIZER_BYTE_BPE;
  t->add_bos = 0;
  return MDI_OK;
}

const char *mdi_tokenizer_pipeline_json(const struct mdi_tokenizer *t) {
  return t->kind == MDI_TOKENIZER_HF && t->hf ? t->hf->json : NULL;
}

/* Hugging Face tokenizer.json (BPE models) to the tokenizer of the model
 * file (kind "hf"; see convert.h, docs/MODELS.md and docs/FORMAT.md).
 *
 * The vocabulary and the added tokens become the pieces (exactly as spelled
 * in the file), the merges become id pairs in rank order, and the rest of
 * the pipeline is kept as the JSON description the runtime runs
 * (/tokenizer/pipeline): the normalizer, pre_tokenizer and decoder objects
 * as they are, the model's flags, the added tokens with their flags, and the
 * post-processor reduced to the ids it puts before and after a single text.
 * Building the runtime tokenizer from that description checks every step,
 * so what is not supported is refused here, by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/tokenizer.h"

#define MAX_TOKENIZER_BYTES ((size_t)512 << 20)
#define MAX_IDS (1 << 24)
#define MAX_DEPTH 12 /* nesting of the objects copied into the description */

/* A piece and its id, sorted by piece for lookups. */
struct entry {
  const char *s;
  int id;
};

static int entry_cmp(const void *a, const void *b) {
  const struct entry *x = a, *y = b;
  int c = strcmp(x->s, y->s);
  return c ? c : (x->id > y->id) - (x->id < y->id);
}

struct vocab {
  const char *path;
  int n;                /* vocab_size of the model */
  const char **pieces;  /* [n] strings of the document; NULL for ids without a piece */
  struct entry *model;  /* [n_model] model.vocab sorted by piece */
  int n_model;
};

/* Id of s in model.vocab, or -1. */
static int lookup(const struct vocab *v, const char *s) {
  int lo = 0, hi = v->n_model;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (strcmp(v->model[mid].s, s) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < v->n_model && strcmp(v->model[lo].s, s) == 0 ? v->model[lo].id : -1;
}

static int depth(const struct mdi_json *o) {
  int d = 0;
  for (const struct mdi_json *e = mdi_json_first(o); e; e = mdi_json_next(e)) {
    const int k = depth(e);
    if (k > d) d = k;
  }
  return mdi_json_type(o) == MDI_JSON_ARRAY || mdi_json_type(o) == MDI_JSON_OBJECT ? d + 1 : 0;
}

static int flag(const struct mdi_json *o, const char *key, int fallback) {
  const struct mdi_json *v = mdi_json_get(o, key);
  return v && mdi_json_type(v) == MDI_JSON_BOOL ? mdi_json_bool(v) : fallback;
}

/* ---- vocabulary ---------------------------------------------------------------- */

/* Give id `id` the piece s; the same id may not get two different pieces. */
static int set_piece(struct vocab *v, int64_t id, const char *s, const char *where) {
  if (id < 0 || id >= v->n)
    return mdi_fail("%s: %s \"%.40s\" has id %lld, outside the model's vocab_size %d", v->path, where, s, (long long)id,
                    v->n);
  if (v->pieces[id] && strcmp(v->pieces[id], s) != 0)
    return mdi_fail("%s: id %lld is both \"%.40s\" and \"%.40s\"", v->path, (long long)id, v->pieces[id], s);
  if (!*s) return mdi_fail("%s: %s %lld is the empty string", v->path, where, (long long)id);
  v->pieces[id] = s;
  return MDI_OK;
}

static int read_vocab(struct vocab *v, const struct mdi_json *model) {
  const struct mdi_json *vocab = mdi_json_get(model, "vocab");
  if (!vocab || mdi_json_type(vocab) != MDI_JSON_OBJECT)
    return mdi_fail("%s: model.vocab must be an object mapping pieces to ids", v->path);
  v->model = mdi_xmalloc(((size_t)mdi_json_count(vocab) + 1) * sizeof *v->model, "tokenizer vocabulary");
  for (const struct mdi_json *e = mdi_json_first(vocab); e; e = mdi_json_next(e)) {
    int64_t id;
    if (!mdi_json_int(e, 0, MAX_IDS, &id)) return mdi_fail("%s: vocab entry \"%.40s\" is not an id", v->path, mdi_json_key(e));
    if (set_piece(v, id, mdi_json_key(e), "piece") != MDI_OK) return MDI_ERR;
    v->model[v->n_model++] = (struct entry){mdi_json_key(e), (int)id};
  }
  qsort(v->model, (size_t)v->n_model, sizeof *v->model, entry_cmp);
  return MDI_OK;
}

/* The added tokens into the pieces and the description.  Ids are the
 * file's; tokenizers numbers the tokens that are not in model.vocab itself
 * (from the vocabulary's size on), which is the same in every released
 * tokenizer.json, and a note says where it is not. */
static int read_added(struct vocab *v, const struct mdi_json *root, struct mdi_json_writer *w) {
  const struct mdi_json *added = mdi_json_get(root, "added_tokens");
  if (added && mdi_json_type(added) != MDI_JSON_ARRAY && mdi_json_type(added) != MDI_JSON_NULL)
    return mdi_fail("%s: \"added_tokens\" must be a list", v->path);
  int next = v->n_model; /* tokenizers' next id for a token outside model.vocab */
  mdi_jw_array_begin(w, "added_tokens");
  for (const struct mdi_json *a = mdi_json_first(added); a; a = mdi_json_next(a)) {
    int64_t id;
    const char *content = mdi_json_string(mdi_json_get(a, "content"));
    if (!content || !mdi_json_int(mdi_json_get(a, "id"), 0, MAX_IDS, &id))
      return mdi_fail("%s: added_tokens entries need an integer \"id\" and a string \"content\"", v->path);
    if (!*content) continue; /* tokenizers ignores empty added tokens */
    const int in_vocab = lookup(v, content) == id;
    const int hf_id = lookup(v, content) >= 0 ? lookup(v, content) : next++;
    if (hf_id != id)
      mdi_log_info("note: %s: added token \"%.40s\" keeps the file's id %lld (tokenizers would number it %d)", v->path,
                   content, (long long)id, hf_id);
    if (set_piece(v, id, content, "added token") != MDI_OK) return MDI_ERR;
    const int special = flag(a, "special", 0);
    mdi_jw_object_begin(w, NULL);
    mdi_jw_int(w, "id", id);
    mdi_jw_cstring(w, "content", content);
    mdi_jw_bool(w, "special", special);
    mdi_jw_bool(w, "lstrip", flag(a, "lstrip", 0));
    mdi_jw_bool(w, "rstrip", flag(a, "rstrip", 0));
    mdi_jw_bool(w, "normalized", flag(a, "normalized", !special));
    mdi_jw_bool(w, "single_word", flag(a, "single_word", 0));
    mdi_jw_bool(w, "in_vocab", in_vocab);
    mdi_jw_object_end(w);
  }
  mdi_jw_array_end(w);
  return MDI_OK;
}

/* ---- merges -------------------------------------------------------------------- */

/* The halves of merge r: "a b" (one space) or ["a", "b"]; buf holds a copy
 * of the string form. */
static int merge_halves(const struct vocab *v, const struct mdi_json *m, int r, char **buf, const char **a,
                        const char **b) {
  if (mdi_json_type(m) == MDI_JSON_ARRAY && mdi_json_count(m) == 2) {
    *a = mdi_json_string(mdi_json_first(m));
    *b = mdi_json_string(mdi_json_next(mdi_json_first(m)));
    if (*a && *b) return MDI_OK;
  } else if (mdi_json_string(m)) {
    free(*buf);
    *buf = mdi_xstrdup(mdi_json_string(m));
    char *space = strchr(*buf, ' ');
    if (space && !strchr(space + 1, ' ')) {
      *space = '\0';
      *a = *buf;
      *b = space + 1;
      return MDI_OK;
    }
  }
  return mdi_fail("%s: merge %d is neither \"a b\" (one space) nor [\"a\", \"b\"]", v->path, r);
}

/* model.merges as id pairs of model.vocab (the merged pieces are checked
 * when the tokenizer is built). */
static int read_merges(const struct vocab *v, const struct mdi_json *model, int32_t **merges, int *n_merges) {
  const struct mdi_json *list = mdi_json_get(model, "merges");
  if (list && mdi_json_type(list) != MDI_JSON_ARRAY) return mdi_fail("%s: model.merges must be a list", v->path);
  const int n = mdi_json_count(list);
  *merges = mdi_xmalloc((size_t)(n > 0 ? n : 1) * 2 * sizeof **merges, "tokenizer merges");
  char *buf = NULL;
  int r = 0, rc = MDI_OK;
  for (const struct mdi_json *m = mdi_json_first(list); m; m = mdi_json_next(m), r++) {
    const char *a = NULL, *b = NULL;
    if ((rc = merge_halves(v, m, r, &buf, &a, &b)) != MDI_OK) break;
    const int ia = lookup(v, a), ib = lookup(v, b);
    if (ia < 0 || ib < 0) {
      rc = mdi_fail("%s: merge %d (\"%.40s\" \"%.40s\"): \"%.80s\" is not in the vocabulary", v->path, r, a, b,
                    ia < 0 ? a : b);
      break;
    }
    (*merges)[2 * r] = ia;
    (*merges)[2 * r + 1] = ib;
  }
  free(buf);
  *n_merges = r;
  return rc;
}

/* ---- the post-processor ------------------------------------------------------------ */

/* The ids a TemplateProcessing "single" template puts around $A. */
static int template_ids(const struct vocab *v, const struct mdi_json *pp, struct mdi_ids *pre, struct mdi_ids *post) {
  const struct mdi_json *single = mdi_json_get(pp, "single"), *specials = mdi_json_get(pp, "special_tokens");
  int seen_a = 0;
  for (const struct mdi_json *item = mdi_json_first(single); item; item = mdi_json_next(item)) {
    const struct mdi_json *sp = mdi_json_get(item, "SpecialToken");
    if (mdi_json_get(item, "Sequence")) {
      if (seen_a) return mdi_fail("%s: post_processor TemplateProcessing names the sequence twice", v->path);
      seen_a = 1;
      continue;
    }
    const char *name = mdi_json_string(mdi_json_get(sp, "id"));
    const struct mdi_json *tok = mdi_json_get(specials, name ? name : "");
    const struct mdi_json *ids = mdi_json_get(tok, "ids");
    if (!name || !ids || mdi_json_type(ids) != MDI_JSON_ARRAY)
      return mdi_fail("%s: post_processor TemplateProcessing: special token \"%s\" is missing from special_tokens",
                      v->path, name ? name : "?");
    for (const struct mdi_json *e = mdi_json_first(ids); e; e = mdi_json_next(e)) {
      int64_t id;
      if (!mdi_json_int(e, 0, v->n - 1, &id))
        return mdi_fail("%s: post_processor special token \"%s\" has an id outside the vocabulary", v->path, name);
      mdi_ids_push(seen_a ? post : pre, (int)id);
    }
  }
  if (!seen_a) return mdi_fail("%s: post_processor TemplateProcessing has no $A in \"single\"", v->path);
  return MDI_OK;
}

/* [token, id] of RobertaProcessing / BertProcessing. */
static int pair_id(const struct vocab *v, const struct mdi_json *pp, const char *key, int *id) {
  int64_t x;
  const struct mdi_json *p = mdi_json_get(pp, key);
  if (!p || mdi_json_count(p) != 2 || !mdi_json_int(mdi_json_next(mdi_json_first(p)), 0, v->n - 1, &x))
    return mdi_fail("%s: post_processor: \"%s\" must be [token, id] with an id in the vocabulary", v->path, key);
  *id = (int)x;
  return MDI_OK;
}

/* Each processor in turn wraps what the previous ones made. */
static int post_processor(const struct vocab *v, const struct mdi_json *pp, struct mdi_ids *pre, struct mdi_ids *post,
                          int depth) {
  if (!pp || mdi_json_type(pp) == MDI_JSON_NULL) return MDI_OK;
  const char *type = mdi_json_string(mdi_json_get(pp, "type"));
  type = type ? type : "";
  if (!strcmp(type, "Sequence") && depth < 4) {
    for (const struct mdi_json *p = mdi_json_first(mdi_json_get(pp, "processors")); p; p = mdi_json_next(p))
      if (post_processor(v, p, pre, post, depth + 1) != MDI_OK) return MDI_ERR;
    return MDI_OK;
  }
  if (!strcmp(type, "ByteLevel")) return MDI_OK; /* offsets only */
  struct mdi_ids a = {0}, b = {0};
  int rc = MDI_OK, cls = 0, sep = 0;
  if (!strcmp(type, "TemplateProcessing")) {
    rc = template_ids(v, pp, &a, &b);
  } else if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
    if ((rc = pair_id(v, pp, "cls", &cls)) == MDI_OK && (rc = pair_id(v, pp, "sep", &sep)) == MDI_OK)
      mdi_ids_push(&a, cls), mdi_ids_push(&b, sep);
  } else {
    rc = mdi_fail("%s: post_processor \"%s\" is not supported (TemplateProcessing, ByteLevel, RobertaProcessing, "
                  "BertProcessing and Sequence are)", v->path, type);
  }
  if (rc == MDI_OK) {
    for (int i = 0; i < pre->n; i++) mdi_ids_push(&a, pre->v[i]);
    for (int i = 0; i < b.n; i++) mdi_ids_push(post, b.v[i]);
    mdi_ids_free(pre);
    *pre = a;
    a = (struct mdi_ids){0};
  }
  mdi_ids_free(&a);
  mdi_ids_free(&b);
  return rc;
}

/* ---- the description ------------------------------------------------------------- */

static int copy_step(const struct vocab *v, struct mdi_json_writer *w, const struct mdi_json *root, const char *key) {
  const struct mdi_json *o = mdi_json_get(root, key);
  if (!o || mdi_json_type(o) == MDI_JSON_NULL) return MDI_OK;
  if (depth(o) > MAX_DEPTH) return mdi_fail("%s: \"%s\" nests more than %d levels", v->path, key, MAX_DEPTH);
  mdi_jw_value(w, key, o);
  return MDI_OK;
}

static int describe(const struct vocab *v, const struct mdi_json *root, const struct mdi_json *model,
                    struct mdi_json_writer *w) {
  struct mdi_ids pre = {0}, post = {0};
  mdi_jw_object_begin(w, NULL);
  int rc = copy_step(v, w, root, "normalizer");
  if (rc == MDI_OK) rc = copy_step(v, w, root, "pre_tokenizer");
  if (rc == MDI_OK) rc = copy_step(v, w, root, "decoder");
  if (rc == MDI_OK) {
    static const char *const flags[] = {"byte_fallback", "ignore_merges", "fuse_unk"};
    static const char *const strings[] = {"unk_token", "continuing_subword_prefix", "end_of_word_suffix"};
    mdi_jw_object_begin(w, "model");
    for (int i = 0; i < 3; i++) mdi_jw_bool(w, flags[i], flag(model, flags[i], 0));
    for (int i = 0; i < 3; i++) {
      const char *s = mdi_json_string(mdi_json_get(model, strings[i]));
      if (s) mdi_jw_cstring(w, strings[i], s);
    }
    mdi_jw_cstring(w, "merge_order", "rank");
    mdi_jw_object_end(w);
    rc = read_added((struct vocab *)v, root, w);
  }
  if (rc == MDI_OK) rc = post_processor(v, mdi_json_get(root, "post_processor"), &pre, &post, 0);
  if (rc == MDI_OK) {
    mdi_jw_object_begin(w, "post_processor");
    mdi_jw_int_array(w, "prefix", pre.v, pre.n);
    mdi_jw_int_array(w, "suffix", post.v, post.n);
    mdi_jw_object_end(w);
    mdi_jw_object_end(w);
  }
  mdi_ids_free(&pre);
  mdi_ids_free(&post);
  return rc;
}

/* ---- special ids ------------------------------------------------------------------ */

static int find_piece(const struct vocab *v, const char *s) {
  for (int i = 0; i < v->n; i++)
    if (v->pieces[i] && !strcmp(v->pieces[i], s)) return i;
  return -1;
}

static int special(const struct vocab *v, int given, const char *const *names, const char *what, int *out) {
  if (given >= 0) {
    if (given >= v->n) return mdi_fail("%s: %s %d is outside the vocabulary [0, %d)", v->path, what, given, v->n);
    *out = given;
    return MDI_OK;
  }
  for (int i = 0; names[i]; i++)
    if ((*out = find_piece(v, names[i])) >= 0) return MDI_OK;
  return mdi_fail("%s: config.json gives no %s and the vocabulary has no %s", v->path, what, names[0]);
}

/* Pieces back to back, offsets[n+1]. */
static uint8_t *pack_pieces(const struct vocab *v, int64_t *offsets) {
  size_t total = 1;
  for (int i = 0; i < v->n; i++) total += v->pieces[i] ? strlen(v->pieces[i]) : 0;
  uint8_t *p = mdi_xmalloc(total, "tokenizer pieces");
  offsets[0] = 0;
  for (int i = 0; i < v->n; i++) {
    const size_t len = v->pieces[i] ? strlen(v->pieces[i]) : 0;
    if (len) memcpy(p + offsets[i], v->pieces[i], len); /* no piece: NULL */
    offsets[i + 1] = offsets[i] + (int64_t)len;
  }
  return p;
}

int convert_read_hf_tokenizer_json(struct mdi_tokenizer *t, const char *path, int vocab_size,
                                   const struct convert_hf_ids *ids) {
  struct mdi_json_doc *doc;
  if (mdi_json_parse_file(&doc, path, MAX_TOKENIZER_BYTES) != MDI_OK) return MDI_ERR;
  const struct mdi_json *root = mdi_json_root(doc), *model = mdi_json_get(root, "model");
  struct vocab v = {.path = path, .n = vocab_size};
  struct mdi_json_writer w;
  mdi_jw_init(&w, 0);
  float *scores = NULL;
  int64_t *offsets = NULL;
  uint8_t *bytes = NULL;
  int32_t *merges = NULL;
  int n_merges = 0, rc = MDI_ERR, missing = 0;
  const char *type = mdi_json_string(mdi_json_get(model, "type"));
  const struct mdi_json *dropout = mdi_json_get(model, "dropout");
  if (!model || mdi_json_type(model) != MDI_JSON_OBJECT) {
    mdi_fail("%s: no \"model\" object", path);
    goto done;
  }
  if (type && strcmp(type, "BPE") != 0) {
    mdi_fail("%s: model type %s is not supported (only BPE)", path, type);
    goto done;
  }
  if (dropout && mdi_json_type(dropout) != MDI_JSON_NULL &&
      !(mdi_json_type(dropout) == MDI_JSON_NUMBER && mdi_json_number(dropout) == 0)) {
    mdi_fail("%s: model.dropout is not supported (a tokenizer for inference has none)", path);
    goto done;
  }
  v.pieces = mdi_xcalloc((size_t)vocab_size, sizeof *v.pieces, "tokenizer pieces");
  if (read_vocab(&v, model) != MDI_OK || describe(&v, root, model, &w) != MDI_OK ||
      read_merges(&v, model, &merges, &n_merges) != MDI_OK)
    goto done;
  for (int i = 0; i < vocab_size; i++) missing += !v.pieces[i];
  if (missing)
    mdi_log_info("note: %s: %d of the model's %d ids have no piece (stored empty; they decode to nothing)", path,
                 missing, vocab_size);
  static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", "<|endoftext|>", NULL};
  static const char *const eos_names[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", NULL};
  int bos, eos, stop[MDI_MAX_STOP_IDS], n_stop = 0;
  if (special(&v, ids->n_eos ? ids->eos_ids[0] : -1, eos_names, "eos_token_id", &eos) != MDI_OK ||
      /* GPT-2 and Qwen have no BOS of their own: the end-of-text token starts unconditioned text */
      special(&v, ids->bos_id, bos_names, "bos_token_id", &bos) != MDI_OK)
    goto done;
  for (int i = 0; i < (ids->n_eos ? ids->n_eos : 1); i++) {
    const int id = ids->n_eos ? ids->eos_ids[i] : eos;
    int seen = 0;
    for (int k = 0; k < n_stop; k++) seen |= stop[k] == id;
    if (id < 0 || id >= vocab_size) {
      mdi_fail("%s: eos_token_id %d is outside the vocabulary [0, %d)", path, id, vocab_size);
      goto done;
    }
    if (!seen) stop[n_stop++] = id;
  }
  scores = mdi_xcalloc((size_t)vocab_size, sizeof *scores, "tokenizer scores");
  offsets = mdi_xmalloc(((size_t)vocab_size + 1) * sizeof *offsets, "tokenizer offsets");
  bytes = pack_pieces(&v, offsets);
  size_t json_len;
  const char *json = mdi_jw_text(&w, &json_len);
  if (mdi_tokenizer_init(t, vocab_size, scores, bytes, offsets, bos, eos, stop, n_stop, path) != MDI_OK) goto done;
  if (mdi_tokenizer_set_hf(t, merges, n_merges, json, json_len, path) != MDI_OK) {
    mdi_tokenizer_free(t);
    goto done;
  }
  rc = MDI_OK;
done:
  free(v.pieces);
  free(v.model);
  free(scores);
  free(offsets);
  free(bytes);
  free(merges);
  mdi_jw_free(&w);
  mdi_json_free(doc);
  return rc;
}

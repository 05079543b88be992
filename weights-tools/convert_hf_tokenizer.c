/* Hugging Face tokenizer.json (BPE models) to the tokenizer of the model
 * file (see convert.h and docs/MODELS.md).
 *
 * {"normalizer": ..., "pre_tokenizer": ..., "added_tokens": [{"id", "content"}, ...],
 *  "model": {"type": "BPE", "vocab": {"piece": id, ...}, "merges": ["a b", ...] or [["a", "b"], ...],
 *            "byte_fallback": ...}}
 *
 * Two families are recognized, and anything else is refused:
 *  - byte-level BPE (GPT-2): pre_tokenizer ByteLevel (add_prefix_space false,
 *    use_regex true), no normalizer.  Pieces keep their byte-to-unicode
 *    spelling; the merges are stored as id pairs in rank order.
 *  - SentencePiece-style BPE (Llama): normalizer Prepend("\xe2\x96\x81") +
 *    Replace(" " -> "\xe2\x96\x81"), or pre_tokenizer Metaspace without
 *    splitting.  llama2.c's encoder merges the adjacent pair whose
 *    concatenation has the highest score, so each piece gets the score
 *    -rank of the first merge that makes it; pieces no merge makes (single
 *    characters, bytes, specials) get -1e10, which the encoder never merges
 *    into.  With merges listed for every split of a piece, ordered by the
 *    piece (as Hugging Face's SentencePiece conversion writes them), this
 *    merges exactly as Hugging Face does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/tokenizer.h"

#define MAX_TOKENIZER_BYTES ((size_t)512 << 20)
#define MAX_IDS (1 << 24)
#define NEVER_MERGED (-1e10f) /* llama2.c's encoder merges only scores above this */

static const char SPM_SPACE[] = "\xe2\x96\x81"; /* U+2581, SentencePiece's word boundary */

/* A piece and its id, sorted by piece for lookups of merge halves. */
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
  struct entry *sorted; /* [n_sorted] */
  int n_sorted;
};

static int lookup(const struct vocab *v, const char *s) {
  int lo = 0, hi = v->n_sorted;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (strcmp(v->sorted[mid].s, s) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < v->n_sorted && strcmp(v->sorted[lo].s, s) == 0 ? v->sorted[lo].id : -1;
}

/* ---- which family ------------------------------------------------------------ */

/* The string value of key in o, "" when absent or not a string. */
static const char *str(const struct mdi_json *o, const char *key) {
  const char *s = mdi_json_string(mdi_json_get(o, key));
  return s ? s : "";
}

static int is_type(const struct mdi_json *o, const char *type) {
  const char *s = mdi_json_string(mdi_json_get(o, "type"));
  return s && strcmp(s, type) == 0;
}

static int flag(const struct mdi_json *o, const char *key, int fallback) {
  const struct mdi_json *v = mdi_json_get(o, key);
  return v && mdi_json_type(v) == MDI_JSON_BOOL ? mdi_json_bool(v) : fallback;
}

/* One normalizer of Llama's: Prepend("\u2581") or Replace(" " -> "\u2581"). */
static int spm_normalizer(const struct mdi_json *n) {
  if (is_type(n, "Prepend")) return strcmp(str(n, "prepend"), SPM_SPACE) == 0;
  if (is_type(n, "Replace"))
    return strcmp(str(mdi_json_get(n, "pattern"), "String"), " ") == 0 && strcmp(str(n, "content"), SPM_SPACE) == 0;
  return 0;
}

static int detect_kind(const char *path, const struct mdi_json *root, enum mdi_tokenizer_kind *kind) {
  const struct mdi_json *pre = mdi_json_get(root, "pre_tokenizer"), *norm = mdi_json_get(root, "normalizer");
  if (pre && mdi_json_type(pre) == MDI_JSON_NULL) pre = NULL;
  if (norm && mdi_json_type(norm) == MDI_JSON_NULL) norm = NULL;
  if (pre && is_type(pre, "ByteLevel")) {
    if (flag(pre, "add_prefix_space", 0))
      return mdi_fail("%s: ByteLevel with add_prefix_space true is not supported", path);
    if (!flag(pre, "use_regex", 1)) return mdi_fail("%s: ByteLevel with use_regex false is not supported", path);
    if (norm) return mdi_fail("%s: a normalizer before ByteLevel is not supported", path);
    *kind = MDI_TOKENIZER_BYTE_BPE;
    return MDI_OK;
  }
  if (pre && !is_type(pre, "Metaspace"))
    return mdi_fail("%s: pre_tokenizer \"%s\" is not supported (ByteLevel as GPT-2, none or Metaspace as Llama)",
                    path, str(pre, "type"));
  if (pre) { /* Metaspace: the same as Llama's normalizers when it does not split words */
    if (strcmp(str(pre, "replacement"), SPM_SPACE) != 0 || flag(pre, "split", 1))
      return mdi_fail("%s: Metaspace is supported only with replacement U+2581 and split false", path);
    if (norm) return mdi_fail("%s: a normalizer before Metaspace is not supported", path);
  } else {
    int ok = norm != NULL;
    if (ok && is_type(norm, "Sequence")) {
      const struct mdi_json *list = mdi_json_get(norm, "normalizers");
      ok = mdi_json_count(list) > 0;
      for (const struct mdi_json *n = mdi_json_first(list); ok && n; n = mdi_json_next(n)) ok = spm_normalizer(n);
    } else if (ok) {
      ok = spm_normalizer(norm);
    }
    if (!ok)
      return mdi_fail("%s: the normalizer is not supported (Llama's Prepend U+2581 and Replace \" \" by U+2581 are)",
                      path);
  }
  *kind = MDI_TOKENIZER_SENTENCEPIECE;
  return MDI_OK;
}

/* ---- vocabulary --------------------------------------------------------------- */

/* Give id `id` the piece s; the same id may not get two different pieces. */
static int set_piece(struct vocab *v, int64_t id, const char *s, const char *where) {
  if (id < 0 || id >= v->n)
    return mdi_fail("%s: %s \"%.40s\" has id %lld, outside the model's vocab_size %d", v->path, where, s, (long long)id,
                    v->n);
  if (v->pieces[id] && strcmp(v->pieces[id], s) != 0)
    return mdi_fail("%s: id %lld is both \"%.40s\" and \"%.40s\"", v->path, (long long)id, v->pieces[id], s);
  v->pieces[id] = s;
  return MDI_OK;
}

static int read_vocab(struct vocab *v, const struct mdi_json *root, const struct mdi_json *model) {
  const struct mdi_json *vocab = mdi_json_get(model, "vocab");
  if (!vocab || mdi_json_type(vocab) != MDI_JSON_OBJECT)
    return mdi_fail("%s: model.vocab must be an object mapping pieces to ids", v->path);
  for (const struct mdi_json *e = mdi_json_first(vocab); e; e = mdi_json_next(e)) {
    int64_t id;
    if (!mdi_json_int(e, 0, MAX_IDS, &id)) return mdi_fail("%s: vocab entry \"%.40s\" is not an id", v->path, mdi_json_key(e));
    if (set_piece(v, id, mdi_json_key(e), "piece") != MDI_OK) return MDI_ERR;
  }
  const struct mdi_json *added = mdi_json_get(root, "added_tokens");
  for (const struct mdi_json *a = mdi_json_first(added); a; a = mdi_json_next(a)) {
    int64_t id;
    const char *content = mdi_json_string(mdi_json_get(a, "content"));
    if (!content || !mdi_json_int(mdi_json_get(a, "id"), 0, MAX_IDS, &id))
      return mdi_fail("%s: added_tokens entries need an integer \"id\" and a string \"content\"", v->path);
    if (set_piece(v, id, content, "added token") != MDI_OK) return MDI_ERR;
  }
  v->sorted = mdi_malloc((size_t)v->n * sizeof *v->sorted, "tokenizer lookup");
  if (!v->sorted) return MDI_ERR;
  int missing = 0;
  for (int i = 0; i < v->n; i++) {
    if (v->pieces[i])
      v->sorted[v->n_sorted++] = (struct entry){v->pieces[i], i};
    else
      missing++;
  }
  qsort(v->sorted, (size_t)v->n_sorted, sizeof *v->sorted, entry_cmp);
  if (missing)
    mdi_log_info("note: %s: %d of the model's %d ids have no piece (stored empty; they decode to nothing)", v->path,
                 missing, v->n);
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

/* Read model.merges: merges[r] = the ids of its halves; scores of the pieces
 * they make. */
static int read_merges(const struct vocab *v, const struct mdi_json *model, int32_t **merges, int *n_merges,
                       float *scores) {
  const struct mdi_json *list = mdi_json_get(model, "merges");
  if (list && mdi_json_type(list) != MDI_JSON_ARRAY) return mdi_fail("%s: model.merges must be a list", v->path);
  const int n = mdi_json_count(list);
  *merges = mdi_malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof **merges, "tokenizer merges");
  if (!*merges) return MDI_ERR;
  char *buf = NULL, *joined = NULL;
  size_t joined_cap = 0;
  int r = 0, rc = MDI_OK;
  for (const struct mdi_json *m = mdi_json_first(list); m && rc == MDI_OK; m = mdi_json_next(m), r++) {
    const char *a = NULL, *b = NULL;
    if ((rc = merge_halves(v, m, r, &buf, &a, &b)) != MDI_OK) break;
    const size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > joined_cap) {
      joined_cap = 2 * (la + lb + 1);
      free(joined);
      joined = mdi_xmalloc(joined_cap, "merge text");
    }
    memcpy(joined, a, la);
    memcpy(joined + la, b, lb + 1);
    const int ia = lookup(v, a), ib = lookup(v, b), ij = lookup(v, joined);
    if (ia < 0 || ib < 0 || ij < 0) {
      rc = mdi_fail("%s: merge %d (\"%.40s\" \"%.40s\"): \"%.80s\" is not in the vocabulary", v->path, r, a, b,
                    ia < 0 ? a : ib < 0 ? b : joined);
      break;
    }
    (*merges)[2 * r] = ia;
    (*merges)[2 * r + 1] = ib;
    if (scores[ij] == NEVER_MERGED) scores[ij] = -(float)r;
  }
  free(buf);
  free(joined);
  *n_merges = r;
  return rc;
}

/* ---- special ids ------------------------------------------------------------------ */

static int special(const struct vocab *v, int given, const char *const *names, const char *what, int *out) {
  if (given >= 0) {
    *out = given;
    return MDI_OK;
  }
  for (int i = 0; names[i]; i++)
    if ((*out = lookup(v, names[i])) >= 0) return MDI_OK;
  return mdi_fail("%s: config.json gives no %s and the vocabulary has no %s", v->path, what, names[0]);
}

/* Pieces back to back (U+2581 spelled ' ' for sentencepiece), offsets[n+1]. */
static int pack_pieces(const struct vocab *v, enum mdi_tokenizer_kind kind, uint8_t **bytes, int64_t *offsets) {
  size_t total = 1;
  for (int i = 0; i < v->n; i++) total += v->pieces[i] ? strlen(v->pieces[i]) : 0;
  uint8_t *p = *bytes = mdi_malloc(total, "tokenizer pieces");
  if (!p) return MDI_ERR;
  int64_t at = 0;
  offsets[0] = 0;
  for (int i = 0; i < v->n; i++) {
    for (const char *s = v->pieces[i] ? v->pieces[i] : ""; *s;) {
      if (kind == MDI_TOKENIZER_SENTENCEPIECE && strncmp(s, SPM_SPACE, 3) == 0) {
        p[at++] = ' ';
        s += 3;
      } else {
        p[at++] = (uint8_t)*s++;
      }
    }
    offsets[i + 1] = at;
  }
  return MDI_OK;
}

int convert_read_hf_tokenizer(struct mdi_tokenizer *t, const char *path, int vocab_size,
                              const struct convert_hf_ids *ids) {
  struct mdi_json_doc *doc;
  if (mdi_json_parse_file(&doc, path, MAX_TOKENIZER_BYTES) != MDI_OK) return MDI_ERR;
  const struct mdi_json *root = mdi_json_root(doc), *model = mdi_json_get(root, "model");
  struct vocab v = {.path = path, .n = vocab_size};
  float *scores = NULL;
  int64_t *offsets = NULL;
  uint8_t *bytes = NULL;
  int32_t *merges = NULL;
  int n_merges = 0, rc = MDI_ERR;
  enum mdi_tokenizer_kind kind = MDI_TOKENIZER_SENTENCEPIECE;
  const char *type = mdi_json_string(mdi_json_get(model, "type"));
  if (!model || mdi_json_type(model) != MDI_JSON_OBJECT) {
    mdi_fail("%s: no \"model\" object", path);
    goto done;
  }
  if (type && strcmp(type, "BPE") != 0) {
    mdi_fail("%s: model type %s is not supported (only BPE)", path, type);
    goto done;
  }
  if (detect_kind(path, root, &kind) != MDI_OK) goto done;
  v.pieces = mdi_calloc((size_t)vocab_size, sizeof *v.pieces, "tokenizer pieces");
  scores = mdi_malloc((size_t)vocab_size * sizeof *scores, "tokenizer scores");
  offsets = mdi_malloc(((size_t)vocab_size + 1) * sizeof *offsets, "tokenizer offsets");
  if (!v.pieces || !scores || !offsets || read_vocab(&v, root, model) != MDI_OK) goto done;
  for (int i = 0; i < vocab_size; i++) scores[i] = NEVER_MERGED;
  if (read_merges(&v, model, &merges, &n_merges, scores) != MDI_OK) goto done;
  if (kind == MDI_TOKENIZER_SENTENCEPIECE && !flag(model, "byte_fallback", 0))
    mdi_log_info("note: %s: no byte fallback: text with characters outside the vocabulary will not encode", path);
  static const char *const bos_names[] = {"<s>", "<|endoftext|>", NULL}, *const eos_names[] = {"</s>", "<|endoftext|>", NULL};
  int bos, eos, stop[MDI_MAX_STOP_IDS], n_stop = 0;
  if (special(&v, ids->n_eos ? ids->eos_ids[0] : -1, eos_names, "eos_token_id", &eos) != MDI_OK ||
      /* GPT-2 has no BOS of its own: <|endoftext|> starts unconditioned text */
      special(&v, ids->bos_id >= 0 ? ids->bos_id : kind == MDI_TOKENIZER_BYTE_BPE ? eos : -1, bos_names, "bos_token_id",
              &bos) != MDI_OK)
    goto done;
  for (int i = 0; i < (ids->n_eos ? ids->n_eos : 1); i++) {
    const int id = ids->n_eos ? ids->eos_ids[i] : eos;
    int seen = 0;
    for (int k = 0; k < n_stop; k++) seen |= stop[k] == id;
    if (!seen) stop[n_stop++] = id;
  }
  if (pack_pieces(&v, kind, &bytes, offsets) != MDI_OK ||
      mdi_tokenizer_init(t, vocab_size, scores, bytes, offsets, bos, eos, stop, n_stop, path) != MDI_OK)
    goto done;
  if (kind == MDI_TOKENIZER_BYTE_BPE && mdi_tokenizer_set_byte_bpe(t, merges, n_merges, path) != MDI_OK) {
    mdi_tokenizer_free(t);
    goto done;
  }
  rc = MDI_OK;
done:
  free(v.pieces);
  free(v.sorted);
  free(scores);
  free(offsets);
  free(bytes);
  free(merges);
  mdi_json_free(doc);
  return rc;
}

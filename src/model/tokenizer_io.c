/* The /tokenizer group of the model file (docs/FORMAT.md, "The tokenizer
 * group"): reading it with every value checked, and writing it. */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "tokenizer_hf.h"

#define MAX_TEXT_BYTES ((int64_t)64 << 20) /* the pipeline description, the chat template */

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

/* The dataset tokenizer/<name> of n int32 [n][2] merges (absent: none). */
static int read_merges(struct mdi_h5 *f, int32_t **merges, int64_t *n) {
  *n = 0;
  *merges = mdi_malloc(2 * sizeof **merges, "tokenizer merges");
  if (!*merges || !mdi_h5_exists(f, "tokenizer/merges")) return *merges ? MDI_OK : MDI_ERR;
  int nd;
  int64_t have[MDI_MAX_DIMS];
  if (mdi_h5_shape(f, "tokenizer/merges", &nd, have) != MDI_OK) return MDI_ERR;
  if (nd != 2 || have[1] != 2 || have[0] < 0 || have[0] > (1 << 26))
    return mdi_fail("%s: /tokenizer/merges must be int32 [n][2] with n <= %d", mdi_h5_path(f), 1 << 26);
  if (have[0] == 0) return MDI_OK;
  free(*merges);
  if (!(*merges = mdi_malloc((size_t)have[0] * 2 * sizeof **merges, "tokenizer merges"))) return MDI_ERR;
  *n = have[0];
  return mdi_h5_read(f, "tokenizer/merges", MDI_I32, 2, have, *merges);
}

/* The uint8 dataset tokenizer/<name> as a NUL-terminated string. */
static int read_text(struct mdi_h5 *f, const char *name, char **out, int64_t *len) {
  *out = NULL;
  if (dataset_len(f, name, 0, MAX_TEXT_BYTES, len) != MDI_OK) return MDI_ERR;
  if (!(*out = mdi_malloc((size_t)*len + 1, name))) return MDI_ERR;
  (*out)[*len] = '\0';
  if (*len > 0 && mdi_h5_read(f, name, MDI_U8, 1, len, *out) != MDI_OK) return MDI_ERR;
  if ((int64_t)strlen(*out) != *len) return mdi_fail("%s: /%s contains a NUL byte", mdi_h5_path(f), name);
  return MDI_OK;
}

/* The optional chat attributes and template. */
static int read_chat(struct mdi_h5 *f, struct mdi_tokenizer *t) {
  static const struct {
    const char *attr;
    size_t off, size;
  } attrs[] = {{"chat_format", offsetof(struct mdi_tokenizer, chat_format), sizeof t->chat_format},
               {"chat_bos", offsetof(struct mdi_tokenizer, chat_bos), sizeof t->chat_bos},
               {"chat_eos", offsetof(struct mdi_tokenizer, chat_eos), sizeof t->chat_eos}};
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
    if (mdi_h5_attr_exists(f, "/tokenizer", attrs[i].attr) &&
        mdi_h5_attr_string(f, "/tokenizer", attrs[i].attr, (char *)t + attrs[i].off, attrs[i].size) != MDI_OK)
      return MDI_ERR;
  int64_t len;
  if (mdi_h5_exists(f, "tokenizer/chat_template") &&
      read_text(f, "tokenizer/chat_template", &t->chat_template, &len) != MDI_OK)
    return MDI_ERR;
  if (!mdi_h5_exists(f, "tokenizer/special_ids")) return MDI_OK;
  if (dataset_len(f, "tokenizer/special_ids", 0, t->vocab_size, &len) != MDI_OK) return MDI_ERR;
  int32_t *ids = mdi_xmalloc((size_t)(len > 0 ? len : 1) * sizeof *ids, "special tokens");
  int rc = len > 0 ? mdi_h5_read(f, "tokenizer/special_ids", MDI_I32, 1, &len, ids) : MDI_OK;
  if (rc == MDI_OK) rc = mdi_tokenizer_set_special(t, ids, (int)len, mdi_h5_path(f));
  free(ids);
  return rc;
}

/* The optional attributes kind and add_bos, and what the kind needs beyond
 * the pieces (byte-bpe: merges; hf: merges and the pipeline), applied to the
 * tokenizer t built from the pieces. */
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
  const int hf = strcmp(kind, "hf") == 0;
  if (!hf && strcmp(kind, "byte-bpe") != 0)
    return mdi_fail("%s: attribute kind of /tokenizer is \"%s\" (expected \"sentencepiece\", \"byte-bpe\" or \"hf\")",
                    path, kind);
  int32_t *merges = NULL;
  char *json = NULL;
  int64_t n_merges = 0, json_len = 0;
  int rc = read_merges(f, &merges, &n_merges);
  if (rc == MDI_OK && hf) rc = read_text(f, "tokenizer/pipeline", &json, &json_len);
  if (rc == MDI_OK)
    rc = hf ? mdi_tokenizer_set_hf(t, merges, (int)n_merges, json, (size_t)json_len, path)
            : mdi_tokenizer_set_byte_bpe(t, merges, (int)n_merges, path);
  free(merges);
  free(json);
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
  if (rc == MDI_OK && (read_kind(f, t) != MDI_OK || read_chat(f, t) != MDI_OK)) {
    rc = MDI_ERR;
    mdi_tokenizer_free(t);
  }
  /* a larger declared value is kept: decode buffers sized from it still fit */
  if (rc == MDI_OK && d.max_token_length > t->max_token_length) t->max_token_length = d.max_token_length;
  free(d.scores);
  free(d.offsets);
  free(d.bytes);
  return rc;
}

static int write_chat(const struct mdi_tokenizer *t, struct mdi_h5w *w) {
  if (t->chat_format[0] && mdi_h5w_attr_string(w, "/tokenizer", "chat_format", t->chat_format) != MDI_OK) return MDI_ERR;
  if (t->chat_bos[0] && mdi_h5w_attr_string(w, "/tokenizer", "chat_bos", t->chat_bos) != MDI_OK) return MDI_ERR;
  if (t->chat_eos[0] && mdi_h5w_attr_string(w, "/tokenizer", "chat_eos", t->chat_eos) != MDI_OK) return MDI_ERR;
  const int64_t len = t->chat_template ? (int64_t)strlen(t->chat_template) : 0;
  if (t->chat_template && mdi_h5w_write(w, "tokenizer/chat_template", MDI_U8, 1, &len, t->chat_template) != MDI_OK)
    return MDI_ERR;
  const int64_t n = t->n_special;
  if (n > 0 && mdi_h5w_write(w, "tokenizer/special_ids", MDI_I32, 1, &n, t->special_ids) != MDI_OK) return MDI_ERR;
  return MDI_OK;
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
  if (t->kind != MDI_TOKENIZER_SENTENCEPIECE && t->n_merges > 0 &&
      mdi_h5w_write(w, "tokenizer/merges", MDI_I32, 2, merge_dims, t->merges) != MDI_OK)
    goto done;
  const char *json = mdi_tokenizer_pipeline_json(t);
  const int64_t json_len = json ? (int64_t)strlen(json) : 0;
  if (json && mdi_h5w_write(w, "tokenizer/pipeline", MDI_U8, 1, &json_len, json) != MDI_OK) goto done;
  if (write_chat(t, w) != MDI_OK) goto done;
  rc = MDI_OK;
done:
  free(offsets);
  free(bytes);
  return rc;
}

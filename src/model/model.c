/* Loading and running the pieces of a model (see model.h). */
#include "mdi/model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/ops.h"
#include "mdi/model/weights.h"

/* ---- loading ----------------------------------------------------------- */

/* NaN or infinite weights give garbage text with exit status 0: refuse them
 * while the rows are in cache, right after each read.  Checks the exponent
 * bits (all ones), so it holds under -ffast-math too. */
/* rows == 0: x is a vector of cols values. */
static int check_finite(const char *path, const char *name, const float *x, int64_t row0, int64_t rows, int64_t cols) {
  const int vector = rows == 0;
  if (vector) rows = 1;
  const size_t n = (size_t)rows * (size_t)cols;
  uint32_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t b;
    memcpy(&b, &x[i], sizeof b);
    bad |= (b & 0x7f800000u) == 0x7f800000u;
  }
  if (!bad) return MDI_OK;
  size_t i = 0;
  for (;; i++) {
    uint32_t b;
    memcpy(&b, &x[i], sizeof b);
    if ((b & 0x7f800000u) == 0x7f800000u) break;
  }
  char at[48];
  if (vector) snprintf(at, sizeof at, "[%zu]", i);
  else snprintf(at, sizeof at, "[%lld][%lld]", (long long)(row0 + (int64_t)(i / (size_t)cols)), (long long)(i % (size_t)cols));
  return mdi_fail("%s: /%s holds %s at %s: the weights are damaged (convert the model again)", path, name,
                  x[i] != x[i] ? "NaN" : "an infinite value", at);
}

/* Allocate and read a float32 dataset of the given shape. */
static float *read_tensor(struct mdi_h5 *f, const char *name, int64_t d0, int64_t d1, size_t *bytes) {
  const int64_t dims[2] = {d0, d1};
  const int ndims = d1 > 0 ? 2 : 1;
  size_t count = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
  float *p = mdi_aligned_alloc(count * sizeof(float), name);
  if (!p) return NULL;
  if (mdi_h5_read(f, name, MDI_F32, ndims, dims, p) != MDI_OK ||
      check_finite(mdi_h5_path(f), name, p, 0, d1 > 0 ? d0 : 0, d1 > 0 ? d1 : d0) != MDI_OK) {
    free(p);
    return NULL;
  }
  *bytes += count * sizeof(float);
  return p;
}

/* A quantized matrix: rows of GGUF blocks (docs/FORMAT.md), read 64 rows
 * at a time and packed into the kernels' tiles.  Blocks whose scales are
 * not finite are refused (a file damaged or made wrong). */
static int read_matrix_blocks(struct mdi_matrix *m, struct mdi_h5 *f, const char *name, enum mdi_matrix_type type,
                              int rows, int cols, int row0, int n_rows) {
  const struct mdi_quant_format *fmt = mdi_quant_format(type);
  if (cols % fmt->block != 0)
    return mdi_fail("%s: /%s is %s but its rows of %d weights are not whole blocks of %d", mdi_h5_path(f), name,
                    fmt->name, cols, fmt->block);
  const size_t row_bytes = mdi_quant_row_bytes(type, cols);
  if (mdi_matrix_alloc_type(m, type, n_rows, cols, name) != MDI_OK) return MDI_ERR;
  uint8_t *buf = mdi_malloc((size_t)MDI_PANEL * row_bytes, "weight read buffer");
  int rc = buf ? MDI_OK : MDI_ERR;
  for (int r = 0; r < n_rows && rc == MDI_OK; r += MDI_PANEL) {
    const int n = n_rows - r < MDI_PANEL ? n_rows - r : MDI_PANEL;
    rc = mdi_h5_read_rows(f, name, MDI_U8, rows, (int64_t)row_bytes, row0 + r, n, buf); /* checks the shape */
    for (int i = 0; i < n && rc == MDI_OK; i++) {
      const int bad = mdi_quant_find_bad_block(type, buf + (size_t)i * row_bytes, cols);
      if (bad >= 0)
        rc = mdi_fail("%s: /%s row %d, block %d (weights %d..%d): a %s scale is NaN or infinite (corrupt blocks)",
                      mdi_h5_path(f), name, row0 + r + i, bad, bad * fmt->block, (bad + 1) * fmt->block - 1,
                      fmt->name);
    }
    if (rc == MDI_OK) mdi_matrix_set_rows_blocks(m, r, n, buf);
  }
  free(buf);
  return rc;
}

/* Read rows [row0, row0 + n_rows) of a [rows][cols] dataset into the panel
 * layout, 64 rows at a time: the only temporary is one panel's rows.
 * float32 or quantized, as stored. */
static int read_matrix_rows(struct mdi_matrix *m, struct mdi_h5 *f, const char *name, int rows, int cols, int row0,
                            int n_rows, size_t *bytes) {
  enum mdi_matrix_type type;
  if (mdi_h5_matrix_type(f, name, &type) != MDI_OK) return MDI_ERR;
  int rc;
  if (type != MDI_MATRIX_F32) {
    rc = read_matrix_blocks(m, f, name, type, rows, cols, row0, n_rows);
  } else {
    rc = mdi_matrix_alloc(m, n_rows, cols, name);
    float *chunk = rc == MDI_OK ? mdi_malloc((size_t)MDI_PANEL * cols * sizeof(float), "weight read buffer") : NULL;
    if (!chunk) rc = MDI_ERR;
    for (int r = 0; r < n_rows && rc == MDI_OK; r += MDI_PANEL) {
      const int n = n_rows - r < MDI_PANEL ? n_rows - r : MDI_PANEL;
      rc = mdi_h5_read_rows(f, name, MDI_F32, rows, cols, row0 + r, n, chunk); /* checks dtype and shape */
      if (rc == MDI_OK) rc = check_finite(mdi_h5_path(f), name, chunk, row0 + r, n, cols);
      if (rc == MDI_OK) mdi_matrix_set_rows(m, r, n, chunk);
    }
    free(chunk);
  }
  if (rc != MDI_OK) {
    mdi_matrix_free(m);
    return MDI_ERR;
  }
  *bytes += mdi_matrix_bytes(m);
  return MDI_OK;
}

/* A whole [rows][cols] dataset. */
static int read_matrix(struct mdi_matrix *m, struct mdi_h5 *f, const char *name, int rows, int cols,
                       size_t *bytes) {
  return read_matrix_rows(m, f, name, rows, cols, 0, rows, bytes);
}

static int load_layer(struct mdi_layer *L, struct mdi_h5 *f, const struct mdi_hparams *hp, int layer,
                      size_t *bytes) {
  const int dim = hp->dim, kv_dim = mdi_hparams_kv_dim(hp), hid = hp->hidden_dim;
  const int q_dim = mdi_hparams_q_dim(hp), hs = mdi_hparams_head_size(hp);
  const int gpt2 = mdi_hparams_is_gpt2(hp);
  char name[MDI_NAME_MAX];
#define NAME(t) (mdi_weights_layer_name(name, layer, t), name)
#define VECTOR(field, t, n) \
  if (!(L->field = read_tensor(f, NAME(t), n, 0, bytes))) return MDI_ERR
  VECTOR(attn_norm, "attn_norm", dim);
  if (read_matrix(&L->wq, f, NAME("wq"), q_dim, dim, bytes) ||
      read_matrix(&L->wk, f, NAME("wk"), kv_dim, dim, bytes) ||
      read_matrix(&L->wv, f, NAME("wv"), kv_dim, dim, bytes) ||
      read_matrix(&L->wo, f, NAME("wo"), dim, q_dim, bytes))
    return MDI_ERR;
  VECTOR(ffn_norm, "ffn_norm", dim);
  if (read_matrix(&L->w1, f, NAME("w1"), hid, dim, bytes) ||
      read_matrix(&L->w2, f, NAME("w2"), dim, hid, bytes))
    return MDI_ERR;
  if (gpt2) {
    VECTOR(attn_norm_bias, "attn_norm_bias", dim);
    VECTOR(ffn_norm_bias, "ffn_norm_bias", dim);
  } else if (read_matrix(&L->w3, f, NAME("w3"), hid, dim, bytes)) {
    return MDI_ERR;
  }
  if (gpt2 || hp->qkv_bias) {
    VECTOR(bq, "bq", q_dim);
    VECTOR(bk, "bk", kv_dim);
    VECTOR(bv, "bv", kv_dim);
  }
  if (gpt2 || hp->out_bias) VECTOR(bo, "bo", dim);
  if (gpt2 || hp->mlp_bias) {
    VECTOR(b1, "b1", hid);
    VECTOR(b2, "b2", dim);
  }
  if (hp->mlp_bias) VECTOR(b3, "b3", hid);
  if (hp->qk_norm) {
    VECTOR(q_norm, "q_norm", hs);
    VECTOR(k_norm, "k_norm", hs);
  }
#undef VECTOR
#undef NAME
  return MDI_OK;
}

static void free_layer(struct mdi_layer *L) {
  free(L->attn_norm);
  mdi_matrix_free(&L->wq);
  mdi_matrix_free(&L->wk);
  mdi_matrix_free(&L->wv);
  mdi_matrix_free(&L->wo);
  free(L->ffn_norm);
  mdi_matrix_free(&L->w1);
  mdi_matrix_free(&L->w2);
  mdi_matrix_free(&L->w3);
  float *biases[] = {L->attn_norm_bias, L->ffn_norm_bias, L->bq, L->bk, L->bv, L->bo, L->b1, L->b2, L->b3,
                     L->q_norm, L->k_norm};
  for (size_t i = 0; i < sizeof biases / sizeof biases[0]; i++) free(biases[i]);
}

int mdi_block_load(struct mdi_block *b, struct mdi_h5 *f, const struct mdi_hparams *hp, int first,
                   int last, int max_seq) {
  memset(b, 0, sizeof *b);
  b->hp = *hp;
  b->first = first;
  b->last = last;
  b->max_seq = max_seq;
  MDI_ASSERT(0 <= first && first <= last && last <= hp->n_layers);
  if (first == last) return MDI_OK;
  b->layers = mdi_calloc((size_t)(last - first), sizeof *b->layers, "layer table");
  if (!b->layers) goto fail;
  if (!mdi_hparams_is_gpt2(hp)) {
    const int rot = mdi_hparams_rope_dim(hp), half = rot / 2;
    b->rope_cos = mdi_malloc((size_t)max_seq * half * sizeof(float), "RoPE table");
    b->rope_sin = mdi_malloc((size_t)max_seq * half * sizeof(float), "RoPE table");
    if (!b->rope_cos || !b->rope_sin) goto fail;
    mdi_rope_tables(b->rope_cos, b->rope_sin, max_seq, rot, hp->rope_theta, mdi_hparams_rope_factors(hp, max_seq));
    if (hp->rope_attn_factor != 0.0f && hp->rope_attn_factor != 1.0f) /* LongRoPE scales cos and sin */
      for (size_t i = 0; i < (size_t)max_seq * half; i++) {
        b->rope_cos[i] *= hp->rope_attn_factor;
        b->rope_sin[i] *= hp->rope_attn_factor;
      }
  }
  for (int l = first; l < last; l++)
    if (load_layer(&b->layers[l - first], f, hp, l, &b->weights_bytes) != MDI_OK) goto fail;
  return MDI_OK;
fail:
  mdi_block_free(b);
  return MDI_ERR;
}

void mdi_block_free(struct mdi_block *b) {
  if (b->layers)
    for (int l = 0; l < b->last - b->first; l++) free_layer(&b->layers[l]);
  free(b->layers);
  free(b->rope_cos);
  free(b->rope_sin);
  memset(b, 0, sizeof *b);
}

int mdi_vocab_layers_load(struct mdi_vocab_layers *v, struct mdi_h5 *f, const struct mdi_hparams *hp) {
  memset(v, 0, sizeof *v);
  v->hp = *hp;
  size_t bytes = 0;
  if (!(v->final_norm = read_tensor(f, "final_norm", hp->dim, 0, &bytes))) goto fail;
  if (mdi_hparams_is_gpt2(hp) &&
      (!(v->final_norm_bias = read_tensor(f, "final_norm_bias", hp->dim, 0, &bytes)) ||
       !(v->position_embedding = read_tensor(f, "position_embedding", hp->seq_len, hp->dim, &bytes))))
    goto fail;
  if (hp->shared_classifier) {
    /* one copy: the classifier's panels; embedding rows are gathered from them */
    if (read_matrix(&v->classifier, f, "embedding", hp->vocab_size, hp->dim, &bytes) != MDI_OK) goto fail;
  } else {
    /* a separate embedding: float32 rows, or a quantized matrix whose rows
     * are dequantized one token at a time */
    enum mdi_matrix_type type;
    if (mdi_h5_matrix_type(f, "embedding", &type) != MDI_OK) goto fail;
    if (type == MDI_MATRIX_F32 ? !(v->embedding = read_tensor(f, "embedding", hp->vocab_size, hp->dim, &bytes))
                               : read_matrix(&v->embedding_q, f, "embedding", hp->vocab_size, hp->dim, &bytes) != MDI_OK)
      goto fail;
    if (read_matrix(&v->classifier, f, "classifier", hp->vocab_size, hp->dim, &bytes) != MDI_OK) goto fail;
  }
  v->weights_bytes = bytes;
  return MDI_OK;
fail:
  mdi_vocab_layers_free(v);
  return MDI_ERR;
}

void mdi_vocab_layers_free(struct mdi_vocab_layers *v) {
  mdi_matrix_free(&v->classifier);
  mdi_matrix_free(&v->embedding_q);
  free(v->embedding);
  free(v->final_norm);
  free(v->final_norm_bias);
  free(v->position_embedding);
  memset(v, 0, sizeof *v);
}

/* mdi_h5_list callback: each dataset's bytes to its layer or to the vocabulary layers. */
struct bytes_walk {
  int n_layers;
  double *layer; /* [n_layers] */
  double vocab;
};

static int add_dataset_bytes(const struct mdi_h5_dataset_info *d, void *ctx) {
  struct bytes_walk *w = ctx;
  double bytes = (double)d->elem_size;
  for (int i = 0; i < d->ndims; i++) bytes *= (double)d->dims[i];
  int layer;
  if (sscanf(d->name, "layers/%d/", &layer) == 1) {
    if (layer >= 0 && layer < w->n_layers) w->layer[layer] += bytes;
  } else if (strncmp(d->name, "tokenizer/", 10) != 0) {
    w->vocab += bytes;
  }
  return 0;
}

int mdi_model_bytes_read(struct mdi_h5 *f, const struct mdi_hparams *hp, struct mdi_model_bytes *mb) {
  memset(mb, 0, sizeof *mb);
  struct bytes_walk w = {hp->n_layers, mdi_calloc((size_t)hp->n_layers, sizeof(double), "layer sizes"), 0.0};
  if (!w.layer) return MDI_ERR;
  int rc = mdi_h5_list(f, add_dataset_bytes, &w);
  for (int l = 0; rc == MDI_OK && l < hp->n_layers; l++) {
    mb->layer_mean += w.layer[l] / hp->n_layers;
    if (w.layer[l] > mb->layer_max) mb->layer_max = w.layer[l];
  }
  free(w.layer);
  mb->vocab = w.vocab;
  const char *classifier = hp->shared_classifier ? "embedding" : "classifier";
  enum mdi_matrix_type type;
  char w1[MDI_NAME_MAX];
  mdi_weights_layer_name(w1, 0, "w1");
  if (rc == MDI_OK && (rc = mdi_h5_matrix_type(f, classifier, &type)) == MDI_OK)
    mb->classifier = (double)hp->vocab_size *
                     (double)(type == MDI_MATRIX_F32 ? (size_t)hp->dim * 4 : mdi_quant_row_bytes(type, hp->dim));
  if (rc == MDI_OK) rc = mdi_h5_matrix_type(f, w1, &mb->ffn_type);
  return rc;
}

/* ---- workspace --------------------------------------------------------- */

/* Floats of each workspace buffer, in the order of mdi_workspace_init's list. */
#define WS_BUFFERS 8
static void workspace_counts(const struct mdi_hparams *hp, int max_rows, int max_seq, int n_threads,
                             size_t counts[WS_BUFFERS]) {
  const size_t R = (size_t)max_rows, dim = (size_t)hp->dim, kv = (size_t)mdi_hparams_kv_dim(hp),
               hid = (size_t)hp->hidden_dim, q = (size_t)mdi_hparams_q_dim(hp);
  const size_t c[WS_BUFFERS] = {R * dim, R * q, R * q, R * kv, R * kv, R * hid, R * hid,
                                (size_t)(n_threads > 0 ? n_threads : 1) * hp->n_heads * max_seq};
  memcpy(counts, c, sizeof c);
}

size_t mdi_workspace_bytes(const struct mdi_hparams *hp, int max_rows, int max_seq, int n_threads) {
  size_t counts[WS_BUFFERS], bytes = 0;
  workspace_counts(hp, max_rows, max_seq, n_threads, counts);
  for (int i = 0; i < WS_BUFFERS; i++) bytes += counts[i] * sizeof(float);
  return bytes + 2 * (size_t)max_rows * sizeof(int); /* row_slot, row_pos */
}

int mdi_workspace_init(struct mdi_workspace *ws, const struct mdi_hparams *hp, int max_rows,
                       int max_seq, int n_threads) {
  memset(ws, 0, sizeof *ws);
  ws->max_rows = max_rows;
  ws->max_seq = max_seq;
  ws->n_threads = n_threads > 0 ? n_threads : 1;
  float **bufs[WS_BUFFERS] = {&ws->xb, &ws->q, &ws->att, &ws->k, &ws->v, &ws->hb, &ws->hb2, &ws->scores};
  size_t counts[WS_BUFFERS];
  workspace_counts(hp, max_rows, max_seq, n_threads, counts);
  for (size_t i = 0; i < WS_BUFFERS; i++) {
    *bufs[i] = mdi_aligned_alloc(counts[i] * sizeof(float), "activation workspace");
    if (!*bufs[i]) {
      mdi_workspace_free(ws);
      return MDI_ERR;
    }
  }
  ws->row_slot = mdi_malloc((size_t)max_rows * sizeof *ws->row_slot, "activation workspace");
  ws->row_pos = mdi_malloc((size_t)max_rows * sizeof *ws->row_pos, "activation workspace");
  if (!ws->row_slot || !ws->row_pos) {
    mdi_workspace_free(ws);
    return MDI_ERR;
  }
  return MDI_OK;
}

void mdi_workspace_free(struct mdi_workspace *ws) {
  free(ws->xb);
  free(ws->q);
  free(ws->att);
  free(ws->k);
  free(ws->v);
  free(ws->hb);
  free(ws->hb2);
  free(ws->scores);
  free(ws->row_slot);
  free(ws->row_pos);
  memset(ws, 0, sizeof *ws);
}

/* ---- vocabulary layers ------------------------------------------------ */

void mdi_embed(const struct mdi_vocab_layers *v, const int *tokens, const int *positions, int n, float *x) {
  const int dim = v->hp.dim;
  for (int i = 0; i < n; i++) {
    float *row = x + (size_t)i * dim;
    MDI_ASSERT(tokens[i] >= 0 && tokens[i] < v->hp.vocab_size);
    if (v->embedding)
      memcpy(row, v->embedding + (size_t)tokens[i] * dim, dim * sizeof(float));
    else
      mdi_matrix_get_row(v->embedding_q.tiles ? &v->embedding_q : &v->classifier, tokens[i], row);
    if (v->position_embedding) {
      MDI_ASSERT(positions[i] >= 0 && positions[i] < v->hp.seq_len);
      const float *p = v->position_embedding + (size_t)positions[i] * dim;
      for (int j = 0; j < dim; j++) row[j] += p[j];
    }
  }
}

/* out[n][dim] = final_norm(x[n][dim]) (out may be x) */
static void final_norm_rows(const struct mdi_hparams *hp, const float *w, const float *bias, const float *x, int n,
                            float *out) {
  const int dim = hp->dim;
  for (int r = 0; r < n; r++) {
    if (bias)
      mdi_layernorm(out + (size_t)r * dim, x + (size_t)r * dim, w, bias, dim, hp->norm_eps);
    else
      mdi_rmsnorm(out + (size_t)r * dim, x + (size_t)r * dim, w, dim, hp->norm_eps);
  }
}

void mdi_classify(const struct mdi_vocab_layers *v, float *x, int n, float *logits) {
  final_norm_rows(&v->hp, v->final_norm, v->final_norm_bias, x, n, x);
  mdi_matmul(logits, x, &v->classifier, n);
}

void mdi_classify_rows(const struct mdi_vocab_layers *v, float *x, int n, int rows, float *logits, float *tmp) {
  const int V = v->hp.vocab_size;
  MDI_ASSERT(rows == V || (rows >= 0 && rows % MDI_PANEL == 0 && rows < V));
  if (rows == V) {
    mdi_classify(v, x, n, logits);
    return;
  }
  final_norm_rows(&v->hp, v->final_norm, v->final_norm_bias, x, n, x);
  if (rows == 0) return;
  /* the first rows/64 panels (or 16-row groups) of the classifier are a
   * matrix of `rows` rows by themselves */
  struct mdi_matrix head = v->classifier;
  head.rows = rows;
  mdi_matmul(tmp, x, &head, n);
  for (int r = 0; r < n; r++) memcpy(logits + (size_t)r * V, tmp + (size_t)r * rows, (size_t)rows * sizeof(float));
}

int mdi_classifier_tail_load(struct mdi_classifier_tail *t, struct mdi_h5 *f, const struct mdi_hparams *hp,
                             int row0) {
  memset(t, 0, sizeof *t);
  t->hp = *hp;
  t->row0 = row0;
  MDI_ASSERT(row0 >= 0 && row0 % MDI_PANEL == 0 && row0 < hp->vocab_size);
  size_t bytes = 0;
  if (!(t->final_norm = read_tensor(f, "final_norm", hp->dim, 0, &bytes)) ||
      (mdi_hparams_is_gpt2(hp) && !(t->final_norm_bias = read_tensor(f, "final_norm_bias", hp->dim, 0, &bytes))) ||
      read_matrix_rows(&t->rows, f, hp->shared_classifier ? "embedding" : "classifier", hp->vocab_size, hp->dim,
                       row0, hp->vocab_size - row0, &bytes) != MDI_OK) {
    mdi_classifier_tail_free(t);
    return MDI_ERR;
  }
  t->weights_bytes = bytes;
  return MDI_OK;
}

void mdi_classifier_tail_free(struct mdi_classifier_tail *t) {
  mdi_matrix_free(&t->rows);
  free(t->final_norm);
  free(t->final_norm_bias);
  memset(t, 0, sizeof *t);
}

void mdi_classify_tail(const struct mdi_classifier_tail *t, const float *x, int n, float *xb, float *logits) {
  final_norm_rows(&t->hp, t->final_norm, t->final_norm_bias, x, n, xb);
  mdi_matmul(logits, xb, &t->rows, n);
}

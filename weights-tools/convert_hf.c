/* mdi_convert hf: a Hugging Face checkpoint directory (config.json,
 * model.safetensors or shards with model.safetensors.index.json,
 * tokenizer.json) to the HDF5 model file.  Architectures: GPT2LMHeadModel
 * (arch gpt2) and the Llama family, LlamaForCausalLM, MistralForCausalLM,
 * Qwen2ForCausalLM, Qwen3ForCausalLM and Phi3ForCausalLM (arch llama with
 * its options, hparams.h); tensors F32, F16 or BF16, widened to float32.
 * Tensors are copied one at a time in chunks of rows; config.json is read by
 * convert_hf_config.c, tokenizer.json by convert_hf_tokenizer.c.
 *
 * What changes on the way (docs/MODELS.md):
 *  - GPT-2's Conv1D weights are stored [in][out]; the model file wants
 *    [out][in], so they are transposed.  c_attn [dim][3 dim] holds q, k and
 *    v side by side: wq, wk, wv are its column blocks, bq, bk, bv the thirds
 *    of its bias.
 *  - The q and k rows of the Llama family (and q/k biases and norms) are in
 *    the rotate-half RoPE order of Hugging Face (head h pairs rows (i, i +
 *    rope_dim/2)); the runtime rotates adjacent pairs (2i, 2i+1) as llama2.c
 *    does, so they are permuted (convert_rope_source_row).
 *  - Phi-3's fused qkv_proj (q rows, then k, then v) and gate_up_proj (gate
 *    rows, then up) are cut into wq, wk, wv and w1, w3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "safetensors.h"

/* ---- where each tensor of the model file comes from -------------------- */

enum hf_op { HF_COPY, HF_TRANSPOSE };

struct hf_source {
  const struct safetensors_tensor *t;
  enum hf_op op;
  int64_t offset;  /* HF_COPY: first source row (a vector: element); HF_TRANSPOSE: first source column */
  int rotate_half; /* HF_COPY: rows in rotate-half RoPE order, permuted */
};

/* One tensor of a GPT-2 model file: its Hugging Face name (after the prefix,
 * and "h.N." for layer tensors), how it is made, and the source's shape:
 * 'd' dim, 'h' hidden_dim, 'v' vocab_size, 's' seq_len, '3' 3 x dim, 0 none.
 * `third` selects a third of c_attn. */
struct hf_rule {
  const char *kind, *hf;
  enum hf_op op;
  int third;
  char rows, cols;
};

static const struct hf_rule gpt2_rules[] = {
    {"embedding", "wte.weight", HF_COPY, 0, 'v', 'd'},
    {"position_embedding", "wpe.weight", HF_COPY, 0, 's', 'd'},
    {"final_norm", "ln_f.weight", HF_COPY, 0, 'd', 0},
    {"final_norm_bias", "ln_f.bias", HF_COPY, 0, 'd', 0},
    {"attn_norm", "ln_1.weight", HF_COPY, 0, 'd', 0},
    {"attn_norm_bias", "ln_1.bias", HF_COPY, 0, 'd', 0},
    {"wq", "attn.c_attn.weight", HF_TRANSPOSE, 0, 'd', '3'},
    {"wk", "attn.c_attn.weight", HF_TRANSPOSE, 1, 'd', '3'},
    {"wv", "attn.c_attn.weight", HF_TRANSPOSE, 2, 'd', '3'},
    {"bq", "attn.c_attn.bias", HF_COPY, 0, '3', 0},
    {"bk", "attn.c_attn.bias", HF_COPY, 1, '3', 0},
    {"bv", "attn.c_attn.bias", HF_COPY, 2, '3', 0},
    {"wo", "attn.c_proj.weight", HF_TRANSPOSE, 0, 'd', 'd'},
    {"bo", "attn.c_proj.bias", HF_COPY, 0, 'd', 0},
    {"ffn_norm", "ln_2.weight", HF_COPY, 0, 'd', 0},
    {"ffn_norm_bias", "ln_2.bias", HF_COPY, 0, 'd', 0},
    {"w1", "mlp.c_fc.weight", HF_TRANSPOSE, 0, 'd', 'h'},
    {"b1", "mlp.c_fc.bias", HF_COPY, 0, 'h', 0},
    {"w2", "mlp.c_proj.weight", HF_TRANSPOSE, 0, 'h', 'd'},
    {"b2", "mlp.c_proj.bias", HF_COPY, 0, 'd', 0},
};

/* One tensor of a Llama-family model file: its Hugging Face name (after the
 * prefix and "layers.N."), the source's rows (fused: several tensors'
 * worth) and columns, the first source row it takes, whether it is in
 * rotate-half order.  Shapes: 'd' dim, 'h' hidden_dim, 'k' kv_dim, 'q' q_dim,
 * 'v' vocab_size, 'e' head size, 'f' q_dim + 2 kv_dim (Phi-3's qkv_proj),
 * 'g' 2 hidden_dim (its gate_up_proj), 0 none; `from` the same letters for
 * the first row (0: row 0; 'x' q_dim + kv_dim). */
struct llama_rule {
  const char *kind, *hf;
  char rows, cols, from;
  int rotate_half;
};

static const struct llama_rule llama_rules[] = {
    {"embedding", "embed_tokens.weight", 'v', 'd', 0, 0},
    {"final_norm", "norm.weight", 'd', 0, 0, 0},
    {"classifier", "lm_head.weight", 'v', 'd', 0, 0}, /* no prefix: outside the base model */
    {"attn_norm", "input_layernorm.weight", 'd', 0, 0, 0},
    {"wq", "self_attn.q_proj.weight", 'q', 'd', 0, 1},
    {"wk", "self_attn.k_proj.weight", 'k', 'd', 0, 1},
    {"wv", "self_attn.v_proj.weight", 'k', 'd', 0, 0},
    {"wo", "self_attn.o_proj.weight", 'd', 'q', 0, 0},
    {"ffn_norm", "post_attention_layernorm.weight", 'd', 0, 0, 0},
    {"w1", "mlp.gate_proj.weight", 'h', 'd', 0, 0},
    {"w2", "mlp.down_proj.weight", 'd', 'h', 0, 0},
    {"w3", "mlp.up_proj.weight", 'h', 'd', 0, 0},
    {"bq", "self_attn.q_proj.bias", 'q', 0, 0, 1},
    {"bk", "self_attn.k_proj.bias", 'k', 0, 0, 1},
    {"bv", "self_attn.v_proj.bias", 'k', 0, 0, 0},
    {"bo", "self_attn.o_proj.bias", 'd', 0, 0, 0},
    {"q_norm", "self_attn.q_norm.weight", 'e', 0, 0, 1},
    {"k_norm", "self_attn.k_norm.weight", 'e', 0, 0, 1},
    {"b1", "mlp.gate_proj.bias", 'h', 0, 0, 0},
    {"b2", "mlp.down_proj.bias", 'd', 0, 0, 0},
    {"b3", "mlp.up_proj.bias", 'h', 0, 0, 0},
};

/* Phi-3 keeps q, k, v in one matrix and gate, up in another. */
static const struct llama_rule phi3_fused_rules[] = {
    {"wq", "self_attn.qkv_proj.weight", 'f', 'd', 0, 1},
    {"wk", "self_attn.qkv_proj.weight", 'f', 'd', 'q', 1},
    {"wv", "self_attn.qkv_proj.weight", 'f', 'd', 'x', 0},
    {"w1", "mlp.gate_up_proj.weight", 'g', 'd', 0, 0},
    {"w3", "mlp.gate_up_proj.weight", 'g', 'd', 'h', 0},
};

/* The checkpoint being converted. */
struct hf_job {
  const char *dir;
  struct convert_hf_config cfg;
  struct safetensors_model st;
  const char *prefix;  /* "transformer." / "model." or "" */
  char *used;          /* [st.n_tensors] 1 when a tensor is read */
};

static int64_t shape_dim(const struct mdi_hparams *hp, char c) {
  const int64_t q = mdi_hparams_q_dim(hp), kv = mdi_hparams_kv_dim(hp);
  switch (c) {
    case 'd': return hp->dim;
    case 'h': return hp->hidden_dim;
    case 'k': return kv;
    case 'q': return q;
    case 'v': return hp->vocab_size;
    case 's': return hp->seq_len;
    case 'e': return mdi_hparams_head_size(hp);
    case '3': return 3 * (int64_t)hp->dim;
    case 'f': return q + 2 * kv;
    case 'g': return 2 * (int64_t)hp->hidden_dim;
    case 'x': return q + kv;
  }
  return 0;
}

/* The tensor `name` with the given shape (a missing tensor or another shape
 * is an error naming both). */
static int find_tensor(struct hf_job *j, const char *name, int ndims, const int64_t *dims,
                       const struct safetensors_tensor **out) {
  const struct safetensors_tensor *t = safetensors_find(&j->st, name);
  if (!t) return mdi_fail("%s: tensor %s is missing", j->dir, name);
  int same = t->ndims == ndims;
  for (int i = 0; same && i < ndims; i++) same = t->dims[i] == dims[i];
  if (!same) {
    char have[160], want[160];
    safetensors_format_shape(have, sizeof have, t->ndims, t->dims);
    safetensors_format_shape(want, sizeof want, ndims, dims);
    return mdi_fail("%s: tensor %s has shape %s but config.json implies %s", safetensors_path(&j->st, t), name, have,
                    want);
  }
  if (t->dtype == SAFETENSORS_OTHER) /* refused before the output exists */
    return mdi_fail("%s: tensor %s has dtype %s (only F32, F16 and BF16 are converted)", safetensors_path(&j->st, t),
                    name, t->dtype_name);
  j->used[t - j->st.tensors] = 1;
  *out = t;
  return MDI_OK;
}

static int resolve_gpt2(struct hf_job *j, const struct convert_tensor *t, struct hf_source *src) {
  const struct mdi_hparams *hp = &j->cfg.hp;
  const char *kind = convert_tensor_kind(t);
  const struct hf_rule *r = NULL;
  for (size_t i = 0; i < sizeof gpt2_rules / sizeof gpt2_rules[0] && !r; i++)
    if (strcmp(gpt2_rules[i].kind, kind) == 0) r = &gpt2_rules[i];
  MDI_ASSERT(r != NULL);
  char name[256];
  if (t->layer >= 0)
    snprintf(name, sizeof name, "%sh.%d.%s", j->prefix, t->layer, r->hf);
  else
    snprintf(name, sizeof name, "%s%s", j->prefix, r->hf);
  const int64_t dims[2] = {shape_dim(hp, r->rows), shape_dim(hp, r->cols)};
  if (find_tensor(j, name, r->cols ? 2 : 1, dims, &src->t) != MDI_OK) return MDI_ERR;
  src->op = r->op;
  src->offset = (int64_t)r->third * hp->dim;
  src->rotate_half = 0;
  return MDI_OK;
}

static int resolve_llama(struct hf_job *j, const struct convert_tensor *t, struct hf_source *src) {
  const struct mdi_hparams *hp = &j->cfg.hp;
  const char *kind = convert_tensor_kind(t);
  const struct llama_rule *r = NULL;
  if (j->cfg.arch == CONVERT_HF_PHI3)
    for (size_t i = 0; i < sizeof phi3_fused_rules / sizeof phi3_fused_rules[0] && !r; i++)
      if (strcmp(phi3_fused_rules[i].kind, kind) == 0) r = &phi3_fused_rules[i];
  for (size_t i = 0; i < sizeof llama_rules / sizeof llama_rules[0] && !r; i++)
    if (strcmp(llama_rules[i].kind, kind) == 0) r = &llama_rules[i];
  MDI_ASSERT(r != NULL);
  char name[256];
  if (strcmp(kind, "classifier") == 0)
    snprintf(name, sizeof name, "%s", r->hf);
  else if (t->layer >= 0)
    snprintf(name, sizeof name, "%slayers.%d.%s", j->prefix, t->layer, r->hf);
  else
    snprintf(name, sizeof name, "%s%s", j->prefix, r->hf);
  const int64_t dims[2] = {shape_dim(hp, r->rows), shape_dim(hp, r->cols)};
  if (find_tensor(j, name, r->cols ? 2 : 1, dims, &src->t) != MDI_OK) return MDI_ERR;
  src->op = HF_COPY;
  src->offset = shape_dim(hp, r->from);
  src->rotate_half = r->rotate_half;
  return MDI_OK;
}

/* Where the model file's tensor t comes from. */
static int resolve(struct hf_job *j, const struct convert_tensor *t, struct hf_source *src) {
  return j->cfg.arch == CONVERT_HF_GPT2 ? resolve_gpt2(j, t, src) : resolve_llama(j, t, src);
}

/* *same = 1 when tensors a and b have the same dtype, shape and bytes. */
static int same_tensor(struct hf_job *j, const struct safetensors_tensor *a, const struct safetensors_tensor *b,
                       int *same) {
  *same = a->dtype == b->dtype && a->elems == b->elems && a->elem_size == b->elem_size;
  const size_t chunk = CONVERT_CHUNK_BYTES / 2;
  unsigned char *pa = *same ? mdi_malloc(chunk, "tensor comparison") : NULL;
  unsigned char *pb = *same ? mdi_malloc(chunk, "tensor comparison") : NULL;
  int rc = *same && (!pa || !pb) ? MDI_ERR : MDI_OK;
  const int64_t bytes = a->elems * a->elem_size;
  for (int64_t pos = 0; rc == MDI_OK && *same && pos < bytes; pos += (int64_t)chunk) {
    const size_t n = bytes - pos < (int64_t)chunk ? (size_t)(bytes - pos) : chunk;
    rc = convert_input_read_at(&j->st.files[a->file], a->offset + pos, pa, n, a->name);
    if (rc == MDI_OK) rc = convert_input_read_at(&j->st.files[b->file], b->offset + pos, pb, n, b->name);
    if (rc == MDI_OK) *same = memcmp(pa, pb, n) == 0;
  }
  free(pa);
  free(pb);
  return rc;
}

/* The classifier: gpt2 ties it to wte (an lm_head.weight must be a copy);
 * llama ties it when tie_word_embeddings says so, or when lm_head.weight is
 * a bit-for-bit copy of embed_tokens.weight. */
static int decide_classifier(struct hf_job *j) {
  struct mdi_hparams *hp = &j->cfg.hp;
  char emb_name[64];
  snprintf(emb_name, sizeof emb_name, "%s%s", j->prefix, j->cfg.arch == CONVERT_HF_GPT2 ? "wte.weight" : "embed_tokens.weight");
  const struct safetensors_tensor *lm = safetensors_find(&j->st, "lm_head.weight");
  const struct safetensors_tensor *emb = safetensors_find(&j->st, emb_name);
  if (!emb) return mdi_fail("%s: tensor %s is missing", j->dir, emb_name);
  if (!lm) {
    if (!j->cfg.tie) return mdi_fail("%s: tensor lm_head.weight is missing (tie_word_embeddings is false)", j->dir);
    return MDI_OK;
  }
  int same;
  if (same_tensor(j, emb, lm, &same) != MDI_OK) return MDI_ERR;
  if (j->cfg.arch == CONVERT_HF_GPT2 && !same)
    return mdi_fail("%s: lm_head.weight differs from %s; GPT-2 with an untied classifier is not supported",
                    safetensors_path(&j->st, lm), emb_name);
  if (j->cfg.tie || same) {
    j->used[lm - j->st.tensors] = 1;
    if (!same)
      mdi_log_warn("%s: lm_head.weight differs from %s but tie_word_embeddings is true: the embedding is used, "
                   "as Hugging Face does", j->dir, emb_name);
    else if (!j->cfg.tie)
      mdi_log_info("note: %s: lm_head.weight is a copy of %s: classifier shared", j->dir, emb_name);
    hp->shared_classifier = 1;
  } else {
    hp->shared_classifier = 0;
  }
  return MDI_OK;
}

/* Buffers never have to hold more than one chunk of rows. */
#define CHUNK_FLOATS (CONVERT_CHUNK_BYTES / sizeof(float))

/* Rows [r, r + n) of the model file's tensor (`cols` floats each; a vector
 * is rows of one float) into buf, made from the source as src says; col
 * holds n floats. */
static int fill_rows(struct hf_job *j, const struct hf_source *src, int64_t r, int64_t n, int64_t cols, float *buf,
                     float *col) {
  const struct safetensors_tensor *t = src->t;
  const struct mdi_hparams *hp = &j->cfg.hp;
  switch (src->op) {
    case HF_COPY:
      if (!src->rotate_half)
        return safetensors_read_floats(&j->st, t, (src->offset + r) * cols, (size_t)(n * cols), buf);
      for (int64_t k = 0; k < n; k++) {
        const int64_t from = src->offset + convert_rope_source_row(r + k, mdi_hparams_head_size(hp), mdi_hparams_rope_dim(hp));
        if (safetensors_read_floats(&j->st, t, from * cols, (size_t)cols, buf + k * cols) != MDI_OK) return MDI_ERR;
      }
      return MDI_OK;
    case HF_TRANSPOSE: { /* source [cols][S]: our [r + k][i] is its [i][offset + r + k] */
      const int64_t S = t->dims[1];
      for (int64_t i = 0; i < cols; i++) {
        if (safetensors_read_floats(&j->st, t, i * S + src->offset + r, (size_t)n, col) != MDI_OK) return MDI_ERR;
        for (int64_t k = 0; k < n; k++) buf[k * cols + i] = col[k];
      }
      return MDI_OK;
    }
  }
  MDI_PANIC("bad operation %d", (int)src->op);
}

static int write_tensor(struct hf_job *j, struct mdi_h5w *w, const struct convert_tensor *t, const struct hf_source *src,
                        float *buf, float *col) {
  if (t->ndims == 1) { /* norms and biases: one short vector, rows of one element */
    MDI_ASSERT((size_t)t->dims[0] <= CHUNK_FLOATS);
    if (fill_rows(j, src, 0, t->dims[0], 1, buf, col) != MDI_OK) return MDI_ERR;
    return mdi_h5w_write(w, t->name, MDI_F32, 1, t->dims, buf);
  }
  const int64_t rows = t->dims[0], cols = t->dims[1];
  int64_t chunk = (int64_t)(CHUNK_FLOATS / (size_t)cols);
  if (chunk < 1) return mdi_fail("%s: rows of %lld floats are too long", t->name, (long long)cols);
  if (chunk >= rows) { /* the whole tensor in one piece */
    if (fill_rows(j, src, 0, rows, cols, buf, col) != MDI_OK) return MDI_ERR;
    return mdi_h5w_write(w, t->name, MDI_F32, 2, t->dims, buf);
  }
  if (mdi_h5w_create_2d(w, t->name, MDI_F32, rows, cols) != MDI_OK) return MDI_ERR;
  for (int64_t r = 0; r < rows; r += chunk) {
    const int64_t n = rows - r < chunk ? rows - r : chunk;
    if (fill_rows(j, src, r, n, cols, buf, col) != MDI_OK ||
        mdi_h5w_write_rows(w, t->name, MDI_F32, r, n, cols, buf) != MDI_OK)
      return MDI_ERR;
  }
  return MDI_OK;
}

/* Every source tensor is located (and its shape checked) before the output
 * is created; then they are written in canonical order. */
static int write_model(struct hf_job *j, const struct mdi_tokenizer *tok, const char *out, const char *const *inputs,
                       int n_inputs) {
  const struct mdi_hparams *hp = &j->cfg.hp;
  const int n = convert_tensor_count(hp);
  struct hf_source *src = mdi_calloc((size_t)n, sizeof *src, "tensor table");
  float *buf = mdi_malloc(CONVERT_CHUNK_BYTES, "tensor rows"), *col = mdi_malloc(CONVERT_CHUNK_BYTES, "tensor rows");
  int rc = src && buf && col ? MDI_OK : MDI_ERR;
  for (int i = 0; i < n && rc == MDI_OK; i++) {
    struct convert_tensor t;
    convert_tensor_at(hp, i, &t);
    rc = resolve(j, &t, &src[i]);
  }
  struct mdi_h5w *w = NULL;
  char *tmp = NULL;
  if (rc == MDI_OK) rc = convert_tmp_begin(out, inputs, n_inputs, &tmp);
  if (rc == MDI_OK) rc = mdi_h5w_create(&w, tmp);
  if (rc == MDI_OK) {
    rc = mdi_h5w_write_hparams(w, hp);
    for (int i = 0; i < n && rc == MDI_OK; i++) {
      struct convert_tensor t;
      convert_tensor_at(hp, i, &t);
      rc = write_tensor(j, w, &t, &src[i], buf, col);
    }
    if (rc == MDI_OK) rc = mdi_tokenizer_save(tok, w);
    if (rc == MDI_OK)
      rc = mdi_h5w_close(w); /* removes the file when anything failed */
    else
      mdi_h5w_abandon(w);
  }
  rc = convert_tmp_end(tmp, out, rc);
  free(src);
  free(buf);
  free(col);
  return rc;
}

/* Buffers of the model that are not weights (GPT-2's causal masks, Llama's
 * RoPE frequencies) are skipped quietly; anything else unused is reported. */
static void report_unused(const struct hf_job *j) {
  static const char *const buffers[] = {".attn.bias", ".attn.masked_bias", ".rotary_emb.inv_freq"};
  int unused = 0;
  const char *example = NULL;
  for (int i = 0; i < j->st.n_tensors; i++) {
    if (j->used[i]) continue;
    const char *name = j->st.tensors[i].name;
    int buffer = 0;
    for (size_t k = 0; k < sizeof buffers / sizeof buffers[0]; k++) {
      const size_t a = strlen(name), b = strlen(buffers[k]);
      buffer |= a >= b && strcmp(name + a - b, buffers[k]) == 0;
    }
    if (buffer) continue;
    unused++;
    if (!example) example = name;
  }
  if (unused)
    mdi_log_warn("%s: %d tensors are not part of the %s layout and are ignored (e.g. %s)", j->dir, unused,
                 j->cfg.hp.arch, example);
}

static const char *dtypes_used(const struct hf_job *j) {
  int f32 = 0, f16 = 0, bf16 = 0;
  for (int i = 0; i < j->st.n_tensors; i++) {
    if (!j->used[i]) continue;
    f32 |= j->st.tensors[i].dtype == SAFETENSORS_F32;
    f16 |= j->st.tensors[i].dtype == SAFETENSORS_F16;
    bf16 |= j->st.tensors[i].dtype == SAFETENSORS_BF16;
  }
  return f32 + f16 + bf16 > 1 ? "mixed F32/F16/BF16" : f16 ? "F16" : bf16 ? "BF16" : "F32";
}

static int convert(const char *dir, const char *out) {
  struct hf_job j = {.dir = dir};
  struct mdi_tokenizer tok;
  int have_tok = 0, rc = MDI_ERR, n_inputs = 0;
  const char **inputs = NULL;
  char tok_path[4096];
  if (convert_read_hf_config(dir, &j.cfg) != MDI_OK || safetensors_open_dir(&j.st, dir) != MDI_OK) return MDI_ERR;
  j.used = mdi_calloc((size_t)(j.st.n_tensors > 0 ? j.st.n_tensors : 1), 1, "tensor table");
  if (!j.used) goto done;
  /* the output must not be one of the inputs */
  char cfg_path[4096], index_path[4096];
  snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
  snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", dir);
  snprintf(index_path, sizeof index_path, "%s/model.safetensors.index.json", dir);
  inputs = mdi_calloc((size_t)j.st.n_files + 3, sizeof *inputs, "input list");
  if (!inputs) goto done;
  for (int i = 0; i < j.st.n_files; i++) inputs[i] = j.st.paths[i];
  inputs[j.st.n_files] = cfg_path;
  inputs[j.st.n_files + 1] = tok_path;
  inputs[j.st.n_files + 2] = index_path;
  n_inputs = j.st.n_files + 3;
  if (convert_check_output(out, inputs, n_inputs) != MDI_OK) goto done;
  const char *base = j.cfg.arch == CONVERT_HF_GPT2 ? "transformer." : "model.";
  char probe[64];
  snprintf(probe, sizeof probe, "%s%s", base, j.cfg.arch == CONVERT_HF_GPT2 ? "wte.weight" : "embed_tokens.weight");
  j.prefix = safetensors_find(&j.st, probe) ? base : ""; /* checkpoints of the base model have no prefix */
  if (decide_classifier(&j) != MDI_OK) goto done;
  if ((size_t)snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", dir) >= sizeof tok_path) {
    mdi_fail("%s: path too long", dir);
    goto done;
  }
  if (convert_read_hf_tokenizer(&tok, dir, j.cfg.hp.vocab_size, &j.cfg.ids) != MDI_OK) goto done;
  have_tok = 1;
  if (write_model(&j, &tok, out, inputs, n_inputs) != MDI_OK) goto done;
  report_unused(&j);
  mdi_log_info("%s: %s, %s tensors from %d file%s, %s tokenizer", dir, j.cfg.cls, dtypes_used(&j), j.st.n_files,
               j.st.n_files == 1 ? "" : "s", mdi_tokenizer_kind_name(tok.kind));
  convert_report_written(out, &j.cfg.hp);
  rc = MDI_OK;
done:
  if (have_tok) mdi_tokenizer_free(&tok);
  free(inputs);
  free(j.used);
  safetensors_close(&j.st);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert hf DIR OUT.h5\n"
          "\n"
          "Convert a Hugging Face checkpoint directory into an mdi-llm HDF5 model file\n"
          "(docs/FORMAT.md, docs/MODELS.md): DIR/config.json (GPT2LMHeadModel,\n"
          "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM or\n"
          "Phi3ForCausalLM), DIR/model.safetensors or the shards listed in\n"
          "DIR/model.safetensors.index.json (F32, F16 or BF16 tensors, widened to float32),\n"
          "and DIR/tokenizer.json (BPE: byte-level for GPT-2, SentencePiece-style with byte\n"
          "fallback for Llama).  GPT-2's Conv1D weights are transposed; the q/k rows of\n"
          "the others are permuted from Hugging Face's rotate-half RoPE order to adjacent\n"
          "pairs, and Phi-3's fused qkv_proj and gate_up_proj are cut.\n"
          "Generation stops at eos_token_id.\n"
          "\n"
          "options:\n"
          "  -q, --quiet   no progress notes\n"
          "  -h, --help    this help\n");
}

int convert_hf_main(int argc, char **argv) {
  const char *pos[2];
  int help, n_pos;
  if (convert_parse_args(argc, argv, NULL, 0, &help, pos, 2, &n_pos) != MDI_OK) {
    mdi_log_error("hf: %s (see 'mdi_convert hf --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (n_pos != 2) {
    mdi_log_error("hf: expected DIR and OUT.h5 (see 'mdi_convert hf --help')");
    return CONVERT_EXIT_USAGE;
  }
  if (convert_check_output(pos[1], NULL, 0) != MDI_OK || convert(pos[0], pos[1]) != MDI_OK) { /* shards: in convert */
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}

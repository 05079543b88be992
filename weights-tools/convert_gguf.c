/* mdi_convert gguf: a GGUF model of the Llama family, as llama.cpp writes
 * it (architectures llama, qwen2, qwen3, phi3), to the HDF5 model file.
 * F32, F16 and BF16 tensors become float32; matrices of the quantized types
 * mdi-llm runs (quant.h) keep their blocks as they are (docs/FORMAT.md,
 * "Quantized weights"); gguf_reader.c refuses any other type by name.  This
 * file reads the hyperparameters and the tensors; convert_gguf_tokenizer.c
 * reads the tokenizer.ggml.* metadata.
 *
 * Names: token_embd -> /embedding, output_norm -> /final_norm, output ->
 * /classifier, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
 * ffn_norm, ffn_gate, ffn_down, ffn_up}.weight -> layers/NNN/{attn_norm, wq,
 * wk, wv, wo, ffn_norm, w1, w2, w3}; the options' tensors attn_{q,k,v,
 * output}.bias -> bq, bk, bv, bo, attn_{q,k}_norm.weight -> q_norm, k_norm,
 * ffn_{gate,down,up}.bias -> b1, b2, b3; phi3's fused attn_qkv (q, k, v rows)
 * and ffn_up (gate rows, then up rows) are cut.  GGUF lists dims innermost
 * first, so a GGUF [in, out] tensor is our row-major [out][in], with the same
 * bytes.
 *
 * RoPE: llama.cpp runs "llama" with interleaved pairs, the order of this
 * project (its Hugging Face converter permutes q/k rows for it; GGUFs from
 * llama2.c checkpoints were never permuted), so those rows are copied as
 * they are.  qwen2, qwen3 and phi3 run as NEOX (pairs (i, i + rope_dim/2),
 * Hugging Face's order, unpermuted), so their q/k rows, biases and norms are
 * permuted here.  rope_freqs.weight (Llama 3's rope scaling) becomes the
 * model's rope frequency factors; linear scaling becomes equal factors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

/* The GGUF architectures this converter reads, and what their files hold. */
struct gguf_family {
  const char *arch;
  int neox;     /* q/k rows in rotate-half order (llama.cpp permutes them for "llama" only) */
  int qkv_bias; /* attn_{q,k,v}.bias always present */
  int qk_norm;  /* attn_q_norm, attn_k_norm */
  int window;   /* ARCH.attention.sliding_window is used (llama.cpp applies it for phi3) */
};

static const struct gguf_family families[] = {
    {"llama", 0, 0, 0, 0}, {"qwen2", 1, 1, 0, 0}, {"qwen3", 1, 0, 1, 0}, {"phi3", 1, 0, 0, 1}};

/* GGUF name of each layer tensor (enum convert_layer_tensor order). */
static const char *const gguf_layer_names[CONVERT_N_LAYER_TENSORS] = {
    "attn_norm.weight", "attn_q.weight",      "attn_k.weight",      "attn_v.weight",  "attn_output.weight",
    "ffn_norm.weight",  "ffn_gate.weight",    "ffn_down.weight",    "ffn_up.weight",  "attn_q.bias",
    "attn_k.bias",      "attn_v.bias",        "attn_output.bias",   "attn_q_norm.weight", "attn_k_norm.weight",
    "ffn_gate.bias",    "ffn_down.bias",      "ffn_up.bias"};

/* The file being read and what is known of it. */
struct gguf_job {
  struct gguf_file *g;
  const struct gguf_family *fam;
  char *used; /* [g->n_tensors] 1 when a tensor is part of the model */
};

/* "ARCH.name" for the file's architecture, in one of a few rotating
 * buffers so that a message can name two keys. */
static const char *key(const struct gguf_job *j, const char *name) {
  static char bufs[4][128];
  static int next;
  char *buf = bufs[next++ % 4];
  snprintf(buf, sizeof bufs[0], "%s.%s", j->fam->arch, name);
  return buf;
}

/* An integer hyperparameter: `fallback` when absent and not required. */
static int get_int_field(struct gguf_file *g, const char *k, int required, int fallback, int *out) {
  int64_t v;
  int found = gguf_get_int(g, k, &v);
  if (found < 0) return MDI_ERR;
  if (!found) {
    if (required) return mdi_fail("%s: metadata %s is missing", g->in.path, k);
    *out = fallback;
    return MDI_OK;
  }
  if (v < -2147483647LL || v > 2147483647LL)
    return mdi_fail("%s: metadata %s = %lld is out of range", g->in.path, k, (long long)v);
  *out = (int)v;
  return MDI_OK;
}

/* Find `name`, check that its GGUF dims are our row-major dims[0..ndims)
 * reversed, and mark it used. */
static const struct gguf_tensor *find_checked(struct gguf_job *j, const char *name, int ndims, const int64_t *dims) {
  struct gguf_file *g = j->g;
  const struct gguf_tensor *t = gguf_find_tensor(g, name);
  if (!t) {
    mdi_fail("%s: tensor %s is missing", g->in.path, name);
    return NULL;
  }
  int same = t->n_dims == ndims;
  for (int i = 0; same && i < ndims; i++) same = t->dims[i] == dims[ndims - 1 - i];
  if (!same) {
    char have[96] = "", want[96] = "";
    size_t h = 0, w = 0;
    for (int i = 0; i < t->n_dims; i++)
      h += (size_t)snprintf(have + h, sizeof have - h, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    for (int i = 0; i < ndims; i++)
      w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld", i ? ", " : "", (long long)dims[ndims - 1 - i]);
    mdi_fail("%s: tensor %s has dims [%s] but the metadata implies [%s] (GGUF order, innermost first)", g->in.path,
             name, have, want);
    return NULL;
  }
  j->used[t - g->tensors] = 1;
  return t;
}

/* src = tensor `name` of our shape dims, from its row `row0` on (a fused
 * tensor of `rows` rows holds several of ours). */
static int locate(struct gguf_job *j, const char *name, int ndims, const int64_t *dims, int64_t rows, int64_t row0,
                  struct convert_tensor_src *src, const struct gguf_tensor **found) {
  int64_t whole[2] = {rows > 0 ? rows : dims[0], ndims == 2 ? dims[1] : 1};
  const struct gguf_tensor *t = find_checked(j, name, ndims, whole);
  if (!t) return MDI_ERR;
  gguf_tensor_src(t, src);
  src->off += convert_src_bytes(src, row0, ndims == 2 ? dims[1] : 1);
  if (found) *found = t;
  return MDI_OK;
}

/* ---- hyperparameters ----------------------------------------------------- */

/* A tensor of rope factors, F32 [rope_dim/2], into out: llama.cpp's
 * divisors of each pair's frequency (convert_hf_to_gguf.py writes Llama 3's
 * rope scaling as rope_freqs.weight, LongRoPE as rope_factors_long/short). */
static int read_factors(struct gguf_job *j, const char *name, int pairs, float *out) {
  const int64_t dims[1] = {pairs};
  const struct gguf_tensor *t = find_checked(j, name, 1, dims);
  if (!t) return MDI_ERR;
  if (t->type != GGML_TYPE_F32)
    return mdi_fail("%s: %s has type %s (F32 expected)", j->g->in.path, name, gguf_ggml_type_name(t->type));
  return convert_input_read_at(&j->g->in, t->off, out, (size_t)pairs * sizeof(float), name);
}

/* LongRoPE (phi3): the short factors up to ARCH.rope.scaling.original_context_length,
 * the long ones beyond, cos and sin scaled by ARCH.rope.scaling.attn_factor. */
static int read_longrope(struct gguf_job *j, struct mdi_hparams *hp) {
  const int pairs = mdi_hparams_rope_dim(hp) / 2;
  double attn = 1.0;
  if (read_factors(j, "rope_factors_short.weight", pairs, hp->rope_factors) ||
      read_factors(j, "rope_factors_long.weight", pairs, hp->rope_factors_long) ||
      get_int_field(j->g, key(j, "rope.scaling.original_context_length"), 1, 0, &hp->rope_orig_seq_len) ||
      gguf_get_float(j->g, key(j, "rope.scaling.attn_factor"), &attn) < 0)
    return MDI_ERR;
  hp->n_rope_factors = hp->n_rope_factors_long = pairs;
  hp->rope_attn_factor = (float)attn;
  snprintf(hp->rope_scaling, sizeof hp->rope_scaling, "longrope");
  return MDI_OK;
}

/* RoPE scaling: rope_freqs.weight, linear, or refused by name. */
static int rope_scaling(struct gguf_job *j, struct mdi_hparams *hp) {
  struct gguf_file *g = j->g;
  char type[64] = "";
  double factor = 1.0;
  int found = gguf_get_string(g, key(j, "rope.scaling.type"), type, sizeof type);
  if (found < 0) return MDI_ERR;
  if (found && strcmp(type, "none") != 0 && strcmp(type, "linear") != 0)
    return mdi_fail("%s: %s '%s' is not supported (none or linear)", g->in.path, key(j, "rope.scaling.type"), type);
  if (gguf_get_float(g, key(j, "rope.scaling.factor"), &factor) < 0) return MDI_ERR;
  if (!found && gguf_get_float(g, key(j, "rope.scale_linear"), &factor) < 0) return MDI_ERR; /* older files */
  const int linear = (found && strcmp(type, "linear") == 0) || (!found && factor != 1.0);
  const int longrope = gguf_find_tensor(g, "rope_factors_long.weight") || gguf_find_tensor(g, "rope_factors_short.weight");
  const int freqs = gguf_find_tensor(g, "rope_freqs.weight") != NULL;
  if (linear + longrope + freqs > 1)
    return mdi_fail("%s: more than one RoPE scaling (linear, rope_freqs.weight, rope_factors_long/short.weight)",
                    g->in.path);
  if (longrope) return read_longrope(j, hp);
  if (freqs) {
    if (read_factors(j, "rope_freqs.weight", mdi_hparams_rope_dim(hp) / 2, hp->rope_factors) != MDI_OK) return MDI_ERR;
    hp->n_rope_factors = mdi_hparams_rope_dim(hp) / 2;
    snprintf(hp->rope_scaling, sizeof hp->rope_scaling, "rope_freqs");
    return MDI_OK;
  }
  if (!linear || factor == 1.0) return MDI_OK;
  if (!(factor > 0.0)) return mdi_fail("%s: linear RoPE scaling factor %g must be positive", g->in.path, factor);
  hp->n_rope_factors = mdi_hparams_rope_dim(hp) / 2;
  for (int i = 0; i < hp->n_rope_factors; i++) hp->rope_factors[i] = (float)factor;
  snprintf(hp->rope_scaling, sizeof hp->rope_scaling, "linear");
  return MDI_OK;
}

/* The options a "llama" file has when it carries their tensors (Llama's
 * attention_bias, mlp_bias), looked up in layer 0. */
static void optional_biases(struct gguf_job *j, struct mdi_hparams *hp) {
  hp->qkv_bias = j->fam->qkv_bias || gguf_find_tensor(j->g, "blk.0.attn_q.bias") != NULL;
  hp->out_bias = gguf_find_tensor(j->g, "blk.0.attn_output.bias") != NULL;
  hp->mlp_bias = gguf_find_tensor(j->g, "blk.0.ffn_down.bias") != NULL;
  hp->qk_norm = j->fam->qk_norm;
}

static int read_family(struct gguf_job *j) {
  struct gguf_file *g = j->g;
  char arch[64];
  int found = gguf_get_string(g, "general.architecture", arch, sizeof arch);
  if (found < 0) return MDI_ERR;
  if (!found) return mdi_fail("%s: metadata general.architecture is missing", g->in.path);
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
    if (strcmp(arch, families[i].arch) == 0) j->fam = &families[i];
  if (!j->fam) return mdi_fail("%s: architecture '%s' is not supported (llama, qwen2, qwen3, phi3)", g->in.path, arch);
  return MDI_OK;
}

static int read_hparams(struct gguf_job *j, struct mdi_hparams *hp) {
  struct gguf_file *g = j->g;
  memset(hp, 0, sizeof *hp);
  if (read_family(j) != MDI_OK) return MDI_ERR;
  snprintf(hp->arch, sizeof hp->arch, "llama");
  if (get_int_field(g, key(j, "embedding_length"), 1, 0, &hp->dim) ||
      get_int_field(g, key(j, "feed_forward_length"), 1, 0, &hp->hidden_dim) ||
      get_int_field(g, key(j, "block_count"), 1, 0, &hp->n_layers) ||
      get_int_field(g, key(j, "attention.head_count"), 1, 0, &hp->n_heads) ||
      get_int_field(g, key(j, "attention.head_count_kv"), 0, hp->n_heads, &hp->n_kv_heads) ||
      get_int_field(g, key(j, "context_length"), 1, 0, &hp->seq_len))
    return MDI_ERR;
  double eps, theta = 10000.0;
  int found = gguf_get_float(g, key(j, "attention.layer_norm_rms_epsilon"), &eps);
  if (found < 0) return MDI_ERR;
  if (!found) return mdi_fail("%s: metadata %s is missing", g->in.path, key(j, "attention.layer_norm_rms_epsilon"));
  if (gguf_get_float(g, key(j, "rope.freq_base"), &theta) < 0) return MDI_ERR;
  hp->norm_eps = (float)eps;
  hp->rope_theta = (float)theta;
  int experts = 0, value_length = 0, window = 0;
  if (get_int_field(g, key(j, "expert_count"), 0, 0, &experts) != MDI_OK) return MDI_ERR;
  if (experts > 0)
    return mdi_fail("%s: %s = %d: mixtures of experts are not supported", g->in.path, key(j, "expert_count"), experts);
  /* head size: attention.key_length when the model says (Qwen3: 128 with
   * 1024 / 16 heads), else dim / n_heads */
  const int dim_heads = hp->n_heads > 0 ? hp->dim / hp->n_heads : 0;
  if (get_int_field(g, key(j, "attention.key_length"), 0, dim_heads, &hp->head_dim) ||
      get_int_field(g, key(j, "attention.value_length"), 0, hp->head_dim, &value_length) ||
      get_int_field(g, key(j, "rope.dimension_count"), 0, hp->head_dim, &hp->rope_dim))
    return MDI_ERR;
  if (value_length != hp->head_dim)
    return mdi_fail("%s: %s = %d differs from %s = %d (not supported)", g->in.path, key(j, "attention.value_length"),
                    value_length, key(j, "attention.key_length"), hp->head_dim);
  if (j->fam->window && get_int_field(g, key(j, "attention.sliding_window"), 0, 0, &window) != MDI_OK) return MDI_ERR;
  hp->sliding_window = window > 0 && window < hp->seq_len ? window : 0;
  optional_biases(j, hp);
  /* the vocabulary size comes from the tokens; shared is decided later */
  const struct gguf_kv *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens");
  if (!tokens) return mdi_fail("%s: metadata tokenizer.ggml.tokens is missing", g->in.path);
  if (tokens->type != GGUF_ARRAY || tokens->elem_type != GGUF_STRING)
    return mdi_fail("%s: metadata tokenizer.ggml.tokens should be an array of strings", g->in.path);
  hp->vocab_size = tokens->count > 0x7fffffff ? -1 : (int)tokens->count;
  hp->shared_classifier = 1;
  char source[4200];
  snprintf(source, sizeof source, "%s: GGUF metadata", g->in.path);
  if (mdi_hparams_validate(hp, source) != MDI_OK) return MDI_ERR; /* rope_dim and head size checked here */
  int vocab = 0;
  if (get_int_field(g, key(j, "vocab_size"), 0, hp->vocab_size, &vocab) != MDI_OK) return MDI_ERR;
  if (vocab != hp->vocab_size)
    return mdi_fail("%s: %s = %d but tokenizer.ggml.tokens has %d entries", g->in.path, key(j, "vocab_size"), vocab,
                    hp->vocab_size);
  if (rope_scaling(j, hp) != MDI_OK) return MDI_ERR;
  return mdi_hparams_validate(hp, source);
}

/* ---- tensors ------------------------------------------------------------- */

/* Is `output` a copy of `token_embd` (same type and bytes)? */
static int classifier_is_embedding(struct gguf_file *g, const struct gguf_tensor *emb,
                                   const struct gguf_tensor *out, int *same) {
  *same = 0;
  if (emb->type != out->type || emb->bytes != out->bytes) return MDI_OK;
  return convert_same_bytes(&g->in, emb->off, out->off, emb->bytes, "token_embd/output", same);
}

/* Layer l's tensor t: its GGUF name, rows of the whole (fused) tensor and
 * first row, and the RoPE permutation. */
static int locate_layer_tensor(struct gguf_job *j, const struct mdi_hparams *hp, int l, enum convert_layer_tensor t,
                               struct convert_tensor_src *src) {
  const int64_t q = mdi_hparams_q_dim(hp), kv = mdi_hparams_kv_dim(hp), hid = hp->hidden_dim;
  char name[96], fused[96];
  int ndims;
  int64_t dims[2], rows = 0, row0 = 0;
  convert_layer_shape(hp, t, &ndims, dims);
  snprintf(name, sizeof name, "blk.%d.%s", l, gguf_layer_names[t]);
  /* phi3 keeps q, k, v in attn_qkv, and gate and up in ffn_up (no ffn_gate) */
  snprintf(fused, sizeof fused, "blk.%d.attn_qkv.weight", l);
  if ((t == CONVERT_WQ || t == CONVERT_WK || t == CONVERT_WV) && gguf_find_tensor(j->g, fused)) {
    rows = q + 2 * kv;
    row0 = t == CONVERT_WQ ? 0 : t == CONVERT_WK ? q : q + kv;
    snprintf(name, sizeof name, "%s", fused);
  }
  snprintf(fused, sizeof fused, "blk.%d.ffn_gate.weight", l);
  if ((t == CONVERT_W1 || t == CONVERT_W3) && !gguf_find_tensor(j->g, fused)) {
    rows = 2 * hid;
    row0 = t == CONVERT_W1 ? 0 : hid;
    snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l);
  }
  if (locate(j, name, ndims, dims, rows, row0, src, NULL) != MDI_OK) return MDI_ERR;
  if (j->fam->neox && (t == CONVERT_WQ || t == CONVERT_WK || t == CONVERT_BQ || t == CONVERT_BK ||
                       t == CONVERT_Q_NORM || t == CONVERT_K_NORM)) {
    src->rope_head_size = mdi_hparams_head_size(hp);
    src->rope_dim = mdi_hparams_rope_dim(hp);
  }
  return MDI_OK;
}

static int locate_tensors(struct gguf_job *j, struct convert_model_src *src) {
  struct gguf_file *g = j->g;
  struct mdi_hparams *hp = &src->hp;
  const int64_t emb_dims[2] = {hp->vocab_size, hp->dim}, norm_dims[1] = {hp->dim};
  const struct gguf_tensor *emb, *out = NULL;
  if (locate(j, "token_embd.weight", 2, emb_dims, 0, 0, &src->embedding, &emb) != MDI_OK ||
      locate(j, "output_norm.weight", 1, norm_dims, 0, 0, &src->final_norm, NULL) != MDI_OK)
    return MDI_ERR;
  for (int l = 0; l < hp->n_layers; l++)
    for (int t = 0; t < CONVERT_N_LAYER_TENSORS; t++)
      if (convert_layer_tensor_present(hp, (enum convert_layer_tensor)t) &&
          locate_layer_tensor(j, hp, l, (enum convert_layer_tensor)t,
                              &src->layers[(size_t)l * CONVERT_N_LAYER_TENSORS + t]) != MDI_OK)
        return MDI_ERR;
  hp->shared_classifier = 1;
  if (gguf_find_tensor(g, "output.weight")) {
    int same;
    if (locate(j, "output.weight", 2, emb_dims, 0, 0, &src->classifier, &out) != MDI_OK ||
        classifier_is_embedding(g, emb, out, &same) != MDI_OK)
      return MDI_ERR;
    hp->shared_classifier = same;
    if (same) mdi_log_info("note: %s: output.weight is a copy of token_embd.weight: classifier shared", g->in.path);
  }
  int64_t unused = 0;
  const char *example = NULL;
  for (int64_t i = 0; i < g->n_tensors; i++)
    if (!j->used[i] && !unused++) example = g->tensors[i].name;
  if (unused)
    mdi_log_warn("%s: %lld tensors are not part of the %s layout and are ignored (e.g. %s)", g->in.path,
                 (long long)unused, j->fam->arch, example);
  return MDI_OK;
}

int convert_gguf_locate(struct gguf_file *g, struct convert_model_src *src, struct mdi_tokenizer *tok) {
  memset(src, 0, sizeof *src);
  src->in = &g->in;
  struct gguf_job j = {g, NULL, mdi_calloc((size_t)(g->n_tensors > 0 ? g->n_tensors : 1), 1, "tensor table")};
  int rc = j.used ? read_hparams(&j, &src->hp) : MDI_ERR;
  if (rc == MDI_OK) {
    src->layers = mdi_calloc((size_t)src->hp.n_layers * CONVERT_N_LAYER_TENSORS, sizeof *src->layers, "tensor table");
    rc = src->layers ? locate_tensors(&j, src) : MDI_ERR;
  }
  free(j.used);
  if (rc != MDI_OK || gguf_quantization_name(g, src->quantization, sizeof src->quantization) != MDI_OK)
    return MDI_ERR;
  return convert_gguf_read_tokenizer(g, src->hp.vocab_size, tok);
}

static int convert(const char *model, const char *out) {
  struct gguf_file g;
  if (gguf_open(&g, model) != MDI_OK) return MDI_ERR;
  struct convert_model_src src;
  struct mdi_tokenizer tok;
  int rc = MDI_ERR;
  if (convert_gguf_locate(&g, &src, &tok) != MDI_OK) goto done;
  if (src.hp.seq_len == 2048)
    mdi_log_info("note: %s: seq_len 2048 is taken from the context length; it is also the "
                 "default of llama.cpp's llama2.c converter, whatever the model was trained with "
                 "(stories260K: 512)", model);
  rc = convert_write_model(&src, &tok, out, &model, 1);
  if (rc == MDI_OK) convert_report_written(out, &src.hp);
  mdi_tokenizer_free(&tok);
done:
  free(src.layers);
  gguf_close(&g);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert gguf MODEL.gguf OUT.h5\n"
          "\n"
          "Convert a GGUF (version 2 or 3) model of architecture llama, qwen2, qwen3 or\n"
          "phi3, as llama.cpp writes it, into an mdi-llm HDF5 model file (docs/FORMAT.md,\n"
          "docs/MODELS.md).  F16 and BF16 are widened to float32; matrices in Q8_0, Q4_0,\n"
          "Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K stay quantized, block for block (what\n"
          "llama.cpp's Q4_K_M, Q5_K_S, ... files mix); other types (IQ*, TQ*, ...) are\n"
          "refused naming the tensor.  The q/k rows of qwen2, qwen3 and\n"
          "phi3 (NEOX RoPE) are permuted to interleaved pairs, llama's are copied;\n"
          "phi3's fused attn_qkv and ffn_up are cut; rope_freqs.weight becomes the rope\n"
          "frequency factors.  Tokenizer: a SentencePiece ('llama') vocabulary, pieces\n"
          "stored with U+2581 replaced by a space as llama2.c stores them; generation\n"
          "stops at BOS and EOS.\n"
          "\n"
          "options:\n"
          "  -q, --quiet   no progress notes\n"
          "  -h, --help    this help\n");
}

int convert_gguf_main(int argc, char **argv) {
  const char *pos[2];
  int help, n_pos;
  if (convert_parse_args(argc, argv, NULL, 0, &help, pos, 2, &n_pos) != MDI_OK) {
    mdi_log_error("gguf: %s (see 'mdi_convert gguf --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (n_pos != 2) {
    mdi_log_error("gguf: expected MODEL.gguf and OUT.h5 (see 'mdi_convert gguf --help')");
    return CONVERT_EXIT_USAGE;
  }
  if (convert_check_output(pos[1], pos, 1) != MDI_OK || convert(pos[0], pos[1]) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}

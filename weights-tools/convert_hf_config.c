/* config.json of a Hugging Face checkpoint (see convert.h): the
 * architecture, the hyperparameters and the special token ids, with every
 * setting that would change the computation and that the runtime lacks
 * refused by name. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"

#define MAX_CONFIG_BYTES ((size_t)16 << 20)

/* ---- config.json -------------------------------------------------------- */

struct cfg {
  const struct mdi_json *root;
  const char *path;
};

static const struct mdi_json *cfg_get(const struct cfg *c, const char *key) {
  const struct mdi_json *v = mdi_json_get(c->root, key);
  return v && mdi_json_type(v) != MDI_JSON_NULL ? v : NULL;
}

/* An integer in [lo, hi]; `fallback` when absent (or null) and not required. */
static int cfg_int(const struct cfg *c, const char *key, int required, int fallback, int lo, int hi, int *out) {
  const struct mdi_json *v = cfg_get(c, key);
  int64_t x = fallback;
  if (!v && required) return mdi_fail("%s: \"%s\" is missing", c->path, key);
  if (v && !mdi_json_int(v, lo, hi, &x))
    return mdi_fail("%s: \"%s\" must be an integer in [%d, %d]", c->path, key, lo, hi);
  *out = (int)x;
  return MDI_OK;
}

static int cfg_float(const struct cfg *c, const char *key, double fallback, double *out) {
  const struct mdi_json *v = cfg_get(c, key);
  *out = fallback;
  if (!v) return MDI_OK;
  if (mdi_json_type(v) != MDI_JSON_NUMBER || !(mdi_json_number(v) > 0))
    return mdi_fail("%s: \"%s\" must be a positive number", c->path, key);
  *out = mdi_json_number(v);
  return MDI_OK;
}

/* A boolean setting this converter supports only with the value `want`. */
static int cfg_require_bool(const struct cfg *c, const char *key, int fallback, int want) {
  const struct mdi_json *v = cfg_get(c, key);
  if (v && mdi_json_type(v) != MDI_JSON_BOOL) return mdi_fail("%s: \"%s\" must be true or false", c->path, key);
  const int have = v ? mdi_json_bool(v) : fallback;
  if (have != want) return mdi_fail("%s: \"%s\": %s is not supported", c->path, key, have ? "true" : "false");
  return MDI_OK;
}

/* A string setting that must be one of `allowed` (NULL-terminated). */
static int cfg_require_string(const struct cfg *c, const char *key, const char *fallback, const char *const *allowed) {
  const struct mdi_json *v = cfg_get(c, key);
  const char *s = v ? mdi_json_string(v) : fallback;
  if (!s) return mdi_fail("%s: \"%s\" must be a string", c->path, key);
  for (int i = 0; allowed[i]; i++)
    if (strcmp(s, allowed[i]) == 0) return MDI_OK;
  return mdi_fail("%s: \"%s\": \"%s\" is not supported (only \"%s\")", c->path, key, s, allowed[0]);
}

/* The classes this converter knows; every other is refused by name. */
static const struct {
  const char *cls, *type;
  enum convert_hf_arch arch;
} known[] = {{"GPT2LMHeadModel", "gpt2", CONVERT_HF_GPT2},        {"LlamaForCausalLM", "llama", CONVERT_HF_LLAMA},
             {"MistralForCausalLM", "mistral", CONVERT_HF_MISTRAL}, {"Qwen2ForCausalLM", "qwen2", CONVERT_HF_QWEN2},
             {"Qwen3ForCausalLM", "qwen3", CONVERT_HF_QWEN3},       {"Phi3ForCausalLM", "phi3", CONVERT_HF_PHI3}};
#define N_KNOWN (sizeof known / sizeof known[0])
#define KNOWN_LIST "GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, " \
                   "Phi3ForCausalLM"

static int read_arch(const struct cfg *c, enum convert_hf_arch *arch, const char **cls_out) {
  const struct mdi_json *archs = cfg_get(c, "architectures");
  const char *type = mdi_json_string(cfg_get(c, "model_type"));
  const char *cls = archs ? mdi_json_string(mdi_json_first(archs)) : NULL;
  if (archs && (mdi_json_type(archs) != MDI_JSON_ARRAY || !cls))
    return mdi_fail("%s: \"architectures\" must be a list of class names", c->path);
  for (size_t i = 0; i < N_KNOWN; i++) {
    if (cls ? strcmp(cls, known[i].cls) != 0 : !type || strcmp(type, known[i].type) != 0) continue;
    if (type && strcmp(type, known[i].type) != 0)
      return mdi_fail("%s: model_type \"%s\" does not match architecture %s", c->path, type, known[i].cls);
    *arch = known[i].arch;
    *cls_out = known[i].cls;
    return MDI_OK;
  }
  if (cls) return mdi_fail("%s: architecture %s is not supported (" KNOWN_LIST ")", c->path, cls);
  if (type)
    return mdi_fail("%s: model_type \"%s\" is not supported (gpt2, llama, mistral, qwen2, qwen3, phi3)", c->path, type);
  return mdi_fail("%s: neither \"architectures\" nor \"model_type\" says what the model is", c->path);
}

static int gpt2_hparams(const struct cfg *c, struct mdi_hparams *hp, int *tie) {
  static const char *const gelu[] = {"gelu_new", "gelu_pytorch_tanh", "gelu_fast", NULL};
  const int big = 1 << 24;
  double eps;
  snprintf(hp->arch, sizeof hp->arch, "gpt2");
  if (cfg_int(c, "n_embd", 1, 0, 1, big, &hp->dim) || cfg_int(c, "n_layer", 1, 0, 1, big, &hp->n_layers) ||
      cfg_int(c, "n_head", 1, 0, 1, big, &hp->n_heads) || cfg_int(c, "vocab_size", 1, 0, 1, big, &hp->vocab_size) ||
      cfg_int(c, "n_ctx", 0, 0, 1, big, &hp->seq_len) ||
      cfg_int(c, "n_positions", hp->seq_len == 0, hp->seq_len, 1, big, &hp->seq_len) ||
      cfg_int(c, "n_inner", 0, 4 * hp->dim, 1, big, &hp->hidden_dim) ||
      cfg_float(c, "layer_norm_epsilon", 1e-5, &eps) ||
      /* the runtime computes GELU's tanh approximation */
      cfg_require_string(c, "activation_function", "gelu_new", gelu) ||
      cfg_require_bool(c, "scale_attn_weights", 1, 1) || cfg_require_bool(c, "scale_attn_by_inverse_layer_idx", 0, 0) ||
      cfg_require_bool(c, "add_cross_attention", 0, 0) || cfg_require_bool(c, "tie_word_embeddings", 1, 1))
    return MDI_ERR;
  hp->n_kv_heads = hp->n_heads;
  hp->norm_eps = (float)eps;
  hp->rope_theta = 10000.0f; /* unused: GPT-2 learns its positions */
  hp->shared_classifier = 1;
  *tie = 1;
  return MDI_OK;
}

/* A boolean setting (false when absent or null). */
static int cfg_bool(const struct cfg *c, const char *key, int *out) {
  const struct mdi_json *v = cfg_get(c, key);
  if (v && mdi_json_type(v) != MDI_JSON_BOOL) return mdi_fail("%s: \"%s\" must be true or false", c->path, key);
  *out = v ? mdi_json_bool(v) : 0;
  return MDI_OK;
}

/* A number of the rope_scaling object. */
static int scaling_number(const struct cfg *c, const struct mdi_json *rs, const char *key, double *out) {
  const struct mdi_json *v = mdi_json_get(rs, key);
  if (!v || mdi_json_type(v) != MDI_JSON_NUMBER || !(mdi_json_number(v) > 0))
    return mdi_fail("%s: \"rope_scaling\" needs a positive number \"%s\"", c->path, key);
  *out = mdi_json_number(v);
  return MDI_OK;
}

/* A list of rope_dim / 2 positive factors of the rope_scaling object. */
static int factor_list(const struct cfg *c, const struct mdi_json *rs, const char *key, int pairs, float *out) {
  const struct mdi_json *v = mdi_json_get(rs, key);
  if (!v || mdi_json_type(v) != MDI_JSON_ARRAY || mdi_json_count(v) != pairs)
    return mdi_fail("%s: \"rope_scaling\": \"%s\" must list %d factors (rope dims / 2)", c->path, key, pairs);
  int i = 0;
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e), i++) {
    if (mdi_json_type(e) != MDI_JSON_NUMBER || !(mdi_json_number(e) > 0))
      return mdi_fail("%s: \"rope_scaling\": \"%s\"[%d] must be a positive number", c->path, key, i);
    out[i] = (float)mdi_json_number(e);
  }
  return MDI_OK;
}

/* LongRoPE (Phi-3 128k, Phi-3.5, Phi-4-mini) as transformers'
 * _compute_longrope_parameters: the short factors serve contexts up to
 * original_max_position_embeddings, the long ones longer contexts, and cos
 * and sin are scaled by attention_factor, by default sqrt(1 + ln(s) /
 * ln(original)) with s = max_position_embeddings / original (1 when s <= 1). */
static int longrope(const struct cfg *c, const struct mdi_json *rs, struct mdi_hparams *hp) {
  const int pairs = mdi_hparams_rope_dim(hp) / 2;
  if (pairs > MDI_ROPE_MAX_FACTORS) return mdi_fail("%s: rope dims %d are too many for rope_scaling", c->path, 2 * pairs);
  int original = 0;
  if (cfg_int(c, "original_max_position_embeddings", 0, 0, 1, 1 << 24, &original) != MDI_OK) return MDI_ERR;
  const struct mdi_json *o = mdi_json_get(rs, "original_max_position_embeddings");
  int64_t v;
  if (o && !mdi_json_int(o, 1, 1 << 24, &v))
    return mdi_fail("%s: \"rope_scaling\": \"original_max_position_embeddings\" must be a positive integer", c->path);
  if (o) original = (int)v;
  if (!original)
    return mdi_fail("%s: LongRoPE needs \"original_max_position_embeddings\" (the context of the short factors)",
                    c->path);
  if (factor_list(c, rs, "short_factor", pairs, hp->rope_factors) ||
      factor_list(c, rs, "long_factor", pairs, hp->rope_factors_long))
    return MDI_ERR;
  const struct mdi_json *af = mdi_json_get(rs, "attention_factor");
  double attn;
  if (af && mdi_json_type(af) != MDI_JSON_NULL) {
    if (mdi_json_type(af) != MDI_JSON_NUMBER || !(mdi_json_number(af) > 0))
      return mdi_fail("%s: \"rope_scaling\": \"attention_factor\" must be a positive number", c->path);
    attn = mdi_json_number(af);
  } else {
    const double s = (double)hp->seq_len / original;
    attn = s <= 1.0 ? 1.0 : sqrt(1.0 + log(s) / log((double)original));
  }
  hp->n_rope_factors = hp->n_rope_factors_long = pairs;
  hp->rope_orig_seq_len = original;
  hp->rope_attn_factor = (float)attn;
  snprintf(hp->rope_scaling, sizeof hp->rope_scaling, "longrope");
  return MDI_OK;
}

/* rope_scaling as Hugging Face's ROPE_INIT_FUNCTIONS computes it, turned into
 * one frequency divisor per rotated pair (hparams.h): "linear" divides every
 * frequency by factor; "llama3" divides the low frequencies (wavelength above
 * original_max_position_embeddings / low_freq_factor) by factor, keeps the
 * high ones (below ... / high_freq_factor) and blends between them. */
static int rope_scaling(const struct cfg *c, struct mdi_hparams *hp) {
  const struct mdi_json *rs = cfg_get(c, "rope_scaling");
  if (!rs) return MDI_OK;
  if (mdi_json_type(rs) != MDI_JSON_OBJECT) return mdi_fail("%s: \"rope_scaling\" must be an object or null", c->path);
  const char *type = mdi_json_string(mdi_json_get(rs, "rope_type"));
  if (!type) type = mdi_json_string(mdi_json_get(rs, "type")); /* the older spelling */
  if (!type) return mdi_fail("%s: \"rope_scaling\" has no \"rope_type\"", c->path);
  if (strcmp(type, "default") == 0) return MDI_OK;
  if (strcmp(type, "longrope") == 0 || strcmp(type, "su") == 0) return longrope(c, rs, hp);
  if (strcmp(type, "linear") != 0 && strcmp(type, "llama3") != 0)
    return mdi_fail("%s: \"rope_scaling\" of type \"%s\" is not supported (only \"linear\", \"llama3\" and "
                    "\"longrope\")", c->path, type);
  const int rot = mdi_hparams_rope_dim(hp), pairs = rot / 2;
  if (pairs > MDI_ROPE_MAX_FACTORS) return mdi_fail("%s: rope dims %d are too many for rope_scaling", c->path, rot);
  double factor = 1, lo = 1, hi = 1, old = 1;
  if (scaling_number(c, rs, "factor", &factor) != MDI_OK) return MDI_ERR;
  const int llama3 = strcmp(type, "llama3") == 0;
  if (llama3 && (scaling_number(c, rs, "low_freq_factor", &lo) || scaling_number(c, rs, "high_freq_factor", &hi) ||
                 scaling_number(c, rs, "original_max_position_embeddings", &old)))
    return MDI_ERR;
  if (llama3 && !(hi > lo)) return mdi_fail("%s: \"rope_scaling\": high_freq_factor must exceed low_freq_factor", c->path);
  if (llama3) {
    convert_rope_llama3(hp, factor, lo, hi, old);
    return MDI_OK;
  }
  for (int i = 0; i < pairs; i++) hp->rope_factors[i] = (float)factor;
  hp->n_rope_factors = pairs;
  snprintf(hp->rope_scaling, sizeof hp->rope_scaling, "%s", type);
  return MDI_OK;
}

/* Settings of other families that would change the computation. */
static int refuse_unknown(const struct cfg *c, enum convert_hf_arch arch) {
  static const char *const experts[] = {"num_local_experts", "num_experts", "n_routed_experts", "moe_intermediate_size"};
  for (size_t i = 0; i < sizeof experts / sizeof experts[0]; i++) {
    const struct mdi_json *v = cfg_get(c, experts[i]);
    if (v && !(mdi_json_type(v) == MDI_JSON_NUMBER && mdi_json_number(v) == 0))
      return mdi_fail("%s: \"%s\": mixtures of experts are not supported", c->path, experts[i]);
  }
  int sliding = 0;
  if ((arch == CONVERT_HF_QWEN2 || arch == CONVERT_HF_QWEN3) && cfg_bool(c, "use_sliding_window", &sliding))
    return MDI_ERR;
  if ((arch == CONVERT_HF_QWEN2 || arch == CONVERT_HF_QWEN3) && sliding)
    return mdi_fail("%s: \"use_sliding_window\": true is not supported (Qwen's window applies to some layers only)",
                    c->path);
  return MDI_OK;
}

/* The attention window: Mistral's and Phi-3's sliding_window (an integer, or
 * null for none); a window as long as the context changes nothing. */
static int sliding_window(const struct cfg *c, struct mdi_hparams *hp) {
  int w = 0;
  if (cfg_int(c, "sliding_window", 0, 0, 1, 1 << 24, &w) != MDI_OK) return MDI_ERR;
  hp->sliding_window = w > 0 && w < hp->seq_len ? w : 0;
  return MDI_OK;
}

/* Phi-3 rotates the first partial_rotary_factor of each head (Phi-4-mini: 0.75). */
static int partial_rotary(const struct cfg *c, struct mdi_hparams *hp) {
  double f;
  if (cfg_float(c, "partial_rotary_factor", 1.0, &f) != MDI_OK) return MDI_ERR;
  const int hs = mdi_hparams_head_size(hp), rot = (int)(hs * f); /* Hugging Face: int(head_dim * factor) */
  if (f > 1.0 || rot < 2 || rot % 2 != 0)
    return mdi_fail("%s: \"partial_rotary_factor\" %g gives %d rotated dims of %d (an even number >= 2 is needed)",
                    c->path, f, rot, hs);
  hp->rope_dim = rot == hs ? 0 : rot;
  return MDI_OK;
}

static int llama_hparams(const struct cfg *c, enum convert_hf_arch arch, struct mdi_hparams *hp, int *tie) {
  static const char *const silu[] = {"silu", NULL};
  const int big = 1 << 24;
  double eps, theta;
  int attention_bias = 0, mlp_bias = 0;
  snprintf(hp->arch, sizeof hp->arch, "llama");
  if (cfg_int(c, "hidden_size", 1, 0, 1, big, &hp->dim) || cfg_int(c, "intermediate_size", 1, 0, 1, big, &hp->hidden_dim) ||
      cfg_int(c, "num_hidden_layers", 1, 0, 1, big, &hp->n_layers) ||
      cfg_int(c, "num_attention_heads", 1, 0, 1, big, &hp->n_heads) ||
      cfg_int(c, "num_key_value_heads", 0, hp->n_heads, 1, big, &hp->n_kv_heads) ||
      cfg_int(c, "max_position_embeddings", 1, 0, 1, big, &hp->seq_len) ||
      cfg_int(c, "vocab_size", 1, 0, 1, big, &hp->vocab_size) ||
      cfg_int(c, "head_dim", 0, hp->dim / hp->n_heads, 1, big, &hp->head_dim) ||
      cfg_float(c, "rms_norm_eps", 1e-6, &eps) || cfg_float(c, "rope_theta", 10000.0, &theta) ||
      cfg_require_string(c, "hidden_act", "silu", silu) || refuse_unknown(c, arch))
    return MDI_ERR;
  hp->norm_eps = (float)eps;
  hp->rope_theta = (float)theta;
  switch (arch) {
    case CONVERT_HF_LLAMA: /* attention_bias: q, k, v and o; mlp_bias: gate, up and down */
      if (cfg_bool(c, "attention_bias", &attention_bias) || cfg_bool(c, "mlp_bias", &mlp_bias)) return MDI_ERR;
      hp->qkv_bias = hp->out_bias = attention_bias;
      hp->mlp_bias = mlp_bias;
      break;
    case CONVERT_HF_MISTRAL:
      if (sliding_window(c, hp) != MDI_OK) return MDI_ERR;
      break;
    case CONVERT_HF_QWEN2: /* q, k and v always have biases, o none */
      hp->qkv_bias = 1;
      break;
    case CONVERT_HF_QWEN3:
      if (cfg_bool(c, "attention_bias", &attention_bias) != MDI_OK) return MDI_ERR;
      hp->qkv_bias = hp->out_bias = attention_bias;
      hp->qk_norm = 1;
      break;
    case CONVERT_HF_PHI3:
      if (cfg_require_bool(c, "attention_bias", 0, 0) || sliding_window(c, hp) || partial_rotary(c, hp)) return MDI_ERR;
      break;
    case CONVERT_HF_GPT2: MDI_PANIC("gpt2 is not a llama-family class");
  }
  if (rope_scaling(c, hp) != MDI_OK) return MDI_ERR;
  const struct mdi_json *t = cfg_get(c, "tie_word_embeddings");
  if (t && mdi_json_type(t) != MDI_JSON_BOOL) return mdi_fail("%s: \"tie_word_embeddings\" must be true or false", c->path);
  *tie = t ? mdi_json_bool(t) : 0;
  hp->shared_classifier = *tie; /* decided again when lm_head.weight is seen */
  return MDI_OK;
}

/* bos_token_id (an integer or null) and eos_token_id (an integer, a list of
 * them, or null). */
static int special_ids(const struct cfg *c, struct convert_hf_ids *ids) {
  ids->bos_id = -1;
  ids->n_eos = 0;
  if (cfg_int(c, "bos_token_id", 0, -1, 0, 1 << 30, &ids->bos_id) != MDI_OK) return MDI_ERR;
  const struct mdi_json *eos = cfg_get(c, "eos_token_id");
  const int list = eos && mdi_json_type(eos) == MDI_JSON_ARRAY;
  for (const struct mdi_json *e = list ? mdi_json_first(eos) : eos; e; e = list ? mdi_json_next(e) : NULL) {
    int64_t id;
    if (!mdi_json_int(e, 0, 1 << 30, &id)) return mdi_fail("%s: \"eos_token_id\" must be token ids", c->path);
    if (ids->n_eos == MDI_MAX_STOP_IDS) return mdi_fail("%s: more than %d eos_token_id", c->path, MDI_MAX_STOP_IDS);
    ids->eos_ids[ids->n_eos++] = (int)id;
  }
  return MDI_OK;
}

int convert_read_hf_config(const char *dir, struct convert_hf_config *h) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/config.json", dir) >= sizeof path) return mdi_fail("%s: path too long", dir);
  struct mdi_json_doc *doc;
  if (mdi_json_parse_file(&doc, path, MAX_CONFIG_BYTES) != MDI_OK) return MDI_ERR;
  struct cfg c = {mdi_json_root(doc), path};
  memset(h, 0, sizeof *h);
  int rc = mdi_json_type(c.root) == MDI_JSON_OBJECT ? MDI_OK : mdi_fail("%s: not a JSON object", path);
  if (rc == MDI_OK) rc = read_arch(&c, &h->arch, &h->cls);
  if (rc == MDI_OK)
    rc = h->arch == CONVERT_HF_GPT2 ? gpt2_hparams(&c, &h->hp, &h->tie) : llama_hparams(&c, h->arch, &h->hp, &h->tie);
  if (rc == MDI_OK) rc = special_ids(&c, &h->ids);
  if (rc == MDI_OK) rc = mdi_hparams_validate(&h->hp, path);
  mdi_json_free(doc);
  return rc;
}

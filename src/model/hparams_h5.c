/* The hyperparameters as the model file's root attributes (docs/FORMAT.md):
 * the Llama 2 block's, and the llama options (hparams.h) only where they
 * differ from it, with format_version 2 then.  Through weights.h's attribute
 * calls: this file does not see HDF5. */
#include <stdio.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/hparams.h"
#include "mdi/model/weights.h"

static int read_int_field(struct mdi_h5 *f, const char *attr, int *out) {
  int64_t v;
  if (mdi_h5_attr_int(f, "/", attr, &v) != MDI_OK) return MDI_ERR;
  if (v < -2147483647LL || v > 2147483647LL)
    return mdi_fail("%s: root attribute %s = %lld does not fit in 32 bits", mdi_h5_path(f), attr, (long long)v);
  *out = (int)v;
  return MDI_OK;
}

/* An optional integer root attribute: left as it is (0) when absent. */
static int read_optional_int(struct mdi_h5 *f, const char *attr, int *out) {
  return mdi_h5_attr_exists(f, "/", attr) ? read_int_field(f, attr, out) : MDI_OK;
}

/* A float array attribute of rope factors into out[MDI_ROPE_MAX_FACTORS]. */
static int read_factors(struct mdi_h5 *f, const char *attr, float *out, int *n) {
  double v[MDI_ROPE_MAX_FACTORS];
  *n = MDI_ROPE_MAX_FACTORS;
  if (mdi_h5_attr_float_array(f, "/", attr, v, n) != MDI_OK) return MDI_ERR;
  for (int i = 0; i < *n; i++) out[i] = (float)v[i];
  return MDI_OK;
}

/* The llama options (docs/FORMAT.md, "Llama-family options"): each root
 * attribute is present only when it differs from Llama 2's block. */
static int read_options(struct mdi_h5 *f, struct mdi_hparams *hp) {
  if (read_optional_int(f, "head_dim", &hp->head_dim) || read_optional_int(f, "rope_dim", &hp->rope_dim) ||
      read_optional_int(f, "qkv_bias", &hp->qkv_bias) || read_optional_int(f, "out_bias", &hp->out_bias) ||
      read_optional_int(f, "mlp_bias", &hp->mlp_bias) || read_optional_int(f, "qk_norm", &hp->qk_norm) ||
      read_optional_int(f, "sliding_window", &hp->sliding_window))
    return MDI_ERR;
  if (!mdi_h5_attr_exists(f, "/", "rope_freq_factors")) return MDI_OK;
  if (read_factors(f, "rope_freq_factors", hp->rope_factors, &hp->n_rope_factors) != MDI_OK ||
      mdi_h5_attr_string(f, "/", "rope_scaling", hp->rope_scaling, sizeof hp->rope_scaling) != MDI_OK)
    return MDI_ERR;
  if (mdi_h5_attr_exists(f, "/", "rope_attn_factor")) {
    double a;
    if (mdi_h5_attr_float(f, "/", "rope_attn_factor", &a) != MDI_OK) return MDI_ERR;
    hp->rope_attn_factor = (float)a;
  }
  if (!mdi_h5_attr_exists(f, "/", "rope_freq_factors_long")) return MDI_OK;
  return read_factors(f, "rope_freq_factors_long", hp->rope_factors_long, &hp->n_rope_factors_long) ||
                 read_int_field(f, "rope_original_seq_len", &hp->rope_orig_seq_len)
             ? MDI_ERR
             : MDI_OK;
}

int mdi_h5_read_hparams(struct mdi_h5 *f, struct mdi_hparams *hp) {
  memset(hp, 0, sizeof *hp);
  double eps, theta;
  if (mdi_h5_attr_string(f, "/", "arch", hp->arch, sizeof hp->arch) != MDI_OK ||
      read_int_field(f, "dim", &hp->dim) || read_int_field(f, "hidden_dim", &hp->hidden_dim) ||
      read_int_field(f, "n_layers", &hp->n_layers) || read_int_field(f, "n_heads", &hp->n_heads) ||
      read_int_field(f, "n_kv_heads", &hp->n_kv_heads) ||
      read_int_field(f, "vocab_size", &hp->vocab_size) ||
      read_int_field(f, "seq_len", &hp->seq_len) ||
      read_int_field(f, "shared_classifier", &hp->shared_classifier) ||
      mdi_h5_attr_float(f, "/", "norm_eps", &eps) || mdi_h5_attr_float(f, "/", "rope_theta", &theta))
    return MDI_ERR;
  hp->norm_eps = (float)eps;
  hp->rope_theta = (float)theta;
  if (read_options(f, hp) != MDI_OK) return MDI_ERR;
  return mdi_hparams_validate(hp, mdi_h5_path(f));
}

/* The llama options that differ from Llama 2's block, and format_version 2,
 * which readers of version 1 refuse (they would ignore the options). */
static int write_options(struct mdi_h5w *w, const struct mdi_hparams *hp) {
  const int hs = mdi_hparams_head_size(hp), rot = mdi_hparams_rope_dim(hp);
  if (mdi_h5w_attr_int(w, "/", "format_version", MDI_FORMAT_VERSION) != MDI_OK) return MDI_ERR;
  if (hp->dim % hp->n_heads != 0 || hs != hp->dim / hp->n_heads)
    if (mdi_h5w_attr_int(w, "/", "head_dim", hs) != MDI_OK) return MDI_ERR;
  if (rot != hs && mdi_h5w_attr_int(w, "/", "rope_dim", rot) != MDI_OK) return MDI_ERR;
  if (hp->n_rope_factors > 0) {
    double factors[MDI_ROPE_MAX_FACTORS];
    for (int i = 0; i < hp->n_rope_factors; i++) factors[i] = hp->rope_factors[i];
    if (mdi_h5w_attr_float_array(w, "/", "rope_freq_factors", factors, hp->n_rope_factors) != MDI_OK ||
        mdi_h5w_attr_string(w, "/", "rope_scaling", hp->rope_scaling[0] ? hp->rope_scaling : "rope_freqs") != MDI_OK)
      return MDI_ERR;
  }
  if (hp->n_rope_factors_long > 0) {
    double factors[MDI_ROPE_MAX_FACTORS];
    for (int i = 0; i < hp->n_rope_factors_long; i++) factors[i] = hp->rope_factors_long[i];
    if (mdi_h5w_attr_float_array(w, "/", "rope_freq_factors_long", factors, hp->n_rope_factors_long) != MDI_OK ||
        mdi_h5w_attr_int(w, "/", "rope_original_seq_len", hp->rope_orig_seq_len) != MDI_OK)
      return MDI_ERR;
  }
  if (hp->rope_attn_factor != 0.0f && hp->rope_attn_factor != 1.0f &&
      mdi_h5w_attr_float(w, "/", "rope_attn_factor", hp->rope_attn_factor) != MDI_OK)
    return MDI_ERR;
  const struct {
    const char *name;
    int value;
  } flags[] = {{"qkv_bias", hp->qkv_bias}, {"out_bias", hp->out_bias},       {"mlp_bias", hp->mlp_bias},
               {"qk_norm", hp->qk_norm},   {"sliding_window", hp->sliding_window}};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (flags[i].value != 0 && mdi_h5w_attr_int(w, "/", flags[i].name, flags[i].value) != MDI_OK) return MDI_ERR;
  return MDI_OK;
}

int mdi_h5w_write_hparams(struct mdi_h5w *w, const struct mdi_hparams *hp) {
  if (mdi_h5w_attr_string(w, "/", "arch", hp->arch) || mdi_h5w_attr_int(w, "/", "dim", hp->dim) ||
      mdi_h5w_attr_int(w, "/", "hidden_dim", hp->hidden_dim) ||
      mdi_h5w_attr_int(w, "/", "n_layers", hp->n_layers) ||
      mdi_h5w_attr_int(w, "/", "n_heads", hp->n_heads) ||
      mdi_h5w_attr_int(w, "/", "n_kv_heads", hp->n_kv_heads) ||
      mdi_h5w_attr_int(w, "/", "vocab_size", hp->vocab_size) ||
      mdi_h5w_attr_int(w, "/", "seq_len", hp->seq_len) ||
      mdi_h5w_attr_float(w, "/", "norm_eps", hp->norm_eps) ||
      mdi_h5w_attr_float(w, "/", "rope_theta", hp->rope_theta) ||
      mdi_h5w_attr_int(w, "/", "shared_classifier", hp->shared_classifier))
    return MDI_ERR;
  return mdi_hparams_has_options(hp) ? write_options(w, hp) : MDI_OK;
}

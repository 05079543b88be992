/* Hyperparameter validation and parameter counts. */
#include "mdi/model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mdi/base/error.h"

/* Upper bounds far above any model this program can run on one board, low
 * enough that products of them cannot overflow size_t. */
#define MAX_DIM (1 << 16)
#define MAX_LAYERS 1024
#define MAX_VOCAB (1 << 22)
#define MAX_SEQ (1 << 20)

static int check_range(const char *source, const char *field, int v, int lo, int hi) {
  if (v < lo || v > hi)
    return mdi_fail("%s: %s = %d is out of range [%d, %d]", source, field, v, lo, hi);
  return MDI_OK;
}

/* The llama options (hparams.h): ranges and consistency. */
static int validate_options(const struct mdi_hparams *hp, const char *source) {
  const int flags[] = {hp->qkv_bias, hp->out_bias, hp->mlp_bias, hp->qk_norm};
  const char *const names[] = {"qkv_bias", "out_bias", "mlp_bias", "qk_norm"};
  for (int i = 0; i < 4; i++)
    if (flags[i] != 0 && flags[i] != 1) return mdi_fail("%s: %s = %d must be 0 or 1", source, names[i], flags[i]);
  if (hp->head_dim != 0 && check_range(source, "head_dim", hp->head_dim, 1, MAX_DIM)) return MDI_ERR;
  const int hs = mdi_hparams_head_size(hp), rot = mdi_hparams_rope_dim(hp);
  if (check_range(source, "n_heads * head size", hp->n_heads * hs, 1, 4 * MAX_DIM)) return MDI_ERR;
  if (hp->rope_dim != 0 && check_range(source, "rope_dim", hp->rope_dim, 2, hs)) return MDI_ERR;
  if (hs % 2 != 0) return mdi_fail("%s: head size %d must be even for RoPE", source, hs);
  if (rot % 2 != 0) return mdi_fail("%s: rope_dim %d must be even for RoPE", source, rot);
  if (rot / 2 > MDI_ROPE_MAX_FACTORS)
    return mdi_fail("%s: rope_dim %d is above the limit of %d", source, rot, 2 * MDI_ROPE_MAX_FACTORS);
  if (hp->n_rope_factors != 0 && hp->n_rope_factors != rot / 2)
    return mdi_fail("%s: %d rope_freq_factors, expected rope_dim / 2 = %d", source, hp->n_rope_factors, rot / 2);
  for (int i = 0; i < hp->n_rope_factors; i++)
    if (!(hp->rope_factors[i] > 0.0f) || !isfinite(hp->rope_factors[i]))
      return mdi_fail("%s: rope_freq_factors[%d] = %g must be a positive number", source, i,
                      (double)hp->rope_factors[i]);
  if (hp->n_rope_factors_long != 0 && (hp->n_rope_factors_long != rot / 2 || hp->n_rope_factors == 0))
    return mdi_fail("%s: %d rope_freq_factors_long, expected rope_dim / 2 = %d beside rope_freq_factors", source,
                    hp->n_rope_factors_long, rot / 2);
  for (int i = 0; i < hp->n_rope_factors_long; i++)
    if (!(hp->rope_factors_long[i] > 0.0f) || !isfinite(hp->rope_factors_long[i]))
      return mdi_fail("%s: rope_freq_factors_long[%d] = %g must be a positive number", source, i,
                      (double)hp->rope_factors_long[i]);
  if (hp->n_rope_factors_long && check_range(source, "rope_original_seq_len", hp->rope_orig_seq_len, 1, MAX_SEQ))
    return MDI_ERR;
  if (hp->rope_attn_factor != 0.0f && !(hp->rope_attn_factor > 0.0f && hp->rope_attn_factor < 100.0f))
    return mdi_fail("%s: rope_attn_factor = %g must be in (0, 100)", source, (double)hp->rope_attn_factor);
  if (hp->sliding_window != 0 && check_range(source, "sliding_window", hp->sliding_window, 1, MAX_SEQ)) return MDI_ERR;
  return MDI_OK;
}

int mdi_hparams_validate(const struct mdi_hparams *hp, const char *source) {
  const int gpt2 = strcmp(hp->arch, "gpt2") == 0;
  if (strcmp(hp->arch, "llama") != 0 && !gpt2)
    return mdi_fail("%s: arch \"%s\" is not supported (expected \"llama\" or \"gpt2\")", source, hp->arch);
  if (check_range(source, "dim", hp->dim, 1, MAX_DIM) ||
      check_range(source, "hidden_dim", hp->hidden_dim, 1, 4 * MAX_DIM) ||
      check_range(source, "n_layers", hp->n_layers, 1, MAX_LAYERS) ||
      check_range(source, "n_heads", hp->n_heads, 1, hp->dim) ||
      check_range(source, "n_kv_heads", hp->n_kv_heads, 1, hp->n_heads) ||
      check_range(source, "vocab_size", hp->vocab_size, 1, MAX_VOCAB) ||
      check_range(source, "seq_len", hp->seq_len, 1, MAX_SEQ))
    return MDI_ERR;
  if ((gpt2 || hp->head_dim == 0) && hp->dim % hp->n_heads != 0)
    return mdi_fail("%s: dim = %d is not a multiple of n_heads = %d", source, hp->dim, hp->n_heads);
  if (hp->n_heads % hp->n_kv_heads != 0)
    return mdi_fail("%s: n_heads = %d is not a multiple of n_kv_heads = %d", source, hp->n_heads,
                    hp->n_kv_heads);
  if (gpt2 && mdi_hparams_has_options(hp))
    return mdi_fail("%s: gpt2 takes none of the llama options (head_dim, rope_dim, rope factors, biases flags, "
                    "qk_norm, sliding_window)", source);
  if (!gpt2 && validate_options(hp, source) != MDI_OK) return MDI_ERR;
  if (gpt2 && hp->n_kv_heads != hp->n_heads)
    return mdi_fail("%s: gpt2 needs n_kv_heads = n_heads (%d), not %d", source, hp->n_heads, hp->n_kv_heads);
  if (gpt2 && !hp->shared_classifier)
    return mdi_fail("%s: gpt2 ties its classifier to the embedding (shared_classifier must be 1)", source);
  if (!(hp->norm_eps > 0.0f && hp->norm_eps < 1.0f))
    return mdi_fail("%s: norm_eps = %g must be in (0, 1)", source, (double)hp->norm_eps);
  if (!(hp->rope_theta > 1.0f) || !isfinite(hp->rope_theta))
    return mdi_fail("%s: rope_theta = %g must be > 1", source, (double)hp->rope_theta);
  if (hp->shared_classifier != 0 && hp->shared_classifier != 1)
    return mdi_fail("%s: shared_classifier = %d must be 0 or 1", source, hp->shared_classifier);
  return MDI_OK;
}

int mdi_hparams_has_options(const struct mdi_hparams *hp) {
  const int custom_head = hp->head_dim != 0 && (hp->dim % hp->n_heads != 0 || hp->head_dim != hp->dim / hp->n_heads);
  const int partial = hp->rope_dim != 0 && hp->rope_dim != mdi_hparams_head_size(hp);
  return custom_head || partial || hp->n_rope_factors > 0 || hp->n_rope_factors_long > 0 ||
         (hp->rope_attn_factor != 0.0f && hp->rope_attn_factor != 1.0f) || hp->qkv_bias || hp->out_bias ||
         hp->mlp_bias || hp->qk_norm || hp->sliding_window > 0;
}

void mdi_hparams_describe_options(const struct mdi_hparams *hp, char *buf, size_t size) {
  size_t n = 0;
#define ADD(...) n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__)
  buf[0] = '\0';
  const int hs = mdi_hparams_head_size(hp), rot = mdi_hparams_rope_dim(hp);
  if (hp->dim % hp->n_heads != 0 || hs != hp->dim / hp->n_heads) ADD("%shead_dim %d", n ? ", " : "", hs);
  if (rot != hs) ADD("%srope_dim %d", n ? ", " : "", rot);
  if (hp->n_rope_factors) ADD("%srope scaling %s", n ? ", " : "", hp->rope_scaling[0] ? hp->rope_scaling : "factors");
  if (hp->n_rope_factors_long) ADD("%slong factors beyond %d positions", n ? ", " : "", hp->rope_orig_seq_len);
  if (hp->rope_attn_factor != 0.0f && hp->rope_attn_factor != 1.0f)
    ADD("%srope_attn_factor %g", n ? ", " : "", (double)hp->rope_attn_factor);
  if (hp->qkv_bias) ADD("%sqkv_bias", n ? ", " : "");
  if (hp->out_bias) ADD("%sout_bias", n ? ", " : "");
  if (hp->mlp_bias) ADD("%smlp_bias", n ? ", " : "");
  if (hp->qk_norm) ADD("%sqk_norm", n ? ", " : "");
  if (hp->sliding_window) ADD("%ssliding_window %d", n ? ", " : "", hp->sliding_window);
  if (!n) ADD("none");
#undef ADD
}

size_t mdi_hparams_layer_params(const struct mdi_hparams *hp) {
  size_t dim = (size_t)hp->dim, kv = (size_t)mdi_hparams_kv_dim(hp), hid = (size_t)hp->hidden_dim;
  if (mdi_hparams_is_gpt2(hp))
    return 4 * dim                 /* two LayerNorms: weight and bias */
           + 4 * dim * dim + 4 * dim /* wq, wk, wv, wo and their biases */
           + 2 * hid * dim + hid + dim; /* w1, w2 and their biases */
  const size_t q = (size_t)mdi_hparams_q_dim(hp), hs = (size_t)mdi_hparams_head_size(hp);
  return 2 * dim            /* attn_norm, ffn_norm */
         + 2 * q * dim      /* wq, wo */
         + 2 * kv * dim     /* wk, wv */
         + 3 * hid * dim    /* w1, w2, w3 */
         + (hp->qkv_bias ? q + 2 * kv : 0) + (hp->out_bias ? dim : 0) + (hp->mlp_bias ? 2 * hid + dim : 0) +
         (hp->qk_norm ? 2 * hs : 0);
}

size_t mdi_hparams_classifier_params(const struct mdi_hparams *hp) {
  return (size_t)hp->vocab_size * (size_t)hp->dim;
}

/* Hyperparameter validation and parameter counts. */
#include "mdi/model/hparams.h"

#include <math.h>
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
  if (hp->dim % hp->n_heads != 0)
    return mdi_fail("%s: dim = %d is not a multiple of n_heads = %d", source, hp->dim, hp->n_heads);
  if (hp->n_heads % hp->n_kv_heads != 0)
    return mdi_fail("%s: n_heads = %d is not a multiple of n_kv_heads = %d", source, hp->n_heads,
                    hp->n_kv_heads);
  if (!gpt2 && (hp->dim / hp->n_heads) % 2 != 0)
    return mdi_fail("%s: head size %d must be even for RoPE", source, hp->dim / hp->n_heads);
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

size_t mdi_hparams_layer_params(const struct mdi_hparams *hp) {
  size_t dim = (size_t)hp->dim, kv = (size_t)mdi_hparams_kv_dim(hp), hid = (size_t)hp->hidden_dim;
  if (mdi_hparams_is_gpt2(hp))
    return 4 * dim                 /* two LayerNorms: weight and bias */
           + 4 * dim * dim + 4 * dim /* wq, wk, wv, wo and their biases */
           + 2 * hid * dim + hid + dim; /* w1, w2 and their biases */
  return 2 * dim            /* attn_norm, ffn_norm */
         + 2 * dim * dim    /* wq, wo */
         + 2 * kv * dim     /* wk, wv */
         + 3 * hid * dim;   /* w1, w2, w3 */
}

size_t mdi_hparams_classifier_params(const struct mdi_hparams *hp) {
  return (size_t)hp->vocab_size * (size_t)hp->dim;
}

/* Model hyperparameters: what the HDF5 root attributes describe. */
#ifndef MDI_HPARAMS_H
#define MDI_HPARAMS_H

#include <stddef.h>
#include <stdint.h>

#define MDI_ARCH_MAX 16

/* Architectures: "llama" (RMSNorm, RoPE, SwiGLU, grouped-query attention)
 * and "gpt2" (LayerNorm with bias, learned positions, GELU MLP, biased
 * projections, tied classifier). */
struct mdi_hparams {
  char arch[MDI_ARCH_MAX]; /* "llama" or "gpt2" */
  int dim;                 /* residual width */
  int hidden_dim;          /* FFN width */
  int n_layers;
  int n_heads;
  int n_kv_heads;          /* grouped-query attention: n_heads % n_kv_heads == 0 */
  int vocab_size;
  int seq_len;             /* trained context length */
  float norm_eps;          /* RMSNorm epsilon (1e-5 for llama2.c models) */
  float rope_theta;        /* RoPE base (10000); unused by gpt2 */
  int shared_classifier;   /* 1: the classifier is the token embedding */
};

static inline int mdi_hparams_is_gpt2(const struct mdi_hparams *hp) {
  return hp->arch[0] == 'g'; /* validated: "llama" or "gpt2" */
}

static inline int mdi_hparams_head_size(const struct mdi_hparams *hp) { return hp->dim / hp->n_heads; }
static inline int mdi_hparams_kv_dim(const struct mdi_hparams *hp) {
  return hp->dim / hp->n_heads * hp->n_kv_heads;
}

/* Check that the values make sense (positive, divisible, below sane limits).
 * On error the message names `source` (a file name) and the field. */
int mdi_hparams_validate(const struct mdi_hparams *hp, const char *source);

/* Parameter counts (floats) of the pieces of the model. */
size_t mdi_hparams_layer_params(const struct mdi_hparams *hp);
size_t mdi_hparams_classifier_params(const struct mdi_hparams *hp);

#endif

/* Model hyperparameters: what the HDF5 root attributes describe. */
#ifndef MDI_HPARAMS_H
#define MDI_HPARAMS_H

#include <stddef.h>
#include <stdint.h>

#define MDI_ARCH_MAX 16
#define MDI_ROPE_SCALING_MAX 16
/* RoPE frequency factors: one per rotated pair of a head (rope_dim / 2). */
#define MDI_ROPE_MAX_FACTORS 256

/* Architectures: "llama" (RMSNorm, RoPE, SwiGLU, grouped-query attention)
 * and "gpt2" (LayerNorm with bias, learned positions, GELU MLP, biased
 * projections, tied classifier).
 *
 * The llama block has options that today's open models use (docs/FORMAT.md,
 * "Llama-family options").  Zero in each field means Llama 2's block, so a
 * zeroed struct with the fields above is a Llama 2 model, and a file states
 * only the options that differ:
 *  - head_dim other than dim / n_heads (Qwen3: q is n_heads * head_dim wide
 *    and wo maps it back to dim);
 *  - rope_dim < head_dim: only the first rope_dim dims of a head rotate (partial
 *    RoPE, Phi);
 *  - rope frequency factors: pair i turns at theta^(-2i/rope_dim) / factor[i]
 *    (Llama 3's rope scaling, linear scaling, llama.cpp's rope_freqs); LongRoPE
 *    (Phi-3.5, Phi-4-mini) has a second set for contexts longer than
 *    rope_orig_seq_len and scales cos and sin by rope_attn_factor;
 *  - biases of q/k/v (Qwen2), of the output projection, of the FFN (Llama's
 *    attention_bias, mlp_bias);
 *  - qk_norm: per-head RMSNorm of q and k before RoPE (Qwen3);
 *  - sliding_window: a position attends to the last sliding_window positions,
 *    itself included (Mistral v0.1, Phi-3). */
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
  /* llama options; 0 = Llama 2's block */
  int head_dim;            /* width of a head; 0: dim / n_heads */
  int rope_dim;            /* rotated dims of a head, even, <= head size; 0: the whole head */
  int n_rope_factors;      /* 0 (none) or rope_dim / 2 */
  float rope_factors[MDI_ROPE_MAX_FACTORS]; /* divisors of the pairs' frequencies */
  char rope_scaling[MDI_ROPE_SCALING_MAX];  /* what made the factors: "linear", "llama3", "longrope",
                                               "rope_freqs"; "" none */
  int n_rope_factors_long; /* LongRoPE: 0 or rope_dim / 2 */
  float rope_factors_long[MDI_ROPE_MAX_FACTORS]; /* the factors when the context exceeds rope_orig_seq_len */
  int rope_orig_seq_len;   /* LongRoPE: the context the short factors serve */
  float rope_attn_factor;  /* LongRoPE: cos and sin are scaled by it; 0 means 1 */
  int qkv_bias;            /* bq [q_dim], bk, bv [kv_dim] */
  int out_bias;            /* bo [dim] */
  int mlp_bias;            /* b1, b3 [hidden_dim], b2 [dim] */
  int qk_norm;             /* q_norm, k_norm [head_dim] */
  int sliding_window;      /* 0: full causal attention */
};

static inline int mdi_hparams_is_gpt2(const struct mdi_hparams *hp) {
  return hp->arch[0] == 'g'; /* validated: "llama" or "gpt2" */
}

/* 1 when an option differs from Llama 2's block: the file then needs format
 * version 2 (docs/FORMAT.md). */
int mdi_hparams_has_options(const struct mdi_hparams *hp);
/* The options that differ, for messages: "head_dim 128, qk_norm" ("none"). */
void mdi_hparams_describe_options(const struct mdi_hparams *hp, char *buf, size_t size);

static inline int mdi_hparams_head_size(const struct mdi_hparams *hp) {
  return hp->head_dim > 0 ? hp->head_dim : hp->dim / hp->n_heads;
}
static inline int mdi_hparams_rope_dim(const struct mdi_hparams *hp) {
  return hp->rope_dim > 0 ? hp->rope_dim : mdi_hparams_head_size(hp);
}
/* The rope frequency factors of a context of max_seq positions (NULL: none):
 * LongRoPE's long ones when max_seq exceeds rope_orig_seq_len (llama.cpp's
 * choice; transformers switches when the sequence itself grows past it). */
static inline const float *mdi_hparams_rope_factors(const struct mdi_hparams *hp, int max_seq) {
  if (hp->n_rope_factors_long > 0 && max_seq > hp->rope_orig_seq_len) return hp->rope_factors_long;
  return hp->n_rope_factors > 0 ? hp->rope_factors : NULL;
}

/* Width of q and of the attention output: n_heads * head size. */
static inline int mdi_hparams_q_dim(const struct mdi_hparams *hp) { return hp->n_heads * mdi_hparams_head_size(hp); }
static inline int mdi_hparams_kv_dim(const struct mdi_hparams *hp) {
  return hp->n_kv_heads * mdi_hparams_head_size(hp);
}

/* Check that the values make sense (positive, divisible, below sane limits).
 * On error the message names `source` (a file name) and the field. */
int mdi_hparams_validate(const struct mdi_hparams *hp, const char *source);

/* Parameter counts (floats) of the pieces of the model. */
size_t mdi_hparams_layer_params(const struct mdi_hparams *hp);
size_t mdi_hparams_classifier_params(const struct mdi_hparams *hp);

#endif

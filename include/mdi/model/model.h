/* A transformer (llama or gpt2 architecture, hparams.h) split into pieces a
 * rank can own:
 *  - the vocabulary layers: token embedding (and gpt2's learned positions)
 *    at the input, final norm and classifier at the output (rank 0);
 *  - a block: the contiguous layers [first, last) (any rank, rank 0 included).
 *
 * A block runs on a micro-batch: rows of token vectors x[rows][dim] grouped
 * into spans, one span per sequence (a prefill chunk of several tokens or one
 * decode token), each with its KV-cache slot and start position. */
#ifndef MDI_MODEL_H
#define MDI_MODEL_H

#include <stddef.h>

#include "mdi/model/hparams.h"
#include "mdi/model/kv_cache.h"
#include "mdi/model/matmul.h"

struct mdi_h5;

struct mdi_layer {
  float *attn_norm;           /* [dim] */
  struct mdi_matrix wq;       /* [q_dim][dim] (q_dim = n_heads * head_size; dim unless head_dim says) */
  struct mdi_matrix wk;       /* [kv_dim][dim] */
  struct mdi_matrix wv;       /* [kv_dim][dim] */
  struct mdi_matrix wo;       /* [dim][q_dim] */
  float *ffn_norm;            /* [dim] */
  struct mdi_matrix w1;       /* [hidden][dim] llama: gate; gpt2: up (c_fc) */
  struct mdi_matrix w2;       /* [dim][hidden] down */
  struct mdi_matrix w3;       /* [hidden][dim] llama only: up */
  /* gpt2 only (NULL for llama): LayerNorm biases */
  float *attn_norm_bias, *ffn_norm_bias; /* [dim] */
  /* projection biases: gpt2 always; llama when hparams say (else NULL) */
  float *bq;                  /* [q_dim] */
  float *bk, *bv;             /* [kv_dim] */
  float *bo;                  /* [dim] */
  float *b1, *b3;             /* [hidden] (b3: llama's up) */
  float *b2;                  /* [dim] */
  /* llama with qk_norm: per-head RMSNorm weights of q and k (else NULL) */
  float *q_norm, *k_norm;     /* [head_size] */
};

struct mdi_block {
  struct mdi_hparams hp;
  int first, last;            /* global layer indices [first, last) */
  struct mdi_layer *layers;   /* [last - first] */
  float *rope_cos, *rope_sin; /* [max_seq][rope_dim/2] */
  int max_seq;
  size_t weights_bytes;       /* bytes of the layers' tensors */
};

/* The layers between tokens and vectors. */
struct mdi_vocab_layers {
  struct mdi_hparams hp;
  float *embedding;           /* [vocab][dim] row-major; NULL when shared with the classifier or quantized */
  struct mdi_matrix embedding_q; /* a separate quantized embedding (tiles NULL otherwise) */
  float *position_embedding;  /* gpt2: [seq_len][dim] learned positions; NULL for llama */
  float *final_norm;          /* [dim] */
  float *final_norm_bias;     /* gpt2: [dim] */
  struct mdi_matrix classifier; /* [vocab][dim] packed; also the embedding when shared */
  size_t weights_bytes;       /* embedding + final norm + separate classifier */
};

/* The last rank's share of the classifier (docs/PIPELINE.md, "The
 * classifier tail"): the final norm and the classifier's rows [row0, vocab),
 * so that rank 0 computes only the logits of rows [0, row0). */
struct mdi_classifier_tail {
  struct mdi_hparams hp;
  int row0;                   /* a multiple of MDI_PANEL */
  float *final_norm;          /* [dim] */
  float *final_norm_bias;     /* gpt2: [dim] */
  struct mdi_matrix rows;     /* [vocab - row0][dim] packed */
  size_t weights_bytes;
};

/* One sequence's rows in a micro-batch. */
struct mdi_span {
  int slot;     /* KV-cache slot */
  int pos;      /* position of its first row */
  int n_tokens; /* rows: prompt chunk length in prefill, 1 in decode */
};

/* Scratch for a block or head pass over up to max_rows rows. */
struct mdi_workspace {
  int max_rows, max_seq;
  float *xb;      /* [max_rows][dim] normalized input / projection output */
  float *q;       /* [max_rows][q_dim] */
  float *k, *v;   /* [max_rows][kv_dim] */
  float *att;     /* [max_rows][q_dim] attention output */
  float *hb, *hb2;/* [max_rows][hidden] */
  float *scores;  /* [threads][n_heads][max_seq] */
  int *row_slot, *row_pos; /* [max_rows] each row's KV-cache slot and position */
  int n_threads;  /* the team of a block forward pass (forward.c) */
};

/* Load layers [first, last) (an empty block when first == last). */
int mdi_block_load(struct mdi_block *b, struct mdi_h5 *f, const struct mdi_hparams *hp, int first,
                   int last, int max_seq);
void mdi_block_free(struct mdi_block *b);

int mdi_vocab_layers_load(struct mdi_vocab_layers *v, struct mdi_h5 *f, const struct mdi_hparams *hp);
void mdi_vocab_layers_free(struct mdi_vocab_layers *v);

int mdi_workspace_init(struct mdi_workspace *ws, const struct mdi_hparams *hp, int max_rows,
                       int max_seq, int n_threads);
/* What mdi_workspace_init allocates, without allocating. */
size_t mdi_workspace_bytes(const struct mdi_hparams *hp, int max_rows, int max_seq, int n_threads);
void mdi_workspace_free(struct mdi_workspace *ws);

/* Called between layers so communication can progress during compute. */
typedef void (*mdi_progress_fn)(void *ctx);

/* x[rows][dim] <- block(x) for the spans (sum of n_tokens == rows).  Writes
 * the K/V of every row into its slot at its position, then attends causally
 * (to the last sliding_window positions when the model has a window). */
void mdi_block_forward(const struct mdi_block *b, struct mdi_kv_cache *kv, struct mdi_workspace *ws,
                       const struct mdi_span *spans, int n_spans, float *x, int rows,
                       mdi_progress_fn progress, void *progress_ctx);

/* x[n][dim] = embedding rows of tokens[n] (gpt2: plus the position
 * embedding of positions[n]; llama ignores positions). */
void mdi_embed(const struct mdi_vocab_layers *v, const int *tokens, const int *positions, int n, float *x);
/* logits[n][vocab] = classifier(final_norm(x[n][dim])); x is normalized in place. */
void mdi_classify(const struct mdi_vocab_layers *v, float *x, int n, float *logits);
/* The same for the vocabulary rows [0, rows) only (a multiple of
 * MDI_PANEL, or vocab): logits[n][vocab] gets those columns, the others
 * are left as they are; tmp [n][rows]. */
void mdi_classify_rows(const struct mdi_vocab_layers *v, float *x, int n, int rows, float *logits, float *tmp);

/* Load the final norm and the classifier's rows [row0, vocab) (row0 a
 * multiple of MDI_PANEL, < vocab). */
int mdi_classifier_tail_load(struct mdi_classifier_tail *t, struct mdi_h5 *f, const struct mdi_hparams *hp,
                             int row0);
void mdi_classifier_tail_free(struct mdi_classifier_tail *t);
/* logits[n][vocab - row0] of final_norm(x[n][dim]); x is left as it is,
 * xb [n][dim] holds the normalized rows.  Every logit is the one
 * mdi_classify computes for that row and vocabulary entry, bit for bit. */
void mdi_classify_tail(const struct mdi_classifier_tail *t, const float *x, int n, float *xb, float *logits);

/* What the pieces of a model file take, as stored and in memory, from its
 * datasets' types and shapes (no weight is read): for the planners of
 * --split auto and calibrate, and the memory plan. */
struct mdi_model_bytes {
  double layer_mean, layer_max;  /* one layer's tensors */
  double vocab;                  /* embedding, final norm, separate classifier (rank 0) */
  double classifier;             /* the classifier matrix, read per token by rank 0 */
  enum mdi_matrix_type ffn_type; /* layer 0's w1: the type calibration times */
};
/* A whole model file (not a per-rank one). */
int mdi_model_bytes_read(struct mdi_h5 *f, const struct mdi_hparams *hp, struct mdi_model_bytes *mb);

#endif

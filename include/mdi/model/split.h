/* Which rank owns which layers.  counts[r] layers per rank, contiguous and
 * in rank order: rank r owns [sum(counts[0..r)), sum(counts[0..r])). */
#ifndef MDI_SPLIT_H
#define MDI_SPLIT_H

#include "mdi/model/hparams.h"

/* spec "auto": balance estimated compute (weights read per token), counting
 * rank 0's classifier; rank0_layers >= 0 fixes rank 0's share.
 * spec "a,b,c": explicit counts, one per rank.  Errors name the problem. */
int mdi_split_plan(const struct mdi_hparams *hp, int n_ranks, const char *spec, int rank0_layers,
                   int *counts);
/* The same with the bytes read per token of a layer (the model's mean) and
 * of the classifier as they are stored (quantized models, mdi_model_bytes);
 * mdi_split_plan is this with float32 sizes from hp. */
int mdi_split_plan_bytes(const struct mdi_hparams *hp, double layer_bytes, double head_bytes, int n_ranks,
                         const char *spec, int rank0_layers, int *counts);

/* The vocabulary's last rows whose logits the last rank computes (the
 * classifier tail, docs/PIPELINE.md) start at a panel boundary (MDI_PANEL
 * rows): the tail of a wish of `want` rows takes at least that many (0: none). */
int mdi_split_tail_rows(int vocab, int want);

/* mdi_split_plan_bytes that also plans the classifier tail: *tail gets the
 * vocabulary rows the last rank classifies, chosen with the layer counts so
 * that rank 0 (its layers and the rest of the classifier) and the last
 * rank (its layers and the tail) balance, in whole panels; tail_want >= 0
 * fixes it (rounded up to whole panels).  With an explicit spec only the
 * tail is planned.  One rank: no tail (a wish > 0 is an error). */
int mdi_split_plan_tail(const struct mdi_hparams *hp, double layer_bytes, double head_bytes, int n_ranks,
                        const char *spec, int rank0_layers, int tail_want, int *counts, int *tail);

/* The contiguous split that minimises the slowest rank when rank r needs
 * layer_s[r] seconds per layer (rank 0 also head_s for embedding and
 * classifier) and can hold at most max_layers[r] layers (< 0: no limit).
 * Ranks after 0 get at least one layer; rank0_layers >= 0 fixes rank 0's.
 * Used by --split calibrate with measured speeds and memory. */
int mdi_split_plan_weighted(int n_layers, int n_ranks, const double *layer_s, double head_s,
                            const int *max_layers, int rank0_layers, int *counts);
/* The same with the classifier tail: the last rank takes the tail at its
 * own speed (head_s scaled by layer_s[last] / layer_s[0]); *tail gets its
 * rows (tail_want >= 0 fixes it).  The tail's memory is not counted in
 * max_layers (the caller checks it). */
int mdi_split_plan_weighted_tail(int n_layers, int n_ranks, const double *layer_s, double head_s,
                                 const int *max_layers, int rank0_layers, int vocab, int tail_want, int *counts,
                                 int *tail);

/* "a,b,c" into buf. */
void mdi_split_format(const int *counts, int n_ranks, char *buf, int size);

#endif

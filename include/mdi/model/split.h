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

/* The contiguous split that minimises the slowest rank when rank r needs
 * layer_s[r] seconds per layer (rank 0 also head_s for embedding and
 * classifier) and can hold at most max_layers[r] layers (< 0: no limit).
 * Ranks after 0 get at least one layer; rank0_layers >= 0 fixes rank 0's.
 * Used by --split calibrate with measured speeds and memory. */
int mdi_split_plan_weighted(int n_layers, int n_ranks, const double *layer_s, double head_s,
                            const int *max_layers, int rank0_layers, int *counts);

/* "a,b,c" into buf. */
void mdi_split_format(const int *counts, int n_ranks, char *buf, int size);

#endif

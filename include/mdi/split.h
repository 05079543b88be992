/* Which rank owns which layers.  counts[r] layers per rank, contiguous and
 * in rank order: rank r owns [sum(counts[0..r)), sum(counts[0..r])). */
#ifndef MDI_SPLIT_H
#define MDI_SPLIT_H

#include "mdi/hparams.h"

/* spec "auto": balance estimated compute (weights read per token), counting
 * rank 0's classifier; rank0_layers >= 0 fixes rank 0's share.
 * spec "a,b,c": explicit counts, one per rank.  Errors name the problem. */
int mdi_split_plan(const struct mdi_hparams *hp, int n_ranks, const char *spec, int rank0_layers,
                   int *counts);

/* "a,b,c" into buf. */
void mdi_split_format(const int *counts, int n_ranks, char *buf, int size);

#endif

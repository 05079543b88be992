/* --split calibrate: every rank measures itself, then all ranks make the
 * same plan (docs/PIPELINE.md, "Splitting the layers"). */
#ifndef MDI_CALIBRATE_H
#define MDI_CALIBRATE_H

#include "mdi/model/hparams.h"
#include "mdi/model/model.h"

/* What one rank measured. */
struct mdi_calibration {
  double layer_s;  /* seconds per layer and micro-batch of B rows */
  double head_s;   /* rank 0: the same for the embedding and the classifier */
  double mem;      /* bytes of memory available to the rank */
};

/* Collective.  Each rank times a matrix of the model's FFN shape and type
 * (mb->ffn_type) on B rows and reports its free memory; every rank then
 * plans the contiguous split that minimises the slowest rank, a layer
 * costing its bytes read (mb) at the measured speed, and fits each rank's
 * memory (its layers' weights as stored plus their KV cache for B x M slots
 * of max_seq positions; rank 0 also holds the vocabulary layers).  rank0_layers >= 0 fixes rank 0's
 * share.  The classifier tail is planned along (tail_want >= 0 fixes it):
 * the last rank runs it at its own speed, and it is dropped when the last
 * rank's memory cannot hold it next to its layers.  counts[n_ranks] and
 * *tail receive the plan; *mine what this rank measured.  rank 0 logs the
 * plan. */
int mdi_calibrate_split(const struct mdi_hparams *hp, const struct mdi_model_bytes *mb, int n_ranks, int B, int M,
                        int max_seq, int rank0_layers, int tail_want, int *counts, int *tail,
                        struct mdi_calibration *mine);

#endif

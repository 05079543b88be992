/* The recurrent pipeline: rank 0's head loop and the stage loop of the other
 * ranks (docs/PIPELINE.md).  With one rank the head runs every layer itself
 * and the micro-batches take turns without messages: a ring of one. */
#ifndef MDI_PIPELINE_H
#define MDI_PIPELINE_H

#include "mdi/model.h"
#include "mdi/output.h"
#include "mdi/protocol.h"
#include "mdi/scheduler.h"

struct mdi_pipeline {
  int rank, n_ranks;
  int M;                          /* micro-batches in flight */
  struct mdi_msg_layout layout;
  double timeout_s;
  const struct mdi_block *block;  /* this rank's layers (may be empty on rank 0) */
  struct mdi_kv_cache *kv;
  struct mdi_workspace *ws;
  /* rank 0 only */
  const struct mdi_head *head;
  struct mdi_sched *sched;
  struct mdi_output *out;
  /* results */
  double compute_s, recv_wait_s, send_wait_s, wall_s;
  double t_first, t_last;         /* rank 0: first launch, last token sampled */
};

/* Run this rank's part until the STOP message has gone round.  Returns
 * MDI_ERR only for an output failure on rank 0 (the caller aborts). */
int mdi_pipeline_run(struct mdi_pipeline *p);

#endif

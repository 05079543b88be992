/* The recurrent pipeline: rank 0's loop (embed, sample, refill slots) and
 * the stage loop of the other ranks (docs/PIPELINE.md).  With one rank,
 * rank 0 runs every layer itself and the micro-batches take turns without
 * messages: a ring of one. */
#ifndef MDI_PIPELINE_H
#define MDI_PIPELINE_H

#include "mdi/model/model.h"
#include "mdi/model/sequence.h"
#include "mdi/ring/protocol.h"
#include "mdi/ring/scheduler.h"

struct mdi_pipeline {
  int rank, n_ranks;
  int M;                          /* micro-batches in flight */
  struct mdi_msg_layout layout;
  double timeout_s;
  const struct mdi_block *block;  /* this rank's layers (may be empty on rank 0) */
  struct mdi_kv_cache *kv;
  struct mdi_workspace *ws;
  /* the last rank, when layout.tail > 0: the classifier rows it computes */
  const struct mdi_classifier_tail *tail;
  /* rank 0 only */
  const struct mdi_vocab_layers *vocab; /* embedding and classifier */
  struct mdi_sched *sched;
  struct mdi_request_source source; /* requests come from there */
  struct mdi_sequence_sink sink;  /* finished sequences go there */
  double ping_s;                  /* idle ring: a PING goes round this often (> 0), well
                                     within every rank's timeout */
  /* every rank: the signal (SIGINT, SIGTERM) this process caught, 0 when
   * none; NULL: signals do not stop the run (a server drains instead).
   * Rank 0 then stops cleanly: no new trip starts, the micro-batches in
   * flight come back (sequences that finish meanwhile still reach the
   * sink), STOP goes round; a stage passes its signal to rank 0 in the
   * loads of the messages it sends. */
  int (*interrupted)(void);
  /* made by mdi_pipeline_init */
  struct mdi_ring *ring;          /* NULL with one rank */
  struct mdi_span *spans;         /* [B] spans of the micro-batch at hand */
  void *alone_buf;                /* one rank: the micro-batch being computed */
  int *tokens, *positions;        /* rank 0: [max_rows] input tokens and their positions */
  float *logits;                  /* rank 0: [B][vocab] */
  float *tail_logits;             /* layout.tail > 0: rank 0 [B][vocab - tail] scratch, last rank [B][tail] */
  struct mdi_prob_index *probs;   /* rank 0: [vocab] sampler scratch */
  struct mdi_rank_load *loads;    /* rank 0: [n_ranks] as last reported ... */
  double t_loads;                 /* ... at this time */
  unsigned char *idle;            /* rank 0: [M] micro-batch not in flight */
  unsigned char *candidates;      /* rank 0: [M] scratch for admitting requests */
  int ping_out;                   /* rank 0: a PING is going round */
  int sink_failed;                /* rank 0: the sink could not keep a result (the run stops as
                                     for a signal) */
  int stop_signal;                /* rank 0: the run stopped early for this signal */
  char sink_error[512];           /* rank 0: the sink's first failure */
  /* results */
  double compute_s, recv_wait_s, send_wait_s, wall_s;
  double t_begin;                 /* the loop started */
  double t_first, t_last;         /* rank 0: first launch, last token sampled */
};

/* Allocate the ring endpoint (posting its first receive) and the scratch of
 * this rank's loop; MDI_ERR (message set) when memory runs out.  The fields
 * above "made by" must be set.  mdi_pipeline_free releases, also after a
 * failed init. */
int mdi_pipeline_init(struct mdi_pipeline *p);
void mdi_pipeline_free(struct mdi_pipeline *p);

/* Run this rank's part until the STOP message has gone round: rank 0 sends
 * it when its source is closed and every sequence has finished, or early
 * (stop_signal set) when a rank caught a signal.  Returns MDI_ERR only when
 * rank 0's sink failed (message set); the ring stopped cleanly then too,
 * after the sequences in flight came back. */
int mdi_pipeline_run(struct mdi_pipeline *p);

#endif

/* A sequence being generated: the request that starts it (prompt, limits,
 * sampling) and its state while it runs.  Shared by the scheduler that
 * moves sequences through the ring and the application that makes the
 * requests and writes the results, so neither depends on the other. */
#ifndef MDI_SEQUENCE_H
#define MDI_SEQUENCE_H

#include <stdint.h>

#include "mdi/model/sampler.h"

/* One sequence to generate. */
struct mdi_request {
  int id;                 /* output id (line number, -p order) */
  char *prompt;           /* UTF-8 text */
  int *prompt_tokens;     /* [n_prompt] with BOS */
  int n_prompt;
  int max_new;            /* new-token limit (0 = until stop or max_seq) */
  int chat;               /* the prompt is a rendered conversation: the output is the reply alone */
  uint64_t seed;
  struct mdi_sampler_params sampling;
  int cancel;             /* set by the request's owner (any thread): stop it at the next chance */
  void *owner;            /* the application's record of the request (the sink finds it there) */
};

/* Cancelling is the one field another thread writes while the ring runs. */
static inline void mdi_request_cancel(struct mdi_request *r) { __atomic_store_n(&r->cancel, 1, __ATOMIC_RELEASE); }
static inline int mdi_request_cancelled(const struct mdi_request *r) {
  return __atomic_load_n(&r->cancel, __ATOMIC_ACQUIRE);
}

/* Why a sequence ended: a stop id or stop string, its token limit or the
 * end of its slot's positions, or its owner cancelled it. */
enum mdi_finish { MDI_FINISH_NONE = 0, MDI_FINISH_STOP, MDI_FINISH_LENGTH, MDI_FINISH_CANCEL };

struct mdi_sequence {
  const struct mdi_request *req;
  int *tokens;            /* [max_seq + 1]: prompt then generated (no stop token) */
  int n_tokens;
  int n_fed;              /* tokens whose K/V are in the cache (positions 0..n_fed-1) */
  int in_flight;          /* rows of this sequence are travelling the ring */
  struct mdi_sampler sampler;
  enum mdi_finish finish;
};

/* One rank's cumulative time in the ring loop: seconds computing and
 * seconds since the loop started (the rest is idle). */
struct mdi_rank_load {
  double compute_s, wall_s;
};

/* What the token callback asks for. */
enum mdi_sink_verdict { MDI_SINK_GO_ON = 0, MDI_SINK_STOP = 1 };

/* Where finished and growing sequences go: the loop that samples them calls
 * it, the application that owns the output provides it. */
struct mdi_sequence_sink {
  void *ctx;
  /* the sequence grew by one token (not called for a stop token); return
   * MDI_SINK_STOP to end it here with finish reason "stop" (a stop string
   * appeared in its text) */
  int (*token)(void *ctx, const struct mdi_sequence *seq, double now);
  /* the sequence finished (or was cancelled); MDI_ERR (message set) when its
   * result could not be kept, which ends the run */
  int (*finish)(void *ctx, const struct mdi_sequence *seq, double now);
  /* optional: every rank's load as last reported around the ring
   * (load[n_ranks]; rank 0's is current) */
  void (*load)(void *ctx, const struct mdi_rank_load *load, int n_ranks);
};

/* Where requests come from.  The ring's rank 0 takes a request only when a
 * slot is free for it, so requests that wait stay with their owner (who can
 * count them, bound them and withdraw them).  Called from rank 0's loop
 * only; the owner may fill it from other threads. */
struct mdi_request_source {
  void *ctx;
  /* the next request, or NULL when none is waiting (never blocks) */
  const struct mdi_request *(*next)(void *ctx);
  /* 1 when next() has a request (cheap: called while waiting for the ring) */
  int (*pending)(void *ctx);
  /* nothing to do: block until a request may have come or timeout_s passed */
  void (*wait)(void *ctx, double timeout_s);
  /* 1 when no request will come any more: the ring stops once it is empty */
  int (*closed)(void *ctx);
};

/* 1 when id is one of stop_ids[0..n_stop): generation ends there. */
static inline int mdi_is_stop_id(const int *stop_ids, int n_stop, int id) {
  for (int i = 0; i < n_stop; i++)
    if (stop_ids[i] == id) return 1;
  return 0;
}

#endif

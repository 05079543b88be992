/* Sequences, slots and continuous batching (rank 0 only, no MPI).
 *
 * There are B x M slots: micro-batch m owns slots [m*B, (m+1)*B).  The first
 * requests are dealt round-robin over the micro-batches so all of them carry
 * work; afterwards, whenever a sequence finishes, its slot takes the next
 * queued request at once (its prompt goes out as one prefill chunk on the
 * micro-batch's next trip), so the ring never drains while work is queued. */
#ifndef MDI_SCHEDULER_H
#define MDI_SCHEDULER_H

#include <stdint.h>

#include "mdi/model/model.h"
#include "mdi/model/sequence.h"

struct mdi_sched {
  int B, M, max_rows, max_seq;
  const struct mdi_request *reqs;
  int n_reqs, next_req, n_done;
  struct mdi_sequence *slots;  /* [B*M]; req == NULL when the slot is empty */
  const int *stop_ids;
  int n_stop;
  long trips;                  /* micro-batch messages launched */
  long prompt_tokens, generated_tokens;
};

int mdi_sched_init(struct mdi_sched *s, const struct mdi_request *reqs, int n_reqs, int B, int M,
                   int max_rows, int max_seq, const int *stop_ids, int n_stop);
void mdi_sched_free(struct mdi_sched *s);

/* The rows micro-batch mb sends next: spans (at most B), their input tokens
 * (tokens[rows]).  Returns the number of spans (0: the micro-batch has no
 * more work).  Marks the spans' sequences in flight. */
int mdi_sched_build(struct mdi_sched *s, int mb, struct mdi_span *spans, int *tokens, int *rows);

/* The sampled next token of the sequence in `slot` after its rows came back.
 * Returns the sequence when this token finished it (stop id, new-token limit
 * or max_seq), else NULL.  A finished sequence stays in its slot until
 * mdi_sched_retire, so the caller can write it out first. */
struct mdi_sequence *mdi_sched_apply(struct mdi_sched *s, int slot, int token);
/* Free the finished slot and give it the next queued request, if any. */
void mdi_sched_retire(struct mdi_sched *s, int slot);

/* 1 when every request has finished. */
static inline int mdi_sched_done(const struct mdi_sched *s) { return s->n_done == s->n_reqs; }

#endif

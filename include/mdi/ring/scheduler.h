/* Sequences, slots and continuous batching (rank 0 only, no MPI).
 *
 * There are B x M slots: micro-batch m owns slots [m*B, (m+1)*B).  Requests
 * come from a source (a fixed list for a batch run, the server's queue)
 * and are taken only when a slot is free.  They are dealt over the idle
 * micro-batches, the least occupied first, so a small run still keeps every
 * micro-batch busy; afterwards, whenever a sequence finishes, its slot takes
 * the next waiting request as soon as its micro-batch is back (its prompt
 * goes out as one prefill chunk on the next trip), so the ring never drains
 * while work is waiting. */
#ifndef MDI_SCHEDULER_H
#define MDI_SCHEDULER_H

#include <stdint.h>

#include "mdi/model/model.h"
#include "mdi/model/sequence.h"

struct mdi_sched {
  int B, M, max_rows, max_seq;
  struct mdi_sequence *slots;  /* [B*M]; req == NULL when the slot is empty */
  int *occupied;               /* [M] busy slots per micro-batch */
  const int *stop_ids;
  int n_stop;
  long started, finished;      /* sequences taken from the source / finished */
  long trips;                  /* micro-batch messages launched */
  long prompt_tokens, generated_tokens;
};

int mdi_sched_init(struct mdi_sched *s, int B, int M, int max_rows, int max_seq, const int *stop_ids,
                   int n_stop);
void mdi_sched_free(struct mdi_sched *s);

/* Take waiting requests from src into free slots of the micro-batches
 * marked in candidates[M] (nonzero: idle, may take work), each into the
 * least occupied candidate (ties: the lowest index), lowest free slot
 * first.  Returns the number taken. */
int mdi_sched_admit(struct mdi_sched *s, const unsigned char *candidates, const struct mdi_request_source *src);
/* 1 when a candidate micro-batch has a free slot. */
int mdi_sched_has_room(const struct mdi_sched *s, const unsigned char *candidates);

/* The rows micro-batch mb sends next: spans (at most B), their input tokens
 * (tokens[rows]).  Returns the number of spans (0: the micro-batch has no
 * work).  Marks the spans' sequences in flight.  Every sequence's prompt
 * must fit max_rows, so a micro-batch with sequences always has work. */
int mdi_sched_build(struct mdi_sched *s, int mb, struct mdi_span *spans, int *tokens, int *rows);

/* The sampled next token of the sequence in `slot` after its rows came back.
 * Returns the sequence when this token finished it (stop id, new-token limit
 * or max_seq), else NULL.  A finished sequence stays in its slot until
 * mdi_sched_retire, so the caller can write it out first. */
struct mdi_sequence *mdi_sched_apply(struct mdi_sched *s, int slot, int token);
/* End the sequence in `slot` (not in flight) now with reason `why` (a stop
 * string, a cancel); returns it, to be written out and retired. */
struct mdi_sequence *mdi_sched_end(struct mdi_sched *s, int slot, enum mdi_finish why);
/* Free the finished slot (it takes a new request at the next admit). */
void mdi_sched_retire(struct mdi_sched *s, int slot);

/* 1 when no slot holds a sequence. */
static inline int mdi_sched_empty(const struct mdi_sched *s) { return s->started == s->finished; }

/* A fixed list of requests as a source (a batch run): all of them waiting
 * from the start, closed once every one was taken. */
struct mdi_request_list {
  const struct mdi_request *reqs;
  int n, next;
};
struct mdi_request_source mdi_request_list_source(struct mdi_request_list *l);

#endif

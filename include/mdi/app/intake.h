/* Where requests enter a running ring (--serve, -i): a bounded queue of
 * jobs between the frontends (HTTP connection threads, the terminal loop)
 * and rank 0's ring loop, which takes a job's sequences only when slots are
 * free (the ring's request source) and hands their tokens back (its sink).
 *
 * A job is one client request: n sequences (choices) of one prompt, seeds
 * seed, seed+1, ...  Rank 0's thread decodes each new token into the
 * choice's text, ends the choice at a stop string, and wakes the frontend,
 * which takes what is new.  Text is handed out only up to a point that is
 * safe to show: never half of a UTF-8 character, never the start of what
 * may become a stop string (held back until it is clear).
 *
 * Threads: every function may be called from any thread, except the source
 * and sink, which only rank 0's ring loop calls.  A job lives until both
 * its frontend released it and the ring finished every sequence of it. */
#ifndef MDI_INTAKE_H
#define MDI_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"

#define MDI_MAX_STOP_STRINGS 4

struct mdi_intake;
struct mdi_job;

/* What a frontend asks for. */
struct mdi_job_spec {
  const char *prompt;        /* UTF-8 text */
  const int *prompt_tokens;  /* [n_prompt], encoded (mdi_prompts_encode) */
  int n_prompt;
  int n;                     /* choices, >= 1 */
  int max_new;               /* new tokens per choice (> 0) */
  uint64_t seed;             /* choice k uses seed + k */
  struct mdi_sampler_params sampling;
  const char *const *stop;   /* [n_stop] stop strings (not empty) */
  int n_stop;
};

/* What a choice produced since the frontend last looked: whole tokens,
 * the text ending on a character boundary (and before anything that may
 * still become a stop string), except the rest once the choice is done. */
struct mdi_take {
  char *text;                /* new text (owned by the take, NUL-terminated) */
  size_t len, cap;
  int *ids;                  /* new token ids (owned by the take) */
  size_t *ends;              /* [n_ids] where each token's text ends in text */
  int n_ids, cap_ids;
  int done;                  /* the choice has finished ... */
  enum mdi_finish finish;    /* ... for this reason */
  int n_prompt, n_generated; /* token counts for usage */
};

/* Cumulative numbers for /metrics. */
struct mdi_intake_stats {
  long jobs, rejected;       /* jobs accepted / refused (queue full or closed) */
  long finished[4];          /* sequences by enum mdi_finish (STOP, LENGTH, CANCEL) */
  long prompt_tokens, generated_tokens;
  int waiting;               /* sequences queued for a slot */
  int busy;                  /* sequences in the ring's slots */
  int slots;                 /* B x M */
  double ttft_sum_s;         /* submit -> first token, summed over sequences that produced one */
  long ttft_count;
  int n_ranks;
  const struct mdi_rank_load *loads; /* [n_ranks] (valid while the intake lives; read under no lock:
                                        copy with mdi_intake_snapshot) */
};

/* max_queue: sequences that may wait for a slot (a job that does not fit is
 * refused).  slots: B x M, for the statistics. */
struct mdi_intake *mdi_intake_create(const struct mdi_tokenizer *tok, int max_queue, int slots, int n_ranks);
/* Frees the intake; every job must have been released and finished. */
void mdi_intake_destroy(struct mdi_intake *in);

/* ---- frontends ----------------------------------------------------------- */

/* Queue a job; NULL when the queue has no room for its n sequences or the
 * intake is closed (*closed tells which). */
struct mdi_job *mdi_intake_submit(struct mdi_intake *in, const struct mdi_job_spec *spec, int *closed);
/* Wait until a choice of the job has something new or timeout_s passed;
 * returns 1 when every choice has finished. */
int mdi_job_wait(struct mdi_job *j, double timeout_s);
/* Move what choice k produced since the last take into t (replacing its
 * previous contents). */
void mdi_job_take(struct mdi_job *j, int k, struct mdi_take *t);
void mdi_take_free(struct mdi_take *t);
/* Withdraw the job: its queued sequences leave the queue, running ones end
 * before their next trip (finish reason CANCEL). */
void mdi_job_cancel(struct mdi_job *j);
/* The frontend is done with the job (cancel it first if it may still run). */
void mdi_job_release(struct mdi_job *j);
/* Submit time (mdi_intake_clock) and the seed of choice 0. */
double mdi_job_submitted(const struct mdi_job *j);

/* ---- shutting down ------------------------------------------------------- */

/* Refuse new jobs; the ring stops once the queue is empty and every
 * sequence has finished. */
void mdi_intake_close(struct mdi_intake *in);
/* Cancel every job, queued or running (the drain timeout has passed). */
void mdi_intake_cancel_all(struct mdi_intake *in);
/* Jobs not yet released by their frontends. */
int mdi_intake_jobs(struct mdi_intake *in);

/* ---- rank 0's ring loop --------------------------------------------------- */

struct mdi_request_source mdi_intake_source(struct mdi_intake *in);
struct mdi_sequence_sink mdi_intake_sink(struct mdi_intake *in);

/* ---- statistics ---------------------------------------------------------- */

/* A consistent copy; loads[n_ranks] receives every rank's load (may be
 * NULL), st->loads points to it. */
void mdi_intake_snapshot(struct mdi_intake *in, struct mdi_intake_stats *st, struct mdi_rank_load *loads);

/* Monotonic seconds (CLOCK_MONOTONIC). */
double mdi_intake_clock(void);

#endif

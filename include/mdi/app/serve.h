/* Rank 0's front when requests arrive while the ring runs: the OpenAI-style
 * HTTP server (--serve) or the terminal loop (-i).  Both submit to one
 * intake, which the ring's rank 0 reads as its request source and feeds
 * as its sink (docs/SERVING.md).
 *
 * SIGINT/SIGTERM (to rank 0's process): stop accepting, let running
 * requests finish for --drain-timeout seconds, cancel what is left; the
 * source then closes and the ring stops (exit 0).  A second signal cancels
 * at once.  A signal that mpirun passes on (from our parent, under Open MPI)
 * is followed by its SIGKILL odls_base_sigkill_timeout seconds later: the
 * drain then gets half of that. */
#ifndef MDI_SERVE_H
#define MDI_SERVE_H

#include "mdi/app/options.h"
#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"

struct mdi_serve;

struct mdi_serve_config {
  const struct mdi_options *opt;
  const struct mdi_tokenizer *tok;
  int max_seq;                 /* positions per sequence */
  int slots;                   /* B x M */
  int n_ranks;
};

/* Start the HTTP server or the terminal loop and the signal watch.
 * MDI_ERR (message set) when the address cannot be used. */
int mdi_serve_start(struct mdi_serve **out, const struct mdi_serve_config *cfg);
struct mdi_request_source mdi_serve_source(struct mdi_serve *s);
struct mdi_sequence_sink mdi_serve_sink(struct mdi_serve *s);
/* The ring has stopped: close connections, join the threads, free. */
void mdi_serve_finish(struct mdi_serve *s);

/* Ranks other than 0 of a serving job ignore SIGINT and SIGTERM: a signal
 * sent to every task (mpirun forwarding it, scancel --signal) drains rank 0,
 * whose STOP then ends the stages. */
void mdi_serve_stage_signals(void);

#endif

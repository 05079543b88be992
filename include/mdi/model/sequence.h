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
  uint64_t seed;
  struct mdi_sampler_params sampling;
};

enum mdi_finish { MDI_FINISH_NONE = 0, MDI_FINISH_STOP, MDI_FINISH_LENGTH };

struct mdi_sequence {
  const struct mdi_request *req;
  int *tokens;            /* [max_seq + 1]: prompt then generated (no stop token) */
  int n_tokens;
  int n_fed;              /* tokens whose K/V are in the cache (positions 0..n_fed-1) */
  int in_flight;          /* rows of this sequence are travelling the ring */
  struct mdi_sampler sampler;
  enum mdi_finish finish;
};

/* Where finished and growing sequences go: the loop that samples them calls
 * it, the application that owns the output provides it. */
struct mdi_sequence_sink {
  void *ctx;
  /* the sequence grew by one token (not called for a stop token) */
  void (*token)(void *ctx, const struct mdi_sequence *seq, double now);
  /* the sequence finished; MDI_ERR (message set) when its result could not
   * be kept, which ends the run */
  int (*finish)(void *ctx, const struct mdi_sequence *seq, double now);
};

/* 1 when id is one of stop_ids[0..n_stop): generation ends there. */
static inline int mdi_is_stop_id(const int *stop_ids, int n_stop, int id) {
  for (int i = 0; i < n_stop; i++)
    if (stop_ids[i] == id) return 1;
  return 0;
}

#endif

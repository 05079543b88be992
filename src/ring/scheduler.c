/* Slot assignment and continuous batching (see scheduler.h). */
#include "mdi/ring/scheduler.h"

#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

static void start_request(struct mdi_sched *s, struct mdi_sequence *seq) {
  const struct mdi_request *r = &s->reqs[s->next_req++];
  seq->req = r;
  memcpy(seq->tokens, r->prompt_tokens, (size_t)r->n_prompt * sizeof(int));
  seq->n_tokens = r->n_prompt;
  seq->n_fed = 0;
  seq->in_flight = 0;
  seq->finish = MDI_FINISH_NONE;
  mdi_sampler_init(&seq->sampler, &r->sampling, r->seed);
}

int mdi_sched_init(struct mdi_sched *s, const struct mdi_request *reqs, int n_reqs, int B, int M,
                   int max_rows, int max_seq, const int *stop_ids, int n_stop) {
  memset(s, 0, sizeof *s);
  s->B = B;
  s->M = M;
  s->max_rows = max_rows;
  s->max_seq = max_seq;
  s->reqs = reqs;
  s->n_reqs = n_reqs;
  s->stop_ids = stop_ids;
  s->n_stop = n_stop;
  s->slots = mdi_calloc((size_t)B * M, sizeof *s->slots, "sequence slots");
  if (!s->slots) return MDI_ERR;
  for (int i = 0; i < B * M; i++) {
    s->slots[i].tokens = mdi_malloc(((size_t)max_seq + 1) * sizeof(int), "sequence tokens");
    if (!s->slots[i].tokens) {
      mdi_sched_free(s);
      return MDI_ERR;
    }
  }
  /* deal the first requests round-robin: request i -> micro-batch i % M */
  for (int i = 0; i < n_reqs && i < B * M; i++) {
    int mb = i % M, j = i / M;
    start_request(s, &s->slots[mb * B + j]);
  }
  return MDI_OK;
}

void mdi_sched_free(struct mdi_sched *s) {
  if (s->slots)
    for (int i = 0; i < s->B * s->M; i++) free(s->slots[i].tokens);
  free(s->slots);
  memset(s, 0, sizeof *s);
}

int mdi_sched_build(struct mdi_sched *s, int mb, struct mdi_span *spans, int *tokens, int *rows) {
  int n = 0, r = 0;
  for (int j = 0; j < s->B; j++) {
    const int slot = mb * s->B + j;
    struct mdi_sequence *seq = &s->slots[slot];
    if (!seq->req) continue;
    MDI_ASSERT(!seq->in_flight);
    /* prefill: every prompt token at once; decode: the last sampled token */
    const int count = seq->n_tokens - seq->n_fed;
    MDI_ASSERT(count >= 1);
    if (r + count > s->max_rows) continue; /* no room this trip: goes next trip */
    spans[n] = (struct mdi_span){slot, seq->n_fed, count};
    memcpy(tokens + r, seq->tokens + seq->n_fed, (size_t)count * sizeof(int));
    seq->in_flight = 1;
    if (seq->n_fed == 0) s->prompt_tokens += count;
    r += count;
    n++;
  }
  /* a waiting prefill that did not fit must not leave the micro-batch empty */
  MDI_ASSERT(n > 0 || r == 0);
  *rows = r;
  if (n > 0) s->trips++;
  return n;
}

struct mdi_sequence *mdi_sched_apply(struct mdi_sched *s, int slot, int token) {
  MDI_ASSERT(slot >= 0 && slot < s->B * s->M);
  struct mdi_sequence *seq = &s->slots[slot];
  MDI_ASSERT(seq->req && seq->in_flight);
  seq->in_flight = 0;
  seq->n_fed = seq->n_tokens;
  if (mdi_is_stop_id(s->stop_ids, s->n_stop, token)) {
    seq->finish = MDI_FINISH_STOP;
  } else {
    seq->tokens[seq->n_tokens++] = token;
    s->generated_tokens++;
    const int generated = seq->n_tokens - seq->req->n_prompt;
    /* the new token sits at position n_tokens-1; it can only be fed back if
     * that position exists in the cache */
    if ((seq->req->max_new > 0 && generated >= seq->req->max_new) || seq->n_tokens - 1 >= s->max_seq)
      seq->finish = MDI_FINISH_LENGTH;
  }
  return seq->finish == MDI_FINISH_NONE ? NULL : seq;
}

void mdi_sched_retire(struct mdi_sched *s, int slot) {
  struct mdi_sequence *seq = &s->slots[slot];
  MDI_ASSERT(seq->req && seq->finish != MDI_FINISH_NONE);
  s->n_done++;
  seq->req = NULL;
  if (s->next_req < s->n_reqs) start_request(s, seq);
}

/* Slot assignment and continuous batching (see scheduler.h). */
#include "mdi/ring/scheduler.h"

#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

static void start_request(struct mdi_sched *s, int slot, const struct mdi_request *r) {
  struct mdi_sequence *seq = &s->slots[slot];
  MDI_ASSERT(!seq->req && r->n_prompt >= 1 && r->n_prompt <= s->max_rows && r->n_prompt <= s->max_seq);
  seq->req = r;
  memcpy(seq->tokens, r->prompt_tokens, (size_t)r->n_prompt * sizeof(int));
  seq->n_tokens = r->n_prompt;
  seq->n_fed = 0;
  seq->in_flight = 0;
  seq->finish = MDI_FINISH_NONE;
  mdi_sampler_init(&seq->sampler, &r->sampling, r->seed);
  s->occupied[slot / s->B]++;
  s->started++;
}

int mdi_sched_init(struct mdi_sched *s, int B, int M, int max_rows, int max_seq, const int *stop_ids,
                   int n_stop) {
  memset(s, 0, sizeof *s);
  s->B = B;
  s->M = M;
  s->max_rows = max_rows;
  s->max_seq = max_seq;
  s->stop_ids = stop_ids;
  s->n_stop = n_stop;
  s->slots = mdi_calloc((size_t)B * M, sizeof *s->slots, "sequence slots");
  s->occupied = mdi_calloc((size_t)M, sizeof *s->occupied, "sequence slots");
  if (!s->slots || !s->occupied) {
    mdi_sched_free(s);
    return MDI_ERR;
  }
  for (int i = 0; i < B * M; i++) {
    s->slots[i].tokens = mdi_malloc(((size_t)max_seq + 1) * sizeof(int), "sequence tokens");
    if (!s->slots[i].tokens) {
      mdi_sched_free(s);
      return MDI_ERR;
    }
  }
  return MDI_OK;
}

void mdi_sched_free(struct mdi_sched *s) {
  if (s->slots)
    for (int i = 0; i < s->B * s->M; i++) free(s->slots[i].tokens);
  free(s->slots);
  free(s->occupied);
  memset(s, 0, sizeof *s);
}

/* The least occupied candidate with a free slot (ties: lowest index), or -1. */
static int roomiest(const struct mdi_sched *s, const unsigned char *candidates) {
  int best = -1;
  for (int mb = 0; mb < s->M; mb++)
    if (candidates[mb] && s->occupied[mb] < s->B && (best < 0 || s->occupied[mb] < s->occupied[best])) best = mb;
  return best;
}

int mdi_sched_has_room(const struct mdi_sched *s, const unsigned char *candidates) {
  return roomiest(s, candidates) >= 0;
}

int mdi_sched_admit(struct mdi_sched *s, const unsigned char *candidates, const struct mdi_request_source *src) {
  int taken = 0, mb;
  while ((mb = roomiest(s, candidates)) >= 0) {
    const struct mdi_request *r = src->next(src->ctx);
    if (!r) break;
    int slot = mb * s->B;
    while (s->slots[slot].req) slot++;
    start_request(s, slot, r);
    taken++;
  }
  return taken;
}

int mdi_sched_build(struct mdi_sched *s, int mb, struct mdi_span *spans, int *tokens, int *rows) {
  int n = 0, r = 0;
  for (int j = 0; j < s->B; j++) {
    const int slot = mb * s->B + j;
    struct mdi_sequence *seq = &s->slots[slot];
    if (!seq->req) continue;
    MDI_ASSERT(!seq->in_flight && seq->finish == MDI_FINISH_NONE);
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
  /* every prompt fits max_rows alone: a micro-batch with sequences has work */
  MDI_ASSERT(n > 0 || s->occupied[mb] == 0);
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

struct mdi_sequence *mdi_sched_end(struct mdi_sched *s, int slot, enum mdi_finish why) {
  struct mdi_sequence *seq = &s->slots[slot];
  MDI_ASSERT(seq->req && !seq->in_flight && why != MDI_FINISH_NONE);
  if (seq->finish == MDI_FINISH_NONE) seq->finish = why;
  return seq;
}

void mdi_sched_retire(struct mdi_sched *s, int slot) {
  struct mdi_sequence *seq = &s->slots[slot];
  MDI_ASSERT(seq->req && seq->finish != MDI_FINISH_NONE && !seq->in_flight);
  seq->req = NULL;
  s->occupied[slot / s->B]--;
  s->finished++;
}

/* ---- a fixed list of requests -------------------------------------------- */

static const struct mdi_request *list_next(void *ctx) {
  struct mdi_request_list *l = ctx;
  return l->next < l->n ? &l->reqs[l->next++] : NULL;
}
static int list_pending(void *ctx) {
  const struct mdi_request_list *l = ctx;
  return l->next < l->n;
}
static void list_wait(void *ctx, double timeout_s) { (void)ctx, (void)timeout_s; }
static int list_closed(void *ctx) { return !list_pending(ctx); }

struct mdi_request_source mdi_request_list_source(struct mdi_request_list *l) {
  return (struct mdi_request_source){l, list_next, list_pending, list_wait, list_closed};
}

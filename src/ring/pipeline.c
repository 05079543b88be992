/* The rank-0 and stage loops of the ring (see pipeline.h). */
#include "mdi/ring/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/sampler.h"
#include "mdi/ring/comm.h"

int mdi_pipeline_init(struct mdi_pipeline *p) {
  const int B = p->layout.B;
  if (p->n_ranks > 1) {
    p->ring = mdi_ring_create(p->layout.max_bytes, p->M + 2, p->timeout_s);
    if (!p->ring) return MDI_ERR;
  }
  if (!(p->spans = mdi_malloc((size_t)B * sizeof *p->spans, "spans"))) return MDI_ERR;
  const int tail = p->layout.tail;
  if (p->rank != 0) {
    if (tail && p->rank == p->n_ranks - 1 &&
        !(p->tail_logits = mdi_aligned_alloc((size_t)B * tail * sizeof(float), "classifier tail logits")))
      return MDI_ERR;
    return MDI_OK;
  }
  if (p->ping_s <= 0) p->ping_s = 1.0;
  const int vocab = p->vocab->hp.vocab_size;
  if (p->n_ranks == 1 && !(p->alone_buf = mdi_aligned_alloc(p->layout.max_bytes, "micro-batch buffer")))
    return MDI_ERR;
  if (!(p->tokens = mdi_malloc((size_t)p->layout.max_rows * sizeof *p->tokens, "tokens")) ||
      !(p->positions = mdi_malloc((size_t)p->layout.max_rows * sizeof *p->positions, "positions")) ||
      !(p->logits = mdi_aligned_alloc((size_t)B * vocab * sizeof(float), "logits")) ||
      (tail && !(p->tail_logits = mdi_aligned_alloc((size_t)B * (vocab - tail) * sizeof(float) + 64, "logits"))) ||
      !(p->probs = mdi_malloc((size_t)vocab * sizeof *p->probs, "sampler scratch")) ||
      !(p->loads = mdi_calloc((size_t)p->n_ranks, sizeof *p->loads, "rank loads")) ||
      !(p->idle = mdi_malloc((size_t)p->M, "micro-batch states")) ||
      !(p->candidates = mdi_malloc((size_t)p->M, "micro-batch states")))
    return MDI_ERR;
  memset(p->idle, 1, (size_t)p->M);
  return MDI_OK;
}

void mdi_pipeline_free(struct mdi_pipeline *p) {
  mdi_ring_destroy(p->ring);
  free(p->alone_buf);
  free(p->spans);
  free(p->tokens);
  free(p->positions);
  free(p->logits);
  free(p->tail_logits);
  free(p->probs);
  free(p->loads);
  free(p->idle);
  free(p->candidates);
  p->ring = NULL;
  p->alone_buf = NULL;
  p->spans = NULL;
  p->tokens = p->positions = NULL;
  p->logits = p->tail_logits = NULL;
  p->probs = NULL;
  p->loads = NULL;
  p->idle = p->candidates = NULL;
}

/* Communication progresses between layers while a rank computes. */
static void ring_progress(void *ring) { mdi_ring_progress(ring); }

/* ---- rank 0 -------------------------------------------------------------- */

/* Rank 0's own load is current; the sink hears every rank's.  While the
 * ring is idle the stages' idle time grows by the time since they last
 * reported. */
static void report_loads(struct mdi_pipeline *p, int idle) {
  if (!p->sink.load) return;
  const double now = mdi_comm_time();
  p->loads[0] = (struct mdi_rank_load){p->compute_s, now - p->t_begin};
  p->sink.load(p->sink.ctx, p->loads, p->n_ranks);
  if (!idle || p->n_ranks == 1) return;
  for (int i = 1; i < p->n_ranks; i++) p->loads[i].wall_s += now - p->t_loads;
  p->sink.load(p->sink.ctx, p->loads, p->n_ranks);
  for (int i = 1; i < p->n_ranks; i++) p->loads[i].wall_s -= now - p->t_loads;
}

/* Waiting requests into free slots: of micro-batch mb, or (mb < 0) of every
 * idle one. */
static void admit(struct mdi_pipeline *p, int mb) {
  if (mb < 0) {
    memcpy(p->candidates, p->idle, (size_t)p->M);
  } else {
    memset(p->candidates, 0, (size_t)p->M);
    p->candidates[mb] = 1;
  }
  mdi_sched_admit(p->sched, p->candidates, &p->source);
}

static void finish(struct mdi_pipeline *p, const struct mdi_sequence *seq, int slot, double now) {
  if (p->sink.finish(p->sink.ctx, seq, now) != MDI_OK && !p->sink_failed) {
    p->sink_failed = 1;
    snprintf(p->sink_error, sizeof p->sink_error, "%s", mdi_error()); /* the first failure is the one to tell */
  }
  mdi_sched_retire(p->sched, slot);
}

/* Rank 0: stop starting trips?  A signal caught here or reported by a
 * stage, or a sink that cannot keep results. */
static int stopping(struct mdi_pipeline *p) {
  if (!p->stop_signal && p->interrupted) p->stop_signal = p->interrupted();
  return p->stop_signal || p->sink_failed;
}

/* Sequences of micro-batch mb whose owner cancelled them end before the trip. */
static void reap_cancelled(struct mdi_pipeline *p, int mb) {
  struct mdi_sched *s = p->sched;
  for (int slot = mb * s->B; slot < (mb + 1) * s->B; slot++) {
    const struct mdi_sequence *seq = &s->slots[slot];
    if (seq->req && mdi_request_cancelled(seq->req))
      finish(p, mdi_sched_end(s, slot, MDI_FINISH_CANCEL), slot, mdi_comm_time());
  }
}

/* Build micro-batch mb's next message in buf: embed its input tokens and run
 * rank 0's own layers.  Returns the message size, 0 when it has no work. */
static size_t rank0_launch(struct mdi_pipeline *p, int mb, void *buf) {
  reap_cancelled(p, mb);
  int rows;
  const int n = mdi_sched_build(p->sched, mb, p->spans, p->tokens, &rows);
  if (n == 0) return 0;
  const double t0 = mdi_comm_time();
  size_t bytes = mdi_msg_pack(&p->layout, buf, MDI_MSG_DATA, mb, p->spans, n, rows, 0);
  struct mdi_wire_span *w = mdi_msg_spans(buf);
  for (int j = 0; j < n; j++) /* the classifier tail sends only the best logit of these */
    if (mdi_sampler_is_greedy(&p->sched->slots[p->spans[j].slot].sampler)) w[j].flags |= MDI_SPAN_GREEDY;
  float *x = mdi_msg_rows(&p->layout, buf);
  for (int j = 0, r = 0; j < n; j++)
    for (int t = 0; t < p->spans[j].n_tokens; t++) p->positions[r++] = p->spans[j].pos + t;
  mdi_embed(p->vocab, p->tokens, p->positions, rows, x);
  if (p->block->last > p->block->first)
    mdi_block_forward(p->block, p->kv, p->ws, p->spans, n, x, rows, p->ring ? ring_progress : NULL, p->ring);
  if (p->n_ranks == 1) bytes = mdi_msg_compact(&p->layout, buf);
  p->compute_s += mdi_comm_time() - t0;
  return bytes;
}

/* Span j's token when the last rank sent its tail logits (tail_logits
 * rows [0, row0) computed here): a greedy span combines the two argmaxes
 * (sampler.h, mdi_argmax_above), another gets the whole row of logits and
 * samples as without a tail.  *in walks the message's tail section. */
static int token_with_tail(struct mdi_pipeline *p, struct mdi_sequence *seq, const struct mdi_wire_span *w,
                           float *logits, const char **in) {
  const int vocab = p->vocab->hp.vocab_size, tail = p->layout.tail, row0 = vocab - tail;
  if (w->flags & MDI_SPAN_GREEDY) {
    MDI_ASSERT(mdi_sampler_is_greedy(&seq->sampler));
    struct mdi_wire_best best;
    memcpy(&best, *in, sizeof best);
    *in += sizeof best;
    if (row0 == 0) return best.index; /* the last rank took mdi_argmax over everything */
    const int a = mdi_argmax(logits, row0);
    return best.index >= 0 && best.value > logits[a] ? row0 + best.index : a;
  }
  memcpy(logits + row0, *in, (size_t)tail * sizeof(float));
  *in += (size_t)tail * sizeof(float);
  return mdi_sampler_sample(&seq->sampler, logits, vocab, p->probs);
}

/* A micro-batch came back: sample every sequence's next token. */
static void rank0_absorb(struct mdi_pipeline *p, void *buf) {
  const struct mdi_msg_header *hd = mdi_msg_header(buf);
  MDI_ASSERT(hd->kind == MDI_MSG_DATA && hd->compact);
  const int n = hd->n_spans, vocab = p->vocab->hp.vocab_size;
  double t0 = mdi_comm_time();
  const struct mdi_wire_span *w = mdi_msg_spans(buf);
  const char *in = NULL;
  if (hd->tail) {
    mdi_classify_rows(p->vocab, mdi_msg_rows(&p->layout, buf), n, vocab - hd->tail, p->logits, p->tail_logits);
    in = mdi_msg_tail(&p->layout, buf);
  } else {
    mdi_classify(p->vocab, mdi_msg_rows(&p->layout, buf), n, p->logits);
  }
  for (int j = 0; j < n; j++) {
    const int slot = p->spans[j].slot;
    struct mdi_sequence *seq = &p->sched->slots[slot];
    float *logits = p->logits + (size_t)j * vocab;
    const int token = hd->tail ? token_with_tail(p, seq, &w[j], logits, &in)
                               : mdi_sampler_sample(&seq->sampler, logits, vocab, p->probs);
    const int before = seq->n_tokens;
    struct mdi_sequence *done = mdi_sched_apply(p->sched, slot, token);
    const double now = mdi_comm_time();
    p->t_last = now;
    if (seq->n_tokens > before && p->sink.token(p->sink.ctx, seq, now) == MDI_SINK_STOP && !done)
      done = mdi_sched_end(p->sched, slot, MDI_FINISH_STOP);
    if (done) finish(p, done, slot, now);
  }
  p->compute_s += mdi_comm_time() - t0;
}

/* One rank: micro-batches take turns, each computed to the end and sampled;
 * a micro-batch takes waiting requests before its turn and after it. */
static int rank0_alone(struct mdi_pipeline *p) {
  admit(p, -1);
  for (;;) {
    int busy = 0;
    for (int mb = 0; mb < p->M && !stopping(p); mb++) {
      admit(p, mb);
      const size_t bytes = rank0_launch(p, mb, p->alone_buf);
      if (bytes == 0) continue;
      busy = 1;
      if (mdi_msg_check(&p->layout, p->alone_buf, bytes, p->spans) != MDI_OK)
        MDI_PANIC("rank 0 built a bad message: %s", mdi_error());
      rank0_absorb(p, p->alone_buf);
      admit(p, mb);
    }
    if (stopping(p)) return p->sink_failed ? MDI_ERR : MDI_OK;
    report_loads(p, 0);
    if (busy) continue;
    admit(p, -1);
    if (!mdi_sched_empty(p->sched)) continue;
    if (p->source.closed(p->source.ctx)) return MDI_OK;
    p->source.wait(p->source.ctx, p->ping_s);
  }
}

/* Send micro-batch mb's next trip, if it has one; returns 1 when sent. */
static int rank0_send_next(struct mdi_pipeline *p, int mb) {
  void *buf = mdi_ring_buffer(p->ring);
  const size_t bytes = rank0_launch(p, mb, buf);
  if (bytes) mdi_ring_send(p->ring, buf, bytes);
  else mdi_ring_release(p->ring, buf);
  return bytes != 0;
}

/* While waiting for the ring: may a new request start on an idle micro-batch? */
static int can_admit(void *ctx) {
  struct mdi_pipeline *p = ctx;
  return !p->ping_out && !stopping(p) && mdi_sched_has_room(p->sched, p->idle) && p->source.pending(p->source.ctx);
}

static void send_control(struct mdi_pipeline *p, int kind) {
  void *buf = mdi_ring_buffer(p->ring);
  mdi_ring_send(p->ring, buf, mdi_msg_pack(&p->layout, buf, kind, -1, NULL, 0, 0, 0));
}

/* The stages' loads as the message reports them (rank 0's own is current). */
static void take_loads(struct mdi_pipeline *p, void *buf) {
  const struct mdi_wire_load *w = mdi_msg_loads(&p->layout, buf);
  for (int i = 1; i < p->n_ranks; i++) {
    p->loads[i] = (struct mdi_rank_load){w[i].compute_s, w[i].wall_s};
    if (w[i].signal && !p->stop_signal && p->interrupted) p->stop_signal = w[i].signal;
  }
  p->t_loads = mdi_comm_time();
  report_loads(p, 0);
}

/* Micro-batches leave as soon as they have work; rank 0 waits for the ring
 * and for new requests at once.  When the ring has been idle for ping_s, a
 * PING goes round (no data leaves meanwhile, so at most M messages exist,
 * see docs/PIPELINE.md), and in between rank 0 sleeps on its source,
 * waking every second to report the loads. */
static int rank0_ring(struct mdi_pipeline *p) {
  int in_flight = 0;
  double last_heard = mdi_comm_time();
  for (;;) {
    /* stopping: no trip starts, the ones in flight come back */
    const int stop = stopping(p);
    if (!p->ping_out && !stop) {
      admit(p, -1);
      for (int mb = 0; mb < p->M; mb++)
        if (p->idle[mb] && rank0_send_next(p, mb)) p->idle[mb] = 0, in_flight++;
    }
    if (in_flight == 0 && !p->ping_out) {
      if (stop || p->source.closed(p->source.ctx)) break;
      const double now = mdi_comm_time();
      if (now - last_heard >= p->ping_s) {
        send_control(p, MDI_MSG_PING);
        p->ping_out = 1;
      } else {
        report_loads(p, 1);
        const double until_ping = last_heard + p->ping_s - now;
        p->source.wait(p->source.ctx, until_ping < 1.0 ? until_ping : 1.0);
      }
      continue;
    }
    size_t bytes;
    void *buf = mdi_ring_recv_or(p->ring, &bytes, can_admit, p);
    if (!buf) continue;
    if (mdi_msg_check(&p->layout, buf, bytes, p->spans) != MDI_OK)
      MDI_PANIC("rank 0 received a bad message: %s", mdi_error());
    last_heard = mdi_comm_time();
    const struct mdi_msg_header *hd = mdi_msg_header(buf);
    if (hd->kind == MDI_MSG_PING) {
      MDI_ASSERT(p->ping_out);
      p->ping_out = 0;
    } else {
      MDI_ASSERT(hd->kind == MDI_MSG_DATA && hd->mb >= 0 && hd->mb < p->M && !p->idle[hd->mb]);
      rank0_absorb(p, buf);
      p->idle[hd->mb] = 1;
      in_flight--;
    }
    take_loads(p, buf);
    mdi_ring_release(p->ring, buf);
  }
  /* shut down: STOP goes round once */
  send_control(p, MDI_MSG_STOP);
  size_t bytes;
  void *back = mdi_ring_recv(p->ring, &bytes);
  if (mdi_msg_check(&p->layout, back, bytes, NULL) != MDI_OK || mdi_msg_header(back)->kind != MDI_MSG_STOP)
    MDI_PANIC("rank 0 expected the STOP message back: %s", mdi_error());
  take_loads(p, back);
  mdi_ring_release(p->ring, back);
  mdi_ring_flush(p->ring);
  return p->sink_failed ? MDI_ERR : MDI_OK;
}

static int run_rank0(struct mdi_pipeline *p) {
  p->t_first = mdi_comm_time();
  const int rc = p->ring ? rank0_ring(p) : rank0_alone(p);
  if (p->t_last < p->t_first) p->t_last = p->t_first;
  if (rc != MDI_OK) mdi_fail("%s", p->sink_error);
  return rc;
}

/* ---- ranks 1..N-1 ------------------------------------------------------- */

/* The last rank: the logits of the classifier tail for every span of a
 * compact message, into its tail section (protocol.h); returns the size. */
static size_t add_tail(struct mdi_pipeline *p, void *buf) {
  const int n = mdi_msg_header(buf)->n_spans, tail = p->layout.tail, row0 = p->tail->row0;
  mdi_classify_tail(p->tail, mdi_msg_rows(&p->layout, buf), n, p->ws->xb, p->tail_logits);
  const size_t bytes = mdi_msg_add_tail(&p->layout, buf);
  const struct mdi_wire_span *w = mdi_msg_spans(buf);
  char *out = mdi_msg_tail(&p->layout, buf);
  for (int j = 0; j < n; j++) {
    const float *logits = p->tail_logits + (size_t)j * tail;
    if (w[j].flags & MDI_SPAN_GREEDY) {
      /* with no rows left to rank 0, the plain argmax is the answer itself */
      const int i = row0 == 0 ? mdi_argmax(logits, tail) : mdi_argmax_above(logits, tail);
      const struct mdi_wire_best best = {i >= 0 ? logits[i] : -INFINITY, i};
      memcpy(out, &best, sizeof best);
      out += sizeof best;
    } else {
      memcpy(out, logits, (size_t)tail * sizeof(float));
      out += (size_t)tail * sizeof(float);
    }
  }
  return bytes;
}

static int run_stage(struct mdi_pipeline *p) {
  const int last = p->rank == p->n_ranks - 1;
  for (;;) {
    size_t bytes;
    void *buf = mdi_ring_recv(p->ring, &bytes);
    if (mdi_msg_check(&p->layout, buf, bytes, p->spans) != MDI_OK)
      MDI_PANIC("rank %d received a bad message: %s", p->rank, mdi_error());
    const struct mdi_msg_header *hd = mdi_msg_header(buf);
    if (hd->kind == MDI_MSG_DATA) {
      MDI_ASSERT(!hd->compact);
      const double t0 = mdi_comm_time();
      mdi_block_forward(p->block, p->kv, p->ws, p->spans, hd->n_spans, mdi_msg_rows(&p->layout, buf), hd->rows,
                        ring_progress, p->ring);
      if (last) bytes = mdi_msg_compact(&p->layout, buf);
      if (last && p->layout.tail) bytes = add_tail(p, buf);
      p->compute_s += mdi_comm_time() - t0;
    }
    mdi_msg_loads(&p->layout, buf)[p->rank] = (struct mdi_wire_load){
        p->compute_s, mdi_comm_time() - p->t_begin, p->interrupted ? p->interrupted() : 0, 0};
    const int stop = hd->kind == MDI_MSG_STOP;
    mdi_ring_send(p->ring, buf, bytes); /* data goes on, PING and STOP pass through */
    if (stop) break;
  }
  mdi_ring_flush(p->ring);
  return MDI_OK;
}

int mdi_pipeline_run(struct mdi_pipeline *p) {
  p->t_begin = mdi_comm_time();
  int rc = p->rank == 0 ? run_rank0(p) : run_stage(p);
  p->wall_s = mdi_comm_time() - p->t_begin;
  if (p->ring) {
    p->recv_wait_s = mdi_ring_stats(p->ring)->recv_wait_s;
    p->send_wait_s = mdi_ring_stats(p->ring)->send_wait_s;
  }
  return rc;
}

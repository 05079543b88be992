/* The head and stage loops of the ring (see pipeline.h). */
#include "mdi/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "mdi/comm.h"
#include "mdi/error.h"

/* Communication progresses between layers while a rank computes. */
static void ring_progress(void *ring) { mdi_ring_progress(ring); }

/* ---- rank 0 -------------------------------------------------------------- */

struct head_state {
  struct mdi_pipeline *p;
  struct mdi_ring *ring;           /* NULL with one rank */
  struct mdi_span *spans;          /* [B] */
  int *tokens;                     /* [max_rows] */
  int *positions;                  /* [max_rows] */
  float *logits;                   /* [B][vocab] */
  struct mdi_prob_index *probs;    /* [vocab] */
};

/* Build micro-batch mb's next message in buf: embed its input tokens and run
 * rank 0's own layers.  Returns the message size, 0 when it has no work. */
static size_t head_launch(struct head_state *h, int mb, void *buf) {
  struct mdi_pipeline *p = h->p;
  int rows;
  const int n = mdi_sched_build(p->sched, mb, h->spans, h->tokens, &rows);
  if (n == 0) return 0;
  const double t0 = mdi_comm_time();
  size_t bytes = mdi_msg_pack(&p->layout, buf, MDI_MSG_DATA, mb, h->spans, n, rows, 0);
  float *x = mdi_msg_rows(&p->layout, buf);
  for (int j = 0, r = 0; j < n; j++)
    for (int t = 0; t < h->spans[j].n_tokens; t++) h->positions[r++] = h->spans[j].pos + t;
  mdi_head_embed(p->head, h->tokens, h->positions, rows, x);
  if (p->block->last > p->block->first)
    mdi_block_forward(p->block, p->kv, p->ws, h->spans, n, x, rows, h->ring ? ring_progress : NULL,
                      h->ring);
  if (p->n_ranks == 1) bytes = mdi_msg_compact(&p->layout, buf);
  p->compute_s += mdi_comm_time() - t0;
  return bytes;
}

/* A micro-batch came back: sample every sequence's next token. */
static int head_absorb(struct head_state *h, void *buf, size_t bytes) {
  struct mdi_pipeline *p = h->p;
  if (mdi_msg_check(&p->layout, buf, bytes, h->spans) != MDI_OK)
    MDI_PANIC("rank 0 received a bad message: %s", mdi_error());
  const struct mdi_msg_header *hd = mdi_msg_header(buf);
  MDI_ASSERT(hd->kind == MDI_MSG_DATA && hd->compact);
  const int n = hd->n_spans, vocab = p->head->hp.vocab_size;
  double t0 = mdi_comm_time();
  mdi_head_logits(p->head, mdi_msg_rows(&p->layout, buf), n, h->logits);
  int rc = MDI_OK;
  for (int j = 0; j < n; j++) {
    const int slot = h->spans[j].slot;
    struct mdi_sequence *q = &p->sched->slots[slot];
    const int token = mdi_sampler_sample(&q->sampler, h->logits + (size_t)j * vocab, vocab, h->probs);
    const int before = q->n_tokens;
    struct mdi_sequence *done = mdi_sched_apply(p->sched, slot, token);
    const double now = mdi_comm_time();
    p->t_last = now;
    if (q->n_tokens > before) mdi_output_token(p->out, q, now);
    if (done) {
      if (mdi_output_finish(p->out, done, now) != MDI_OK) rc = MDI_ERR;
      mdi_sched_retire(p->sched, slot);
    }
  }
  p->compute_s += mdi_comm_time() - t0;
  return rc;
}

/* One rank: micro-batches take turns, each computed to the end and sampled. */
static int head_alone(struct head_state *h) {
  struct mdi_pipeline *p = h->p;
  void *buf = mdi_aligned_alloc(p->layout.max_bytes, "micro-batch buffer");
  if (!buf) return MDI_ERR;
  int rc = MDI_OK, busy = 1;
  while (busy && rc == MDI_OK) {
    busy = 0;
    for (int mb = 0; mb < p->M && rc == MDI_OK; mb++) {
      size_t bytes = head_launch(h, mb, buf);
      if (bytes == 0) continue;
      busy = 1;
      rc = head_absorb(h, buf, bytes);
    }
  }
  mdi_free(buf);
  return rc;
}

/* Send micro-batch mb's next trip, if it has one; returns 1 when sent. */
static int head_send_next(struct head_state *h, int mb) {
  void *buf = mdi_ring_buffer(h->ring);
  const size_t bytes = head_launch(h, mb, buf);
  if (bytes) mdi_ring_send(h->ring, buf, bytes);
  else mdi_ring_release(h->ring, buf);
  return bytes != 0;
}

static int head_ring(struct head_state *h) {
  struct mdi_pipeline *p = h->p;
  int in_flight = 0, rc = MDI_OK;
  for (int mb = 0; mb < p->M; mb++) in_flight += head_send_next(h, mb);
  while (in_flight > 0) {
    size_t bytes;
    void *buf = mdi_ring_recv(h->ring, &bytes);
    const int mb = mdi_msg_header(buf)->mb;
    if (head_absorb(h, buf, bytes) != MDI_OK) rc = MDI_ERR;
    mdi_ring_release(h->ring, buf);
    in_flight--;
    if (rc != MDI_OK) break; /* the caller ends the job */
    in_flight += head_send_next(h, mb);
  }
  if (rc != MDI_OK) return rc;
  /* shut down: STOP goes round once */
  void *stop = mdi_ring_buffer(h->ring);
  mdi_ring_send(h->ring, stop, mdi_msg_pack(&p->layout, stop, MDI_MSG_STOP, -1, NULL, 0, 0, 0));
  size_t bytes;
  void *back = mdi_ring_recv(h->ring, &bytes);
  if (mdi_msg_check(&p->layout, back, bytes, NULL) != MDI_OK || mdi_msg_header(back)->kind != MDI_MSG_STOP)
    MDI_PANIC("rank 0 expected the STOP message back: %s", mdi_error());
  mdi_ring_release(h->ring, back);
  mdi_ring_flush(h->ring);
  return MDI_OK;
}

static int run_head(struct mdi_pipeline *p) {
  const int B = p->layout.B, vocab = p->head->hp.vocab_size;
  struct head_state h = {.p = p};
  h.spans = mdi_malloc((size_t)B * sizeof *h.spans, "spans");
  h.tokens = mdi_malloc((size_t)p->layout.max_rows * sizeof *h.tokens, "tokens");
  h.positions = mdi_malloc((size_t)p->layout.max_rows * sizeof *h.positions, "positions");
  h.logits = mdi_aligned_alloc((size_t)B * vocab * sizeof(float), "logits");
  h.probs = mdi_malloc((size_t)vocab * sizeof *h.probs, "sampler scratch");
  int rc = MDI_ERR;
  if (h.spans && h.tokens && h.positions && h.logits && h.probs) {
    p->t_first = mdi_comm_time();
    if (p->n_ranks == 1) {
      rc = head_alone(&h);
    } else {
      h.ring = mdi_ring_create(p->layout.max_bytes, p->M + 2, p->timeout_s);
      rc = head_ring(&h);
    }
    if (p->t_last < p->t_first) p->t_last = p->t_first;
  }
  if (h.ring) {
    p->recv_wait_s = mdi_ring_stats(h.ring)->recv_wait_s;
    p->send_wait_s = mdi_ring_stats(h.ring)->send_wait_s;
    if (rc == MDI_OK) mdi_ring_destroy(h.ring);
  }
  free(h.spans);
  free(h.tokens);
  free(h.positions);
  mdi_free(h.logits);
  free(h.probs);
  return rc;
}

/* ---- ranks 1..N-1 ------------------------------------------------------- */

static int run_stage(struct mdi_pipeline *p) {
  struct mdi_ring *ring = mdi_ring_create(p->layout.max_bytes, p->M + 2, p->timeout_s);
  struct mdi_span *spans = mdi_xmalloc((size_t)p->layout.B * sizeof *spans, "spans");
  const int last = p->rank == p->n_ranks - 1;
  for (;;) {
    size_t bytes;
    void *buf = mdi_ring_recv(ring, &bytes);
    if (mdi_msg_check(&p->layout, buf, bytes, spans) != MDI_OK)
      MDI_PANIC("rank %d received a bad message: %s", p->rank, mdi_error());
    const struct mdi_msg_header *hd = mdi_msg_header(buf);
    if (hd->kind == MDI_MSG_STOP) {
      mdi_ring_send(ring, buf, bytes); /* pass it on, then leave */
      break;
    }
    MDI_ASSERT(!hd->compact);
    const double t0 = mdi_comm_time();
    mdi_block_forward(p->block, p->kv, p->ws, spans, hd->n_spans, mdi_msg_rows(&p->layout, buf), hd->rows,
                      ring_progress, ring);
    if (last) bytes = mdi_msg_compact(&p->layout, buf);
    p->compute_s += mdi_comm_time() - t0;
    mdi_ring_send(ring, buf, bytes);
  }
  mdi_ring_flush(ring);
  p->recv_wait_s = mdi_ring_stats(ring)->recv_wait_s;
  p->send_wait_s = mdi_ring_stats(ring)->send_wait_s;
  mdi_ring_destroy(ring);
  free(spans);
  return MDI_OK;
}

int mdi_pipeline_run(struct mdi_pipeline *p) {
  const double t0 = mdi_comm_time();
  int rc = p->rank == 0 ? run_head(p) : run_stage(p);
  p->wall_s = mdi_comm_time() - t0;
  return rc;
}

/* The rank-0 and stage loops of the ring (see pipeline.h). */
#include "mdi/ring/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/ring/comm.h"

int mdi_pipeline_init(struct mdi_pipeline *p) {
  const int B = p->layout.B;
  if (p->n_ranks > 1) {
    p->ring = mdi_ring_create(p->layout.max_bytes, p->M + 2, p->timeout_s);
    if (!p->ring) return MDI_ERR;
  }
  if (!(p->spans = mdi_malloc((size_t)B * sizeof *p->spans, "spans"))) return MDI_ERR;
  if (p->rank != 0) return MDI_OK;
  const int vocab = p->vocab->hp.vocab_size;
  if (p->n_ranks == 1 && !(p->alone_buf = mdi_aligned_alloc(p->layout.max_bytes, "micro-batch buffer")))
    return MDI_ERR;
  if (!(p->tokens = mdi_malloc((size_t)p->layout.max_rows * sizeof *p->tokens, "tokens")) ||
      !(p->positions = mdi_malloc((size_t)p->layout.max_rows * sizeof *p->positions, "positions")) ||
      !(p->logits = mdi_aligned_alloc((size_t)B * vocab * sizeof(float), "logits")) ||
      !(p->probs = mdi_malloc((size_t)vocab * sizeof *p->probs, "sampler scratch")))
    return MDI_ERR;
  return MDI_OK;
}

void mdi_pipeline_free(struct mdi_pipeline *p) {
  mdi_ring_destroy(p->ring);
  free(p->alone_buf);
  free(p->spans);
  free(p->tokens);
  free(p->positions);
  free(p->logits);
  free(p->probs);
  p->ring = NULL;
  p->alone_buf = NULL;
  p->spans = NULL;
  p->tokens = p->positions = NULL;
  p->logits = NULL;
  p->probs = NULL;
}

/* Communication progresses between layers while a rank computes. */
static void ring_progress(void *ring) { mdi_ring_progress(ring); }

/* ---- rank 0 -------------------------------------------------------------- */

/* Build micro-batch mb's next message in buf: embed its input tokens and run
 * rank 0's own layers.  Returns the message size, 0 when it has no work. */
static size_t rank0_launch(struct mdi_pipeline *p, int mb, void *buf) {
  int rows;
  const int n = mdi_sched_build(p->sched, mb, p->spans, p->tokens, &rows);
  if (n == 0) return 0;
  const double t0 = mdi_comm_time();
  size_t bytes = mdi_msg_pack(&p->layout, buf, MDI_MSG_DATA, mb, p->spans, n, rows, 0);
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

/* A micro-batch came back: sample every sequence's next token. */
static int rank0_absorb(struct mdi_pipeline *p, void *buf, size_t bytes) {
  if (mdi_msg_check(&p->layout, buf, bytes, p->spans) != MDI_OK)
    MDI_PANIC("rank 0 received a bad message: %s", mdi_error());
  const struct mdi_msg_header *hd = mdi_msg_header(buf);
  MDI_ASSERT(hd->kind == MDI_MSG_DATA && hd->compact);
  const int n = hd->n_spans, vocab = p->vocab->hp.vocab_size;
  double t0 = mdi_comm_time();
  mdi_classify(p->vocab, mdi_msg_rows(&p->layout, buf), n, p->logits);
  int rc = MDI_OK;
  for (int j = 0; j < n; j++) {
    const int slot = p->spans[j].slot;
    struct mdi_sequence *seq = &p->sched->slots[slot];
    const int token = mdi_sampler_sample(&seq->sampler, p->logits + (size_t)j * vocab, vocab, p->probs);
    const int before = seq->n_tokens;
    struct mdi_sequence *done = mdi_sched_apply(p->sched, slot, token);
    const double now = mdi_comm_time();
    p->t_last = now;
    if (seq->n_tokens > before) p->sink.token(p->sink.ctx, seq, now);
    if (done) {
      if (p->sink.finish(p->sink.ctx, done, now) != MDI_OK) rc = MDI_ERR;
      mdi_sched_retire(p->sched, slot);
    }
  }
  p->compute_s += mdi_comm_time() - t0;
  return rc;
}

/* One rank: micro-batches take turns, each computed to the end and sampled. */
static int rank0_alone(struct mdi_pipeline *p) {
  int rc = MDI_OK, busy = 1;
  while (busy && rc == MDI_OK) {
    busy = 0;
    for (int mb = 0; mb < p->M && rc == MDI_OK; mb++) {
      size_t bytes = rank0_launch(p, mb, p->alone_buf);
      if (bytes == 0) continue;
      busy = 1;
      rc = rank0_absorb(p, p->alone_buf, bytes);
    }
  }
  return rc;
}

/* Send micro-batch mb's next trip, if it has one; returns 1 when sent. */
static int rank0_send_next(struct mdi_pipeline *p, int mb) {
  void *buf = mdi_ring_buffer(p->ring);
  const size_t bytes = rank0_launch(p, mb, buf);
  if (bytes) mdi_ring_send(p->ring, buf, bytes);
  else mdi_ring_release(p->ring, buf);
  return bytes != 0;
}

static int rank0_ring(struct mdi_pipeline *p) {
  int in_flight = 0, rc = MDI_OK;
  for (int mb = 0; mb < p->M; mb++) in_flight += rank0_send_next(p, mb);
  while (in_flight > 0) {
    size_t bytes;
    void *buf = mdi_ring_recv(p->ring, &bytes);
    const int mb = mdi_msg_header(buf)->mb;
    if (rank0_absorb(p, buf, bytes) != MDI_OK) rc = MDI_ERR;
    mdi_ring_release(p->ring, buf);
    in_flight--;
    if (rc != MDI_OK) return rc; /* the caller ends the job */
    in_flight += rank0_send_next(p, mb);
  }
  /* shut down: STOP goes round once */
  void *stop = mdi_ring_buffer(p->ring);
  mdi_ring_send(p->ring, stop, mdi_msg_pack(&p->layout, stop, MDI_MSG_STOP, -1, NULL, 0, 0, 0));
  size_t bytes;
  void *back = mdi_ring_recv(p->ring, &bytes);
  if (mdi_msg_check(&p->layout, back, bytes, NULL) != MDI_OK || mdi_msg_header(back)->kind != MDI_MSG_STOP)
    MDI_PANIC("rank 0 expected the STOP message back: %s", mdi_error());
  mdi_ring_release(p->ring, back);
  mdi_ring_flush(p->ring);
  return MDI_OK;
}

static int run_rank0(struct mdi_pipeline *p) {
  p->t_first = mdi_comm_time();
  const int rc = p->ring ? rank0_ring(p) : rank0_alone(p);
  if (p->t_last < p->t_first) p->t_last = p->t_first;
  return rc;
}

/* ---- ranks 1..N-1 ------------------------------------------------------- */

static int run_stage(struct mdi_pipeline *p) {
  const int last = p->rank == p->n_ranks - 1;
  for (;;) {
    size_t bytes;
    void *buf = mdi_ring_recv(p->ring, &bytes);
    if (mdi_msg_check(&p->layout, buf, bytes, p->spans) != MDI_OK)
      MDI_PANIC("rank %d received a bad message: %s", p->rank, mdi_error());
    const struct mdi_msg_header *hd = mdi_msg_header(buf);
    if (hd->kind == MDI_MSG_STOP) {
      mdi_ring_send(p->ring, buf, bytes); /* pass it on, then leave */
      break;
    }
    MDI_ASSERT(!hd->compact);
    const double t0 = mdi_comm_time();
    mdi_block_forward(p->block, p->kv, p->ws, p->spans, hd->n_spans, mdi_msg_rows(&p->layout, buf), hd->rows,
                      ring_progress, p->ring);
    if (last) bytes = mdi_msg_compact(&p->layout, buf);
    p->compute_s += mdi_comm_time() - t0;
    mdi_ring_send(p->ring, buf, bytes);
  }
  mdi_ring_flush(p->ring);
  return MDI_OK;
}

int mdi_pipeline_run(struct mdi_pipeline *p) {
  const double t0 = mdi_comm_time();
  int rc = p->rank == 0 ? run_rank0(p) : run_stage(p);
  p->wall_s = mdi_comm_time() - t0;
  if (p->ring) {
    p->recv_wait_s = mdi_ring_stats(p->ring)->recv_wait_s;
    p->send_wait_s = mdi_ring_stats(p->ring)->send_wait_s;
  }
  return rc;
}

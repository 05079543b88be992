/* The ring message (docs/PIPELINE.md).  One micro-batch = one message:
 *
 *   header   magic, kind (DATA, STOP or PING), micro-batch id, spans, rows, compact
 *   spans    [B] x {slot, pos, n_tokens, flags}   (only n_spans are used)
 *   loads    [n_ranks] x {compute_s, wall_s, signal}: each stage writes its
 *            own before sending, so rank 0 learns every rank's load as it
 *            runs, and that a stage was told to stop (SIGINT, SIGTERM)
 *   padding  to 64 bytes
 *   rows     [rows][dim] float32 activations
 *   tail     only on the way back to rank 0 when the last rank computes the
 *            classifier tail (header.tail vocabulary rows, docs/PIPELINE.md):
 *            per span, its best logit {value, index} when the span samples
 *            greedily (flag GREEDY), else its tail logits [tail] float32
 *
 * The header area has a fixed size for a run (B spans, n_ranks loads), so
 * the size of a message is exactly rows_offset + rows * dim * 4 (plus the
 * tail section, whose size the spans' flags fix), which the receiver
 * checks against MPI_Get_count.  A PING carries no spans and no
 * rows: rank 0 sends it round when the ring has been idle for a while, so
 * the stages hear from it within their timeout and report their loads.  After the last layer, the last rank keeps only the
 * last row of every span ("compact"): rank 0 needs nothing else to sample. */
#ifndef MDI_PROTOCOL_H
#define MDI_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/model/model.h"

#define MDI_MSG_MAGIC 0x3149444Du /* "MDI1" */

enum mdi_msg_kind { MDI_MSG_DATA = 1, MDI_MSG_STOP = 2, MDI_MSG_PING = 3 };
enum mdi_span_flags {
  MDI_SPAN_NEW = 1,    /* the slot starts a new sequence */
  MDI_SPAN_GREEDY = 2, /* its token is the argmax of the logits (the tail sends only its best) */
};

struct mdi_msg_header {
  uint32_t magic;
  uint32_t kind;
  int32_t mb;       /* micro-batch id */
  int32_t n_spans;
  int32_t rows;
  int32_t compact;  /* 1: one row per span (the last one) */
  int32_t tail;     /* vocabulary rows of the tail section after the rows (0: none) */
};

/* A greedy span's entry of the tail section: the largest tail logit above
 * -inf and its vocabulary index (mdi_argmax_above), index -1 when none. */
struct mdi_wire_best {
  float value;
  int32_t index;
};

struct mdi_wire_span {
  int32_t slot, pos, n_tokens, flags;
};

struct mdi_wire_load {
  double compute_s, wall_s; /* as struct mdi_rank_load */
  int32_t signal;           /* SIGINT/SIGTERM this stage caught (0: none): rank 0 then stops the run */
  int32_t unused;
};

/* Sizes fixed for a run. */
struct mdi_msg_layout {
  int B;              /* spans per message at most */
  int dim;
  int max_rows;
  int n_slots;        /* B x M */
  int max_seq;
  int n_ranks;
  int tail;           /* vocabulary rows the last rank classifies (0: rank 0 does all) */
  size_t loads_offset; /* byte offset of the loads */
  size_t rows_offset; /* byte offset of the activations */
  size_t max_bytes;
};

void mdi_msg_layout_init(struct mdi_msg_layout *l, int B, int M, int dim, int max_rows, int max_seq,
                         int n_ranks, int tail);
size_t mdi_msg_bytes(const struct mdi_msg_layout *l, int rows);

static inline struct mdi_msg_header *mdi_msg_header(void *buf) { return (struct mdi_msg_header *)buf; }
static inline struct mdi_wire_span *mdi_msg_spans(void *buf) {
  return (struct mdi_wire_span *)((char *)buf + sizeof(struct mdi_msg_header));
}
static inline struct mdi_wire_load *mdi_msg_loads(const struct mdi_msg_layout *l, void *buf) {
  return (struct mdi_wire_load *)((char *)buf + l->loads_offset);
}
static inline float *mdi_msg_rows(const struct mdi_msg_layout *l, void *buf) {
  return (float *)((char *)buf + l->rows_offset);
}

/* Write a header and spans (loads zeroed); returns the message size for
 * `rows` rows. */
size_t mdi_msg_pack(const struct mdi_msg_layout *l, void *buf, int kind, int mb,
                    const struct mdi_span *spans, int n_spans, int rows, int compact);
/* Check a received message of `bytes` bytes; on success fills spans (may be
 * NULL) and returns MDI_OK, else records what is wrong. */
int mdi_msg_check(const struct mdi_msg_layout *l, void *buf, size_t bytes, struct mdi_span *spans);
/* Keep only the last row of every span; returns the new message size. */
size_t mdi_msg_compact(const struct mdi_msg_layout *l, void *buf);
/* A compact message gets the tail section (l->tail rows; the caller fills
 * it at mdi_msg_tail); returns the new message size. */
size_t mdi_msg_add_tail(const struct mdi_msg_layout *l, void *buf);
/* The tail section: right after the rows. */
static inline void *mdi_msg_tail(const struct mdi_msg_layout *l, void *buf) {
  return (char *)mdi_msg_rows(l, buf) + (size_t)mdi_msg_header(buf)->rows * (size_t)l->dim * sizeof(float);
}
/* Bytes of span i's entry in the tail section. */
static inline size_t mdi_msg_tail_entry_bytes(const struct mdi_msg_layout *l, const struct mdi_wire_span *w) {
  return w->flags & MDI_SPAN_GREEDY ? sizeof(struct mdi_wire_best) : (size_t)l->tail * sizeof(float);
}

#endif

/* Packing and checking ring messages (see protocol.h). */
#include "mdi/ring/protocol.h"

#include <string.h>

#include "mdi/base/error.h"

void mdi_msg_layout_init(struct mdi_msg_layout *l, int B, int M, int dim, int max_rows, int max_seq,
                         int n_ranks, int tail) {
  l->B = B;
  l->dim = dim;
  l->max_rows = max_rows;
  l->n_slots = B * M;
  l->max_seq = max_seq;
  l->n_ranks = n_ranks;
  l->tail = tail;
  size_t head = sizeof(struct mdi_msg_header) + (size_t)B * sizeof(struct mdi_wire_span);
  l->loads_offset = (head + 7) / 8 * 8;
  head = l->loads_offset + (size_t)n_ranks * sizeof(struct mdi_wire_load);
  l->rows_offset = (head + 63) / 64 * 64;
  l->max_bytes = mdi_msg_bytes(l, max_rows);
  const size_t back = mdi_msg_bytes(l, B) + (size_t)B * (size_t)tail * sizeof(float); /* compact, with the tail */
  if (back > l->max_bytes) l->max_bytes = back;
}

/* The tail section's bytes as the header and span flags say. */
static size_t tail_bytes(const struct mdi_msg_layout *l, void *buf) {
  const struct mdi_msg_header *h = mdi_msg_header(buf);
  if (!h->tail) return 0;
  const struct mdi_wire_span *w = mdi_msg_spans(buf);
  size_t bytes = 0;
  for (int i = 0; i < h->n_spans; i++) bytes += mdi_msg_tail_entry_bytes(l, &w[i]);
  return bytes;
}

size_t mdi_msg_bytes(const struct mdi_msg_layout *l, int rows) {
  return l->rows_offset + (size_t)rows * (size_t)l->dim * sizeof(float);
}

size_t mdi_msg_pack(const struct mdi_msg_layout *l, void *buf, int kind, int mb,
                    const struct mdi_span *spans, int n_spans, int rows, int compact) {
  MDI_ASSERT(n_spans <= l->B && rows <= l->max_rows);
  struct mdi_msg_header *h = mdi_msg_header(buf);
  *h = (struct mdi_msg_header){MDI_MSG_MAGIC, (uint32_t)kind, mb, n_spans, rows, compact, 0};
  struct mdi_wire_span *w = mdi_msg_spans(buf);
  for (int i = 0; i < n_spans; i++)
    w[i] = (struct mdi_wire_span){spans[i].slot, spans[i].pos, spans[i].n_tokens,
                                  spans[i].pos == 0 ? MDI_SPAN_NEW : 0};
  memset(mdi_msg_loads(l, buf), 0, (size_t)l->n_ranks * sizeof(struct mdi_wire_load));
  return mdi_msg_bytes(l, rows);
}

int mdi_msg_check(const struct mdi_msg_layout *l, void *buf, size_t bytes, struct mdi_span *spans) {
  if (bytes < sizeof(struct mdi_msg_header)) return mdi_fail("message of %zu bytes is too short", bytes);
  const struct mdi_msg_header *h = mdi_msg_header(buf);
  if (h->magic != MDI_MSG_MAGIC) return mdi_fail("message has a bad magic number 0x%08x", h->magic);
  if (h->kind == MDI_MSG_STOP) return MDI_OK;
  if (h->kind == MDI_MSG_PING) {
    if (bytes != mdi_msg_bytes(l, 0)) return mdi_fail("ping message of %zu bytes, expected %zu", bytes, mdi_msg_bytes(l, 0));
    return MDI_OK;
  }
  if (h->kind != MDI_MSG_DATA) return mdi_fail("message of unknown kind %u", h->kind);
  if (h->n_spans < 1 || h->n_spans > l->B || h->rows < 1 || h->rows > l->max_rows)
    return mdi_fail("message with %d spans and %d rows (at most %d and %d)", h->n_spans, h->rows, l->B,
                    l->max_rows);
  if (h->tail && (h->tail != l->tail || !h->compact))
    return mdi_fail("message with a tail of %d logits (expected %d, on a compact message)", h->tail, l->tail);
  if (bytes != mdi_msg_bytes(l, h->rows) + tail_bytes(l, buf))
    return mdi_fail("message of %zu bytes, expected %zu for %d rows", bytes,
                    mdi_msg_bytes(l, h->rows) + tail_bytes(l, buf), h->rows);
  const struct mdi_wire_span *w = mdi_msg_spans(buf);
  int total = 0;
  for (int i = 0; i < h->n_spans; i++) {
    if (w[i].slot < 0 || w[i].slot >= l->n_slots || w[i].n_tokens < 1 || w[i].pos < 0 ||
        w[i].pos + w[i].n_tokens > l->max_seq)
      return mdi_fail("message span %d is invalid (slot %d, pos %d, %d tokens)", i, w[i].slot, w[i].pos,
                      w[i].n_tokens);
    total += w[i].n_tokens;
    if (spans) spans[i] = (struct mdi_span){w[i].slot, w[i].pos, w[i].n_tokens};
  }
  if (h->compact ? h->rows != h->n_spans : h->rows != total)
    return mdi_fail("message rows %d do not match its spans", h->rows);
  return MDI_OK;
}

size_t mdi_msg_compact(const struct mdi_msg_layout *l, void *buf) {
  struct mdi_msg_header *h = mdi_msg_header(buf);
  const struct mdi_wire_span *w = mdi_msg_spans(buf);
  float *rows = mdi_msg_rows(l, buf);
  const size_t dim = (size_t)l->dim;
  int end = 0;
  for (int i = 0; i < h->n_spans; i++) {
    end += w[i].n_tokens;
    if (end - 1 != i) memmove(rows + i * dim, rows + (size_t)(end - 1) * dim, dim * sizeof(float));
  }
  h->rows = h->n_spans;
  h->compact = 1;
  return mdi_msg_bytes(l, h->rows);
}

size_t mdi_msg_add_tail(const struct mdi_msg_layout *l, void *buf) {
  struct mdi_msg_header *h = mdi_msg_header(buf);
  MDI_ASSERT(h->compact && l->tail > 0);
  h->tail = l->tail;
  return mdi_msg_bytes(l, h->rows) + tail_bytes(l, buf);
}

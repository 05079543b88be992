/* The forward pass of a block (see model.h) with one team of threads.
 *
 * The ws->n_threads threads start once per pass, not once per matrix: they
 * go through the layers together, each taking its share of every step, and
 * wait for each other (a barrier) only where a step needs what another
 * thread wrote.  A layer, with the data each step reads:
 *
 *   A  attention norm: xb = norm(x)            rows dealt out          | barrier
 *   B  q, k, v = xb . Wq, Wk, Wv (+ biases)    output columns dealt out | barrier
 *   C  q/k norms, RoPE on q and k, k and v into the cache  (row, K/V head) units | barrier (*)
 *   D  attention: att = softmax(q K) V (within the window)  the same units | barrier
 *   E  xb = att . Wo (+ bias); x += xb          output columns; each thread adds its own columns | barrier
 *   F  ffn norm: xb = norm(x)                   rows                     | barrier
 *   G  hb = xb . W1, hb2 = xb . W3; SwiGLU (or GELU) on the thread's own columns | barrier
 *   H  xb = hb . W2 (+ bias); x += xb           output columns           | barrier
 *
 * (*) only when a span has several tokens (a prompt chunk): then a row's
 * attention reads the keys other units stored.  Decoding rows are one token
 * each, a unit's attention reads only what the same unit stored, and C and
 * D run as one step.
 *
 * Every element is computed by exactly one thread with the same arithmetic
 * whatever the team's size, so results do not depend on the thread count.
 * Thread 0 is the thread that called mdi_block_forward (the one MPI may be
 * called from): it alone runs the progress callback between layers. */
#include <omp.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/model.h"
#include "mdi/model/ops.h"

/* What the team shares during one pass. */
struct pass {
  const struct mdi_block *b;
  const struct mdi_hparams *hp;
  struct mdi_kv_cache *kv;
  struct mdi_workspace *ws;
  float *x;            /* [rows][dim] */
  int rows;
  int chunked;         /* some span has several tokens */
  mdi_progress_fn progress;
  void *progress_ctx;
};

/* Rows [*r0, *r1) of thread t of n. */
static void my_rows(int rows, int t, int n, int *r0, int *r1) {
  *r0 = (int)((long)rows * t / n);
  *r1 = (int)((long)rows * (t + 1) / n);
}

static void norm_rows(const struct pass *ps, float *out, const float *w, const float *bias, int t, int n) {
  const int dim = ps->hp->dim;
  int r0, r1;
  my_rows(ps->rows, t, n, &r0, &r1);
  for (int r = r0; r < r1; r++) {
    if (bias)
      mdi_layernorm(out + (size_t)r * dim, ps->x + (size_t)r * dim, w, bias, dim, ps->hp->norm_eps);
    else
      mdi_rmsnorm(out + (size_t)r * dim, ps->x + (size_t)r * dim, w, dim, ps->hp->norm_eps);
  }
}

/* y[rows][w->rows] = x . W^T (+ bias), columns [*c0, *c1) of thread t of n. */
static void linear(const struct pass *ps, float *y, const float *x, const struct mdi_matrix *w, const float *bias,
                   int t, int n, int *c0, int *c1) {
  mdi_matmul_share(y, x, w, ps->rows, t, n);
  mdi_matmul_share_cols(w, t, n, c0, c1);
  if (bias)
    for (int r = 0; r < ps->rows; r++)
      for (int i = *c0; i < *c1; i++) y[(size_t)r * w->rows + i] += bias[i];
}

/* x[:, c0..c1) += y[:, c0..c1) */
static void add_columns(const struct pass *ps, const float *y, int c0, int c1) {
  const size_t dim = (size_t)ps->hp->dim;
  for (int r = 0; r < ps->rows; r++)
    for (int i = c0; i < c1; i++) ps->x[r * dim + i] += y[r * dim + i];
}

/* Step C of unit (row r, K/V head kh): the per-head norms (qk_norm) and
 * RoPE on the query heads that share kh and on key head kh, then key and
 * value head kh into the cache. */
static void rope_store(const struct pass *ps, int layer, int r, int kh) {
  const struct mdi_hparams *hp = ps->hp;
  const struct mdi_workspace *ws = ps->ws;
  const struct mdi_layer *L = &ps->b->layers[layer];
  const int q_dim = mdi_hparams_q_dim(hp), kv_dim = mdi_hparams_kv_dim(hp), hs = mdi_hparams_head_size(hp);
  const int group = hp->n_heads / hp->n_kv_heads, pos = ws->row_pos[r], slot = ws->row_slot[r];
  float *q = ws->q + (size_t)r * q_dim + (size_t)kh * group * hs, *k = ws->k + (size_t)r * kv_dim + (size_t)kh * hs;
  if (L->q_norm) {
    mdi_head_rmsnorm(q, L->q_norm, group, hs, hp->norm_eps);
    mdi_head_rmsnorm(k, L->k_norm, 1, hs, hp->norm_eps);
  }
  if (ps->b->rope_cos) { /* llama; gpt2 has learned positions instead */
    const int rot = mdi_hparams_rope_dim(hp), half = rot / 2;
    const float *c = ps->b->rope_cos + (size_t)pos * half, *sn = ps->b->rope_sin + (size_t)pos * half;
    mdi_rope_apply(q, group * hs, hs, rot, c, sn);
    mdi_rope_apply(k, hs, hs, rot, c, sn);
  }
  const size_t at = ((size_t)kh * ps->kv->max_seq + pos) * hs; /* cache: [kv_head][pos][hs] */
  memcpy(mdi_kv_keys(ps->kv, layer, slot) + at, k, hs * sizeof(float));
  memcpy(mdi_kv_values(ps->kv, layer, slot) + at, ws->v + (size_t)r * kv_dim + (size_t)kh * hs, hs * sizeof(float));
}

/* Steps C and D over the (row, K/V head) units dealt out round-robin (a
 * prompt chunk's rows grow in cost with their position). */
static void attention(const struct pass *ps, int layer, int t, int n) {
  const struct mdi_hparams *hp = ps->hp;
  const struct mdi_workspace *ws = ps->ws;
  const int n_kv = hp->n_kv_heads, units = ps->rows * n_kv, q_dim = mdi_hparams_q_dim(hp);
  const int hs = mdi_hparams_head_size(hp), window = hp->sliding_window;
  float *scratch = ws->scores + (size_t)t * hp->n_heads * ws->max_seq;
  for (int u = t; u < units; u += n) rope_store(ps, layer, u / n_kv, u % n_kv);
  if (ps->chunked) {
#pragma omp barrier
  }
  for (int u = t; u < units; u += n) {
    const int r = u / n_kv, slot = ws->row_slot[r], pos = ws->row_pos[r];
    /* a window starts the cache `first` positions in: the head stride
     * (max_seq * hs) is unchanged, so the kernel sees positions first..pos
     * as 0..pos-first */
    const int first = window > 0 && pos >= window ? pos - window + 1 : 0;
    mdi_attention_kv_head(ws->att + (size_t)r * q_dim, ws->q + (size_t)r * q_dim,
                          mdi_kv_keys(ps->kv, layer, slot) + (size_t)first * hs,
                          mdi_kv_values(ps->kv, layer, slot) + (size_t)first * hs, pos - first, ps->kv->max_seq,
                          hp->n_heads, n_kv, hs, u % n_kv, scratch);
  }
}

/* Do W1 and W3 deal out the same columns to every thread?  (Not when they
 * have types of different granules.) */
static int same_shares(const struct mdi_matrix *a, const struct mdi_matrix *b, int n) {
  for (int t = 0; t < n; t++) {
    int a0, a1, b0, b1;
    mdi_matmul_share_cols(a, t, n, &a0, &a1);
    mdi_matmul_share_cols(b, t, n, &b0, &b1);
    if (a0 != b0 || a1 != b1) return 0;
  }
  return 1;
}

/* The feed-forward network's first half (step G). */
static void ffn_up(const struct pass *ps, const struct mdi_layer *L, int t, int n) {
  const struct mdi_workspace *ws = ps->ws;
  const int hid = ps->hp->hidden_dim;
  int c0, c1;
  linear(ps, ws->hb, ws->xb, &L->w1, L->b1, t, n, &c0, &c1);
  if (mdi_hparams_is_gpt2(ps->hp)) {
    for (int r = 0; r < ps->rows; r++) mdi_gelu(ws->hb + (size_t)r * hid + c0, c1 - c0);
    return;
  }
  linear(ps, ws->hb2, ws->xb, &L->w3, L->b3, t, n, &c0, &c1);
  if (!same_shares(&L->w1, &L->w3, n)) { /* (every thread takes this branch or none) */
#pragma omp barrier
    my_rows(ps->rows, t, n, &c0, &c1);
    mdi_swiglu(ws->hb + (size_t)c0 * hid, ws->hb2 + (size_t)c0 * hid, (c1 - c0) * hid);
    return;
  }
  for (int r = 0; r < ps->rows; r++) mdi_swiglu(ws->hb + (size_t)r * hid + c0, ws->hb2 + (size_t)r * hid + c0, c1 - c0);
}

/* Thread t of n through every layer of the block. */
static void run_pass(const struct pass *ps, int t, int n) {
  const struct mdi_block *b = ps->b;
  const struct mdi_workspace *ws = ps->ws;
  int c0, c1;
  for (int l = 0; l < b->last - b->first; l++) {
    const struct mdi_layer *L = &b->layers[l];
    norm_rows(ps, ws->xb, L->attn_norm, L->attn_norm_bias, t, n);
#pragma omp barrier
    linear(ps, ws->q, ws->xb, &L->wq, L->bq, t, n, &c0, &c1);
    linear(ps, ws->k, ws->xb, &L->wk, L->bk, t, n, &c0, &c1);
    linear(ps, ws->v, ws->xb, &L->wv, L->bv, t, n, &c0, &c1);
#pragma omp barrier
    attention(ps, l, t, n);
#pragma omp barrier
    linear(ps, ws->xb, ws->att, &L->wo, L->bo, t, n, &c0, &c1);
    add_columns(ps, ws->xb, c0, c1);
#pragma omp barrier
    norm_rows(ps, ws->xb, L->ffn_norm, L->ffn_norm_bias, t, n);
#pragma omp barrier
    ffn_up(ps, L, t, n);
#pragma omp barrier
    linear(ps, ws->xb, ws->hb, &L->w2, L->b2, t, n, &c0, &c1);
    add_columns(ps, ws->xb, c0, c1);
#pragma omp barrier
    if (t == 0 && ps->progress) ps->progress(ps->progress_ctx);
  }
}

void mdi_block_forward(const struct mdi_block *b, struct mdi_kv_cache *kv, struct mdi_workspace *ws,
                       const struct mdi_span *spans, int n_spans, float *x, int rows,
                       mdi_progress_fn progress, void *progress_ctx) {
  MDI_ASSERT(rows <= ws->max_rows);
  struct pass ps = {b, &b->hp, kv, ws, x, rows, 0, progress, progress_ctx};
  int r = 0;
  for (int s = 0; s < n_spans; s++) {
    ps.chunked |= spans[s].n_tokens > 1;
    for (int i = 0; i < spans[s].n_tokens; i++, r++) {
      ws->row_slot[r] = spans[s].slot;
      ws->row_pos[r] = spans[s].pos + i;
    }
  }
  MDI_ASSERT(r == rows);
  if (ws->n_threads <= 1) {
    run_pass(&ps, 0, 1);
    return;
  }
#pragma omp parallel num_threads(ws->n_threads)
  run_pass(&ps, omp_get_thread_num(), omp_get_num_threads());
}

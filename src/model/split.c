/* Layer split planning (see split.h). */
#include "mdi/model/split.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/matmul.h"

static int parse_counts(const char *spec, int n_ranks, int n_layers, int *counts) {
  const char *p = spec;
  int n = 0, sum = 0, entries = 1;
  for (const char *c = spec; *c; c++) entries += *c == ',';
  if (entries != n_ranks)
    return mdi_fail("--split %s: %d count%s for %d rank%s (give one count per rank)", spec, entries,
                    entries == 1 ? "" : "s", n_ranks, n_ranks == 1 ? "" : "s");
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 0 || v > n_layers)
      return mdi_fail("--split %s: \"%.*s\" is not a layer count in [0, %d]", spec,
                      (int)strcspn(p, ","), p, n_layers);
    counts[n++] = (int)v;
    sum += (int)v;
    if (*end == ',' && end[1] == '\0') return mdi_fail("--split %s: a count is missing after the last comma", spec);
    if (*end == ',') end++;
    else if (*end) return mdi_fail("--split %s: unexpected \"%s\"", spec, end);
    p = end;
  }
  MDI_ASSERT(n == n_ranks);
  if (sum != n_layers)
    return mdi_fail("--split %s: the counts add up to %d but the model has %d layers", spec, sum, n_layers);
  for (int r = 1; r < n_ranks; r++)
    if (counts[r] == 0)
      return mdi_fail("--split %s: rank %d has no layers (only rank 0 may own none)", spec, r);
  return MDI_OK;
}

/* Stage ranks share `layers` evenly; the first ones take the remainder. */
static void spread(int *counts, int n_ranks, int layers) {
  const int stages = n_ranks - 1;
  for (int r = 1; r < n_ranks; r++) counts[r] = layers / stages + (r - 1 < layers % stages);
}

int mdi_split_plan(const struct mdi_hparams *hp, int n_ranks, const char *spec, int rank0_layers,
                   int *counts) {
  return mdi_split_plan_bytes(hp, 4.0 * (double)mdi_hparams_layer_params(hp),
                              4.0 * (double)mdi_hparams_classifier_params(hp), n_ranks, spec, rank0_layers, counts);
}

int mdi_split_plan_bytes(const struct mdi_hparams *hp, double layer, double head, int n_ranks, const char *spec,
                         int rank0_layers, int *counts) {
  return mdi_split_plan_tail(hp, layer, head, n_ranks, spec, rank0_layers, 0, counts, NULL);
}

int mdi_split_tail_rows(int vocab, int want) {
  if (want <= 0) return 0;
  if (want >= vocab) return vocab;
  const int row0 = (vocab - want) / MDI_PANEL * MDI_PANEL; /* rounded down: at least `want` rows */
  return vocab - row0;
}

/* The tails on either side of a wish of `rows` rows: whole panels, at
 * least (*more) and fewer (*fewer) than the wish. */
static void tail_candidates(int vocab, double rows, int *fewer, int *more) {
  rows = rows < 0 ? 0 : rows > vocab ? vocab : rows;
  const int row0 = (int)((vocab - rows) / MDI_PANEL) * MDI_PANEL;
  *more = vocab - row0;
  *fewer = row0 + MDI_PANEL >= vocab ? 0 : vocab - row0 - MDI_PANEL;
}

/* The slowest of rank 0 (k0 layers, the classifier but its tail), the last
 * rank (its layers and the tail) and the ranks between. */
static double plan_cost(const int *counts, int n_ranks, double layer, double head, int vocab, int tail) {
  const double share = head * tail / vocab;
  double worst = counts[0] * layer + head - share;
  for (int r = 1; r < n_ranks; r++) {
    const double c = counts[r] * layer + (r == n_ranks - 1 ? share : 0.0);
    if (c > worst) worst = c;
  }
  return worst;
}

/* For fixed layer counts: the tail that balances rank 0 against the last
 * rank best (whole panels), or the wish when want >= 0. */
static int best_tail(const int *counts, int n_ranks, double layer, double head, int vocab, int want) {
  if (n_ranks < 2 || head <= 0) return 0;
  if (want >= 0) return mdi_split_tail_rows(vocab, want);
  const double r0 = counts[0] * layer + head, last = counts[n_ranks - 1] * layer;
  int fewer, more;
  tail_candidates(vocab, (r0 - last) / 2.0 / head * vocab, &fewer, &more);
  return plan_cost(counts, n_ranks, layer, head, vocab, more) < plan_cost(counts, n_ranks, layer, head, vocab, fewer)
             ? more
             : fewer;
}

int mdi_split_plan_tail(const struct mdi_hparams *hp, double layer, double head, int n_ranks, const char *spec,
                        int rank0_layers, int tail_want, int *counts, int *tail) {
  const int L = hp->n_layers, V = hp->vocab_size;
  if (n_ranks < 1) return mdi_fail("no ranks");
  if (n_ranks - 1 > L)
    return mdi_fail("%d ranks need at least %d layers (one per rank after rank 0) but the model has %d; "
                    "run with at most %d ranks", n_ranks, n_ranks - 1, L, L + 1);
  if (tail && tail_want > 0 && n_ranks == 1)
    return mdi_fail("--classifier-tail %d: with one rank, rank 0 computes every logit", tail_want);
  if (!tail) tail_want = 0;
  if (strcmp(spec, "auto") != 0) {
    if (parse_counts(spec, n_ranks, L, counts) != MDI_OK) return MDI_ERR;
    if (rank0_layers >= 0 && rank0_layers != counts[0])
      return mdi_fail("--rank0-layers %d contradicts --split %s (which gives rank 0 %d layers)", rank0_layers,
                      spec, counts[0]);
    if (tail) *tail = best_tail(counts, n_ranks, layer, head, V, tail_want);
    return MDI_OK;
  }
  if (n_ranks == 1) {
    if (rank0_layers >= 0 && rank0_layers != L)
      return mdi_fail("--rank0-layers %d: a single rank must own all %d layers", rank0_layers, L);
    counts[0] = L;
    if (tail) *tail = 0;
    return MDI_OK;
  }
  if (rank0_layers > L - (n_ranks - 1))
    return mdi_fail("--rank0-layers %d leaves fewer than one layer for each of the %d other ranks "
                    "(the model has %d layers)", rank0_layers, n_ranks - 1, L);
  /* cost = weights read per token: a layer's bytes; rank 0 adds the
   * classifier, less the tail the last rank takes */
  int best = -1, best_tail_rows = 0;
  double best_cost = 0;
  for (int k0 = 0; k0 <= L - (n_ranks - 1); k0++) {
    if (rank0_layers >= 0 && k0 != rank0_layers) continue;
    spread(counts, n_ranks, L - k0);
    counts[0] = k0;
    const int t = best_tail(counts, n_ranks, layer, head, V, tail_want);
    const double worst = plan_cost(counts, n_ranks, layer, head, V, t);
    /* plans within one panel's cost of each other are as good: the smaller
     * tail wins (fewer logits travel back to rank 0) */
    const double panel = head * MDI_PANEL / V;
    if (best < 0 || worst < best_cost - panel || (worst <= best_cost + panel && t < best_tail_rows)) {
      best = k0;
      best_cost = worst;
      best_tail_rows = t;
    }
  }
  counts[0] = best;
  spread(counts, n_ranks, L - best);
  if (tail) *tail = best_tail_rows;
  return MDI_OK;
}

/* The contiguous split minimising the slowest rank for fixed extra times of
 * rank 0 (head0) and of the last rank (head_last); its time, or >= INF when
 * nothing fits.  counts may be NULL (only the time). */
static double plan_weighted(int L, int N, const double *layer_s, double head0, double head_last,
                            const int *max_layers, int rank0_layers, double *best, int *choice, int *counts) {
  const double INF = 1e300;
  /* best[r][l]: the slowest rank's time when ranks 0..r hold the first l layers;
   * choice[r][l]: how many of them rank r holds */
  for (int r = 0; r < N; r++)
    for (int l = 0; l <= L; l++) {
      double b = INF;
      int bc = -1;
      const int lo = r == 0 ? 0 : 1, hi = max_layers && max_layers[r] >= 0 && max_layers[r] < l ? max_layers[r] : l;
      for (int c = lo; c <= hi; c++) {
        if (r == 0 && (c != l || (rank0_layers >= 0 && c != rank0_layers))) continue;
        const double prev = r == 0 ? 0.0 : best[(size_t)(r - 1) * (L + 1) + (l - c)];
        double t = c * layer_s[r] + (r == 0 ? head0 : 0.0) + (r == N - 1 && r > 0 ? head_last : 0.0);
        t = t > prev ? t : prev;
        if (t < b) { /* ties keep the smaller share for this rank */
          b = t;
          bc = c;
        }
      }
      best[(size_t)r * (L + 1) + l] = b;
      choice[(size_t)r * (L + 1) + l] = bc;
    }
  const double t = best[(size_t)(N - 1) * (L + 1) + L];
  if (counts && t < INF)
    for (int r = N - 1, l = L; r >= 0; r--) {
      counts[r] = choice[(size_t)r * (L + 1) + l];
      l -= counts[r];
    }
  return t;
}

int mdi_split_plan_weighted(int n_layers, int n_ranks, const double *layer_s, double head_s,
                            const int *max_layers, int rank0_layers, int *counts) {
  return mdi_split_plan_weighted_tail(n_layers, n_ranks, layer_s, head_s, max_layers, rank0_layers, 0, 0, counts,
                                      NULL);
}

int mdi_split_plan_weighted_tail(int n_layers, int n_ranks, const double *layer_s, double head_s,
                                 const int *max_layers, int rank0_layers, int vocab, int tail_want, int *counts,
                                 int *tail) {
  const int L = n_layers, N = n_ranks;
  if (N - 1 > L) return mdi_fail("%d ranks need at least %d layers but the model has %d", N, N - 1, L);
  double *best = mdi_xmalloc((size_t)N * (L + 1) * sizeof(double), "split planner");
  int *choice = mdi_xmalloc((size_t)N * (L + 1) * sizeof(int), "split planner");
  /* the last rank runs the tail at its own speed: rank 0's classifier time
   * scaled by their speeds per layer */
  const double head_last = N > 1 ? head_s * layer_s[N - 1] / layer_s[0] : 0.0;
  int t_best = 0;
  if (tail && N > 1 && vocab > 0 && head_s > 0) {
    if (tail_want >= 0) {
      t_best = mdi_split_tail_rows(vocab, tail_want);
    } else {
      /* 65 tails from none to all, then every whole panel around the best */
      double c_best = 1e301;
      int step_best = 0;
      for (int k = 0; k <= 64; k++) {
        const int t = mdi_split_tail_rows(vocab, (int)((double)vocab * k / 64));
        const double c = plan_weighted(L, N, layer_s, head_s * (vocab - t) / vocab, head_last * t / vocab,
                                       max_layers, rank0_layers, best, choice, NULL);
        if (c < c_best) c_best = c, step_best = k, t_best = t;
      }
      const int lo = mdi_split_tail_rows(vocab, (int)((double)vocab * (step_best - 1) / 64));
      const int hi = mdi_split_tail_rows(vocab, (int)((double)vocab * (step_best + 1) / 64));
      for (int t = lo; t <= hi; t += MDI_PANEL) {
        const int tt = mdi_split_tail_rows(vocab, t);
        const double c = plan_weighted(L, N, layer_s, head_s * (vocab - tt) / vocab, head_last * tt / vocab,
                                       max_layers, rank0_layers, best, choice, NULL);
        if (c < c_best) c_best = c, t_best = tt;
      }
    }
  }
  const double share = vocab > 0 ? (double)t_best / vocab : 0.0;
  int rc = MDI_OK;
  if (plan_weighted(L, N, layer_s, head_s * (1.0 - share), head_last * share, max_layers, rank0_layers, best,
                    choice, counts) >= 1e300)
    rc = mdi_fail("the %d layers do not fit in the ranks' memory%s", L,
                  rank0_layers >= 0 ? " with this --rank0-layers" : "");
  if (tail) *tail = t_best;
  free(best);
  free(choice);
  return rc;
}

void mdi_split_format(const int *counts, int n_ranks, char *buf, int size) {
  int used = 0;
  buf[0] = '\0';
  for (int r = 0; r < n_ranks && used < size; r++)
    used += snprintf(buf + used, (size_t)(size - used), "%s%d", r ? "," : "", counts[r]);
}

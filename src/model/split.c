/* Layer split planning (see split.h). */
#include "mdi/model/split.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

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
  const int L = hp->n_layers;
  if (n_ranks < 1) return mdi_fail("no ranks");
  if (n_ranks - 1 > L)
    return mdi_fail("%d ranks need at least %d layers (one per rank after rank 0) but the model has %d; "
                    "run with at most %d ranks", n_ranks, n_ranks - 1, L, L + 1);
  if (strcmp(spec, "auto") != 0) {
    if (parse_counts(spec, n_ranks, L, counts) != MDI_OK) return MDI_ERR;
    if (rank0_layers >= 0 && rank0_layers != counts[0])
      return mdi_fail("--rank0-layers %d contradicts --split %s (which gives rank 0 %d layers)", rank0_layers,
                      spec, counts[0]);
    return MDI_OK;
  }
  if (n_ranks == 1) {
    if (rank0_layers >= 0 && rank0_layers != L)
      return mdi_fail("--rank0-layers %d: a single rank must own all %d layers", rank0_layers, L);
    counts[0] = L;
    return MDI_OK;
  }
  if (rank0_layers > L - (n_ranks - 1))
    return mdi_fail("--rank0-layers %d leaves fewer than one layer for each of the %d other ranks "
                    "(the model has %d layers)", rank0_layers, n_ranks - 1, L);
  /* cost = weights read per token: a layer's bytes; rank 0 adds the classifier */
  int best = -1;
  double best_cost = 0;
  for (int k0 = 0; k0 <= L - (n_ranks - 1); k0++) {
    if (rank0_layers >= 0 && k0 != rank0_layers) continue;
    spread(counts, n_ranks, L - k0);
    double worst = head + k0 * layer;
    for (int r = 1; r < n_ranks; r++)
      if (counts[r] * layer > worst) worst = counts[r] * layer;
    if (best < 0 || worst < best_cost) {
      best = k0;
      best_cost = worst;
    }
  }
  counts[0] = best;
  spread(counts, n_ranks, L - best);
  return MDI_OK;
}

int mdi_split_plan_weighted(int n_layers, int n_ranks, const double *layer_s, double head_s,
                            const int *max_layers, int rank0_layers, int *counts) {
  const int L = n_layers, N = n_ranks;
  if (N - 1 > L) return mdi_fail("%d ranks need at least %d layers but the model has %d", N, N - 1, L);
  /* best[r][l]: the slowest rank's time when ranks 0..r hold the first l layers;
   * choice[r][l]: how many of them rank r holds */
  double *best = mdi_xmalloc((size_t)N * (L + 1) * sizeof(double), "split planner");
  int *choice = mdi_xmalloc((size_t)N * (L + 1) * sizeof(int), "split planner");
  const double INF = 1e300;
  for (int r = 0; r < N; r++)
    for (int l = 0; l <= L; l++) {
      double b = INF;
      int bc = -1;
      const int lo = r == 0 ? 0 : 1, hi = max_layers && max_layers[r] >= 0 && max_layers[r] < l ? max_layers[r] : l;
      for (int c = lo; c <= hi; c++) {
        if (r == 0 && (c != l || (rank0_layers >= 0 && c != rank0_layers))) continue;
        const double prev = r == 0 ? 0.0 : best[(size_t)(r - 1) * (L + 1) + (l - c)];
        double t = c * layer_s[r] + (r == 0 ? head_s : 0.0);
        t = t > prev ? t : prev;
        if (t < b) { /* ties keep the smaller share for this rank */
          b = t;
          bc = c;
        }
      }
      best[(size_t)r * (L + 1) + l] = b;
      choice[(size_t)r * (L + 1) + l] = bc;
    }
  int rc = MDI_OK;
  if (best[(size_t)(N - 1) * (L + 1) + L] >= INF) {
    rc = mdi_fail("the %d layers do not fit in the ranks' memory%s", L,
                  rank0_layers >= 0 ? " with this --rank0-layers" : "");
  } else {
    for (int r = N - 1, l = L; r >= 0; r--) {
      counts[r] = choice[(size_t)r * (L + 1) + l];
      l -= counts[r];
    }
  }
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

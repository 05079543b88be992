/* Token sampler (include/mdi/sampler.h).
 *
 * With top_k = 0 every step is run.c's sample(): greedy argmax at
 * temperature 0, otherwise logits / temperature, softmax, one coin from the
 * xorshift generator, then sample_topp (0 < top_p < 1) or sample_mult.  The
 * float operations are done in the same order so the same seed gives the
 * same tokens as `run.c -s seed`.
 */
#include "mdi/model/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/model/ops.h"
#include "simd.h"

void mdi_sampler_init(struct mdi_sampler *s, const struct mdi_sampler_params *p, uint64_t seed) {
  s->params = *p;
  s->rng_state = seed; /* run.c uses the seed itself as the first state */
}

/* xorshift* (Marsaglia / Vigna): 64-bit state, upper 32 bits of the product. */
uint32_t mdi_rng_u32(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* 24 random bits scaled to [0, 1): every value is exact in float. */
float mdi_rng_f32(uint64_t *state) { return (float)(mdi_rng_u32(state) >> 8) / 16777216.0f; }

static int argmax_scalar(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

/* The first index of the largest value: the maximum in vectors, then the
 * first element equal to it (the same index as the scalar scan when no
 * value is NaN; with a NaN the scalar scan decides). */
int mdi_argmax(const float *x, int n) {
  if (n < 64) return argmax_scalar(x, n);
  v8f m = load8(x);
  v8i nan = m != m;
  int i = 8;
  for (; i + 8 <= n; i += 8) {
    const v8f v = load8(x + i);
    nan |= v != v;
    m = max8(m, v);
  }
  float max = m[0];
  int any_nan = 0;
  for (int l = 0; l < 8; l++) any_nan |= nan[l], max = m[l] > max ? m[l] : max;
  for (; i < n; i++) any_nan |= x[i] != x[i], max = x[i] > max ? x[i] : max;
  if (any_nan) return argmax_scalar(x, n);
  for (i = 0; x[i] != max; i++) {
  }
  return i;
}

int mdi_argmax_above(const float *x, int n) {
  int best = -1;
  float value = -INFINITY;
  for (int i = 0; i < n; i++)
    if (x[i] > value) best = i, value = x[i];
  return best;
}

int mdi_sampler_is_greedy(const struct mdi_sampler *s) { return !(s->params.temperature > 0.0f); }

/* Inverse CDF over probs[n] in index order.  When rounding leaves coin
 * above the total, run.c returns n - 1; `fallback` is that index. */
static int sample_mult(const float *probs, int n, float coin, int fallback) {
  float cdf = 0.0f;
  for (int i = 0; i < n; i++) {
    cdf += probs[i];
    if (coin < cdf) return i;
  }
  return fallback;
}

/* a ranks before b: larger value, then lower index (a strict total order,
 * so top_k = 1 picks what mdi_argmax picks, and a sort by it puts equal
 * probabilities in index order as run.c's qsort does). */
static int ranks_before(const struct mdi_prob_index *a, const struct mdi_prob_index *b) {
  return a->prob > b->prob || (a->prob == b->prob && a->index < b->index);
}

static int by_rank(const void *a, const void *b) { return ranks_before(a, b) ? -1 : ranks_before(b, a) ? 1 : 0; }

static void swap_entries(struct mdi_prob_index *a, struct mdi_prob_index *b) {
  struct mdi_prob_index tmp = *a;
  *a = *b;
  *b = tmp;
}

/* Quickselect: afterwards x[0..k) are the k top-ranked of x[0..n), in no
 * particular order.  Expected O(n), unlike sorting the whole vocabulary. */
static void select_top(struct mdi_prob_index *x, int n, int k) {
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    swap_entries(&x[lo + (hi - lo) / 2], &x[hi]);
    int store = lo;
    for (int i = lo; i < hi; i++)
      if (ranks_before(&x[i], &x[hi])) swap_entries(&x[i], &x[store++]);
    swap_entries(&x[store], &x[hi]); /* pivot now at its rank `store` */
    if (store == k - 1) return;
    if (store < k - 1)
      lo = store + 1;
    else
      hi = store - 1;
  }
}

/* Nucleus sampling as run.c's sample_topp: candidates below
 * (1 - topp) / (n - 1) cannot be in the nucleus and are not sorted; the
 * sorted list is cut after the entry where the running sum passes topp, and
 * coin is scaled by that sum.  run.c sorts every candidate (glibc's qsort
 * keeps ties in index order); here only the top k are selected and sorted,
 * k growing until the running sum passes topp: the same prefix in the same
 * order (ranks_before is that order), so the same sums and token, without
 * sorting a flat distribution's whole vocabulary.  scratch holds n entries. */
static int sample_topp(const float *probs, int n, float topp, struct mdi_prob_index *scratch,
                       float coin) {
  const float cutoff = (1.0f - topp) / (float)(n - 1);
  int n0 = 0;
  for (int i = 0; i < n; i++) {
    if (probs[i] >= cutoff) {
      scratch[n0].index = i;
      scratch[n0].prob = probs[i];
      n0++;
    }
  }
  /* only when topp < 1/n and probs are near uniform (run.c reads
   * scratch[-1] there) */
  if (n0 == 0) return mdi_argmax(probs, n);
  /* no entry is above the largest probability: the nucleus has at least
   * topp / max of them (a flat distribution's nearly all: sort them all) */
  float max = 0.0f;
  for (int i = 0; i < n0; i++) max = scratch[i].prob > max ? scratch[i].prob : max;
  const double least = max > 0.0f ? (double)topp / max : n0;
  int k = least > n0 / 2 ? n0 : least > 256 ? (int)least + 1 : 256 < n0 ? 256 : n0;
  float cumulative = 0.0f;
  int last = -1;
  for (;; k = 4 * k < n0 ? 4 * k : n0) {
    if (k < n0) select_top(scratch, n0, k);
    qsort(scratch, (size_t)k, sizeof *scratch, by_rank);
    cumulative = 0.0f;
    for (int i = 0; i < k && last < 0; i++) {
      cumulative += scratch[i].prob;
      if (cumulative > topp) last = i;
    }
    if (last >= 0 || k == n0) break;
  }
  if (last < 0) last = n0 - 1;
  float r = coin * cumulative;
  float cdf = 0.0f;
  for (int i = 0; i <= last; i++) {
    cdf += scratch[i].prob;
    if (r < cdf) return scratch[i].index;
  }
  return scratch[last].index;
}

/* Set every logit outside the k largest to -inf, so that the softmax gives
 * them probability 0 and renormalises the rest.  Selecting on the logits
 * (before temperature and exp can round distinct values together) keeps
 * top_k = 1 identical to argmax.  Returns the highest kept index, the
 * sampler's fallback when rounding leaves the coin above the total. */
static int mask_top_k(float *logits, int n, int k, struct mdi_prob_index *scratch) {
  for (int i = 0; i < n; i++) {
    scratch[i].prob = logits[i]; /* the field holds a logit here */
    scratch[i].index = i;
  }
  select_top(scratch, n, k);
  int last = 0;
  for (int i = 0; i < k; i++)
    if (scratch[i].index > last) last = scratch[i].index;
  for (int i = k; i < n; i++) logits[scratch[i].index] = -INFINITY;
  return last;
}

int mdi_sampler_sample(struct mdi_sampler *s, float *logits, int vocab,
                       struct mdi_prob_index *scratch) {
  const struct mdi_sampler_params *p = &s->params;
  MDI_ASSERT(vocab >= 1);
  /* run.c clamps negative temperatures to 0; NaN is treated the same */
  if (mdi_sampler_is_greedy(s)) return mdi_argmax(logits, vocab);
  int fallback = vocab - 1;
  if (p->top_k > 0 && p->top_k < vocab) fallback = mask_top_k(logits, vocab, p->top_k, scratch);
  for (int i = 0; i < vocab; i++) logits[i] /= p->temperature;
  mdi_softmax(logits, vocab);
  float coin = mdi_rng_f32(&s->rng_state);
  if (p->top_p <= 0.0f || p->top_p >= 1.0f) return sample_mult(logits, vocab, coin, fallback);
  return sample_topp(logits, vocab, p->top_p, scratch, coin);
}

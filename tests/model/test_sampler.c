/* Sampler tests: the xorshift generator against values computed outside C
 * and against a separate port of its formula, greedy ties, temperature,
 * top-k, top-p on constructed distributions, and run.c's one coin per
 * sampled token. */
#include <stdint.h>

#include "mdi/model/ops.h"
#include "mdi/model/sampler.h"
#include "mdi_test.h"

/* xorshift* written out step by step from its definition (Vigna 2016):
 * x ^= x >> 12; x ^= x << 25; x ^= x >> 27; output (x * M) >> 32. */
static uint32_t ref_u32(uint64_t *state) {
  uint64_t x = *state;
  uint64_t a = x >> 12;
  x = x ^ a;
  uint64_t b = x << 25; /* uint64_t arithmetic wraps mod 2^64 */
  x = x ^ b;
  uint64_t c = x >> 27;
  x = x ^ c;
  *state = x;
  uint64_t product = x * UINT64_C(0x2545F4914F6CDD1D);
  return (uint32_t)(product >> 32);
}

/* top 24 bits of the output over 2^24: a float in [0, 1) */
static float ref_f32(uint64_t *state) {
  uint32_t u = ref_u32(state);
  return (float)(u / 256u) * (1.0f / 16777216.0f);
}

/* Small LCG for test logits (independent of the generator under test). */
static uint64_t lcg_state = 20240611;
static float lcg_uniform(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)(lcg_state >> 40) / 16777216.0f;
}

static void test_rng(void) {
  /* seed 133742 (the reference sampling run); values from an independent
   * arbitrary-precision computation */
  const uint32_t want_u32[5] = {3033531262u, 2674377904u, 2312864567u, 2287415643u, 1408443089u};
  const uint64_t want_state1 = UINT64_C(0x4149c0288dd);
  const double want_f32[5] = {0.7062990069389343, 0.6226770877838135, 0.5385057330131531,
                              0.5325804352760315, 0.32792866230010986};
  uint64_t s = 133742, f = 133742;
  for (int i = 0; i < 5; i++) {
    CHECK_EQ_INT(mdi_rng_u32(&s), want_u32[i]);
    if (i == 0) CHECK(s == want_state1);
    CHECK(mdi_rng_f32(&f) == (float)want_f32[i]);
  }
  const uint64_t seeds[] = {1, 42, 133742, 0xDEADBEEFull, UINT64_MAX};
  for (size_t k = 0; k < sizeof seeds / sizeof *seeds; k++) {
    uint64_t a = seeds[k], b = seeds[k];
    int same = 1, in_range = 1;
    for (int i = 0; i < 1000; i++) {
      same &= mdi_rng_u32(&a) == ref_u32(&b);
      float x = mdi_rng_f32(&a), y = ref_f32(&b);
      same &= x == y;
      in_range &= x >= 0.0f && x < 1.0f;
    }
    CHECK(same && a == b);
    CHECK(in_range);
  }
}

static void test_greedy(void) {
  const float tie[4] = {1, 3, 3, 2};
  CHECK_EQ_INT(mdi_argmax(tie, 4), 1);
  const float flat[3] = {0.5f, 0.5f, 0.5f};
  CHECK_EQ_INT(mdi_argmax(flat, 3), 0);
  const float neg[3] = {-INFINITY, -7, -7.5f};
  CHECK_EQ_INT(mdi_argmax(neg, 3), 1);
  CHECK_EQ_INT(mdi_argmax(tie, 1), 0);

  /* temperature 0: argmax, logits untouched, no coin drawn */
  struct mdi_sampler s;
  struct mdi_sampler_params p = {0.0f, 0.9f, 0};
  struct mdi_prob_index scratch[4];
  mdi_sampler_init(&s, &p, 77);
  float logits[4] = {1, 3, 3, 2};
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(mdi_sampler_sample(&s, logits, 4, scratch), 1);
  CHECK(s.rng_state == 77);
  CHECK(logits[1] == 3.0f && logits[3] == 2.0f);
  p.temperature = -1.0f; /* negative acts as 0, as run.c clamps it */
  mdi_sampler_init(&s, &p, 77);
  CHECK_EQ_INT(mdi_sampler_sample(&s, logits, 4, scratch), 1);
  CHECK(s.rng_state == 77);
}

/* After sampling, logits holds softmax(logits / T). */
static void test_temperature(void) {
  const float base[4] = {1, 2, 3, 0};
  const float temps[3] = {2.0f, 0.5f, 1.0f};
  struct mdi_prob_index scratch[4];
  for (int k = 0; k < 3; k++) {
    struct mdi_sampler s;
    struct mdi_sampler_params p = {temps[k], 0.0f, 0};
    mdi_sampler_init(&s, &p, 5);
    float x[4];
    memcpy(x, base, sizeof x);
    mdi_sampler_sample(&s, x, 4, scratch);
    double z = 0, sum = 0;
    for (int i = 0; i < 4; i++) z += exp(base[i] / temps[k]);
    for (int i = 0; i < 4; i++) {
      CHECK_NEAR(x[i], exp(base[i] / temps[k]) / z, 1e-6);
      sum += x[i];
    }
    CHECK_NEAR(sum, 1.0, 1e-6);
  }
}

static void log_probs(float *logits, const double *p, int n) {
  for (int i = 0; i < n; i++) logits[i] = (float)log(p[i]);
}

/* top_p outside (0, 1): inverse CDF in index order with the coin. */
static void test_multinomial(void) {
  const double p[4] = {0.1, 0.2, 0.3, 0.4};
  int hits[4] = {0};
  struct mdi_prob_index scratch[4];
  for (uint64_t seed = 1; seed <= 400; seed++) {
    struct mdi_sampler s;
    struct mdi_sampler_params prm = {1.0f, seed % 2 ? 0.0f : 1.0f, 0};
    mdi_sampler_init(&s, &prm, seed);
    float x[4];
    log_probs(x, p, 4);
    int got = mdi_sampler_sample(&s, x, 4, scratch);
    uint64_t r = seed;
    float coin = ref_f32(&r);
    float cdf = 0;
    int want = 3;
    for (int i = 0; i < 4; i++) {
      cdf += x[i];
      if (coin < cdf) {
        want = i;
        break;
      }
    }
    CHECK_EQ_INT(got, want);
    CHECK(s.rng_state == r);
    if (got >= 0 && got < 4) hits[got]++;
  }
  for (int i = 0; i < 4; i++) CHECK(hits[i] > 0);
}

/* p = {0.1, 0.5, 0.3, 0.1}, top_p 0.7: the nucleus is {1, 2} (0.5 + 0.3
 * passes 0.7), so index 1 is chosen when coin * (p1 + p2) < p1, else 2. */
static void test_top_p(void) {
  const double p[4] = {0.1, 0.5, 0.3, 0.1};
  int hits[4] = {0};
  struct mdi_prob_index scratch[4];
  for (uint64_t seed = 1; seed <= 300; seed++) {
    struct mdi_sampler s;
    struct mdi_sampler_params prm = {1.0f, 0.7f, 0};
    mdi_sampler_init(&s, &prm, seed * 7919);
    float x[4];
    log_probs(x, p, 4);
    int got = mdi_sampler_sample(&s, x, 4, scratch);
    uint64_t r = seed * 7919;
    float coin = ref_f32(&r);
    float mass = x[1] + x[2];
    CHECK_EQ_INT(got, coin * mass < x[1] ? 1 : 2);
    if (got >= 0 && got < 4) hits[got]++;
  }
  CHECK(hits[1] > 0 && hits[2] > 0 && hits[0] == 0 && hits[3] == 0);

  /* four equal probabilities, top_p 0.6: ties keep index order (as glibc's
   * qsort leaves them for run.c), the nucleus is {0, 1, 2} */
  int tie_hits[4] = {0};
  for (uint64_t seed = 1; seed <= 300; seed++) {
    struct mdi_sampler s;
    struct mdi_sampler_params prm = {1.0f, 0.6f, 0};
    mdi_sampler_init(&s, &prm, seed);
    float x[4] = {2, 2, 2, 2};
    int got = mdi_sampler_sample(&s, x, 4, scratch);
    CHECK(x[0] == 0.25f);
    uint64_t r = seed;
    float v = ref_f32(&r) * 0.75f;
    CHECK_EQ_INT(got, v < 0.25f ? 0 : v < 0.5f ? 1 : 2);
    if (got >= 0 && got < 4) tie_hits[got]++;
  }
  CHECK(tie_hits[0] > 0 && tie_hits[1] > 0 && tie_hits[2] > 0 && tie_hits[3] == 0);

  /* top_p 0.75 with the same probabilities: the running sum must pass
   * top_p strictly, so 0.25 + 0.25 + 0.25 is not enough and all four stay */
  int edge_hits[4] = {0};
  for (uint64_t seed = 1; seed <= 300; seed++) {
    struct mdi_sampler s;
    struct mdi_sampler_params prm = {1.0f, 0.75f, 0};
    mdi_sampler_init(&s, &prm, seed);
    float x[4] = {-1, -1, -1, -1};
    int got = mdi_sampler_sample(&s, x, 4, scratch);
    uint64_t r = seed;
    float v = ref_f32(&r);
    CHECK_EQ_INT(got, (int)(v * 4.0f));
    if (got >= 0 && got < 4) edge_hits[got]++;
  }
  CHECK(edge_hits[3] > 0);
}

static void random_logits(float *x, int n, float scale) {
  for (int i = 0; i < n; i++) x[i] = (lcg_uniform() - 0.5f) * scale;
}

static void test_top_k(void) {
  enum { V = 100 };
  struct mdi_prob_index scratch[V];
  /* top_k = 1 is argmax (lowest index on ties) and still draws one coin */
  for (int trial = 0; trial < 200; trial++) {
    float x[V], orig[V];
    random_logits(x, V, 8.0f);
    if (trial % 4 == 0) x[17] = x[60] = 50.0f; /* a tie for the maximum */
    memcpy(orig, x, sizeof x);
    struct mdi_sampler s;
    struct mdi_sampler_params p = {trial % 2 ? 1.0f : 0.8f, trial % 3 ? 0.9f : 0.0f, 1};
    mdi_sampler_init(&s, &p, 1000 + (uint64_t)trial);
    CHECK_EQ_INT(mdi_sampler_sample(&s, x, V, scratch), mdi_argmax(orig, V));
    uint64_t r = 1000 + (uint64_t)trial;
    ref_u32(&r);
    CHECK(s.rng_state == r);
  }

  /* top_k = 2 on {0, 3, 1, 2.5, -1}: only ids 1 and 3 remain, renormalised */
  int hits[5] = {0};
  for (uint64_t seed = 1; seed <= 200; seed++) {
    float x[5] = {0, 3, 1, 2.5f, -1};
    struct mdi_sampler s;
    struct mdi_sampler_params p = {1.0f, seed % 2 ? 0.0f : 0.95f, 2};
    mdi_sampler_init(&s, &p, seed);
    int got = mdi_sampler_sample(&s, x, 5, scratch);
    CHECK(x[0] == 0.0f && x[2] == 0.0f && x[4] == 0.0f);
    CHECK_NEAR(x[1], 1.0 / (1.0 + exp(-0.5)), 1e-6);
    CHECK_NEAR(x[1] + x[3], 1.0, 1e-6);
    if (got >= 0 && got < 5) hits[got]++;
  }
  CHECK(hits[1] > 0 && hits[3] > 0 && hits[0] + hits[2] + hits[4] == 0);

  /* top_k >= vocab changes nothing */
  for (int trial = 0; trial < 50; trial++) {
    float a[V], b[V];
    random_logits(a, V, 6.0f);
    memcpy(b, a, sizeof a);
    struct mdi_sampler s0, s1;
    struct mdi_sampler_params p0 = {1.0f, 0.9f, 0}, p1 = {1.0f, 0.9f, V};
    mdi_sampler_init(&s0, &p0, 9 + (uint64_t)trial);
    mdi_sampler_init(&s1, &p1, 9 + (uint64_t)trial);
    CHECK_EQ_INT(mdi_sampler_sample(&s0, a, V, scratch), mdi_sampler_sample(&s1, b, V, scratch));
    CHECK(memcmp(a, b, sizeof a) == 0);
  }
}

/* run.c's sample_topp from its description: candidates >= (1-p)/(n-1),
 * stable sort by probability descending, cut where the running sum passes
 * p, draw coin * sum along the sorted list. */
static int ref_topp(const float *probs, int n, float topp, float coin) {
  static int idx[4096];
  const float cutoff = (1.0f - topp) / (float)(n - 1);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (probs[i] >= cutoff) idx[m++] = i;
  for (int i = 1; i < m; i++) { /* insertion sort: stable */
    int v = idx[i], j = i;
    for (; j > 0 && probs[idx[j - 1]] < probs[v]; j--) idx[j] = idx[j - 1];
    idx[j] = v;
  }
  float sum = 0;
  int last = m - 1;
  for (int i = 0; i < m; i++) {
    sum += probs[idx[i]];
    if (sum > topp) {
      last = i;
      break;
    }
  }
  float r = coin * sum, cdf = 0;
  for (int i = 0; i <= last; i++) {
    cdf += probs[idx[i]];
    if (r < cdf) return idx[i];
  }
  return idx[last];
}

/* -t 1.0 -p 0.9 -s 133742: one coin per token, in generator order. */
static void test_reference_run_coins(void) {
  enum { V = 512 };
  struct mdi_prob_index scratch[V];
  struct mdi_sampler s;
  struct mdi_sampler_params p = {1.0f, 0.9f, 0};
  mdi_sampler_init(&s, &p, 133742);
  CHECK(s.rng_state == 133742);
  uint64_t ref = 133742;
  const double first_coins[3] = {0.7062990069389343, 0.6226770877838135, 0.5385057330131531};
  for (int step = 0; step < 64; step++) {
    float x[V];
    random_logits(x, V, step % 2 ? 30.0f : 4.0f);
    float coin = ref_f32(&ref);
    if (step < 3) CHECK(coin == (float)first_coins[step]);
    int got = mdi_sampler_sample(&s, x, V, scratch);
    CHECK(s.rng_state == ref);
    CHECK_EQ_INT(got, ref_topp(x, V, 0.9f, coin));
  }
}

/* Nucleus sampling on a vocabulary of 4000: flat rows (the nucleus is
 * hundreds or thousands of tokens, so the sorted prefix grows once or
 * several times), peaked rows and rows of many ties, top_p from 0.1 to
 * 0.99: the token run.c's full sort would give. */
static void test_top_p_large(void) {
  enum { V = 4000 };
  static struct mdi_prob_index scratch[V];
  static float x[V], probs[V];
  const float tops[6] = {0.1f, 0.3f, 0.9f, 0.15f, 0.95f, 0.99f};
  const float scales[3] = {0.5f, 6.0f, 40.0f};
  uint64_t coins = 777;
  for (int trial = 0; trial < 36; trial++) {
    random_logits(x, V, scales[trial % 3]);
    if (trial % 4 == 3)
      for (int i = 0; i < V; i++) x[i] = (float)(i % 7); /* ties everywhere */
    const float topp = tops[trial % 6];
    memcpy(probs, x, sizeof x);
    mdi_softmax(probs, V);
    struct mdi_sampler s;
    struct mdi_sampler_params p = {1.0f, topp, 0};
    mdi_sampler_init(&s, &p, coins);
    const float coin = mdi_rng_f32(&coins);
    CHECK_EQ_INT(mdi_sampler_sample(&s, x, V, scratch), ref_topp(probs, V, topp, coin));
  }
}

/* run.c's scan: the first index of the largest value, NaN never larger */
static int argmax_ref(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

/* The vectorized argmax over vocabulary-sized rows equals the scan, with
 * ties, signed zeros, infinities and NaNs anywhere; mdi_argmax_above and
 * the combination rank 0 makes of the classifier tail (sampler.h). */
static void test_argmax_long(void) {
  const int n = 1000;
  float *x = malloc(n * sizeof(float));
  uint64_t st = 12345;
  for (int round = 0; round < 400; round++) {
    const int len = 1 + (int)(mdi_rng_u32(&st) % n);
    for (int i = 0; i < len; i++) x[i] = (float)(mdi_rng_u32(&st) % 50) - 60.0f; /* many ties */
    const int kind = round % 6;
    const int at = (int)(mdi_rng_u32(&st) % len);
    if (kind == 1) x[at] = NAN;
    if (kind == 2) x[0] = NAN;
    if (kind == 3) x[at] = INFINITY, x[(at * 7) % len] = INFINITY;
    if (kind == 4) for (int i = 0; i < len; i++) x[i] = i % 3 ? 0.0f : -0.0f;
    if (kind == 5) for (int i = 0; i < len; i++) x[i] = -INFINITY;
    CHECK_EQ_INT(mdi_argmax(x, len), argmax_ref(x, len));
    /* the classifier tail: rows [v, len) on the last rank */
    const int v = 1 + (int)(mdi_rng_u32(&st) % len);
    if (v < len && kind != 2) {
      const int a = mdi_argmax(x, v), t = mdi_argmax_above(x + v, len - v);
      const int combined = t >= 0 && x[v + t] > x[a] ? v + t : a;
      CHECK_EQ_INT(combined, argmax_ref(x, len));
    }
  }
  const float none[3] = {-INFINITY, NAN, -INFINITY};
  CHECK_EQ_INT(mdi_argmax_above(none, 3), -1);
  free(x);
}

int main(void) {
  test_rng();
  test_argmax_long();
  test_greedy();
  test_temperature();
  test_multinomial();
  test_top_p();
  test_top_k();
  test_reference_run_coins();
  test_top_p_large();
  return mdi_test_finish("test_sampler");
}

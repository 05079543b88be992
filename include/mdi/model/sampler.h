/* Per-sequence sampler: llama2.c's xorshift RNG, temperature, top-p, plus top-k.
 * Every sequence owns one, so results do not depend on how sequences are
 * batched: sequence i seeded with S+i gives the tokens of `run.c -s S+i`. */
#ifndef MDI_SAMPLER_H
#define MDI_SAMPLER_H

#include <stdint.h>

struct mdi_sampler_params {
  float temperature; /* 0 = greedy (argmax) */
  float top_p;       /* nucleus sampling when 0 < top_p < 1 */
  int top_k;         /* keep the k most likely tokens when > 0 */
};

struct mdi_sampler {
  struct mdi_sampler_params params;
  uint64_t rng_state;
};

/* Scratch for sorting probabilities; one per thread, vocab entries. */
struct mdi_prob_index {
  float prob;
  int index;
};

void mdi_sampler_init(struct mdi_sampler *s, const struct mdi_sampler_params *p, uint64_t seed);

/* Pick the next token from logits[vocab] (the array is overwritten with
 * probabilities).  scratch holds vocab entries. */
int mdi_sampler_sample(struct mdi_sampler *s, float *logits, int vocab,
                       struct mdi_prob_index *scratch);

/* The xorshift generator (exposed for tests). */
uint32_t mdi_rng_u32(uint64_t *state);
float mdi_rng_f32(uint64_t *state);

/* argmax with the lowest index winning ties (as run.c). */
int mdi_argmax(const float *x, int n);
/* The lowest index of the largest value above -inf (NaN never wins), -1
 * when there is none.  For x split in [0, v) and [v, n) with v >= 1:
 * mdi_argmax(x, n) is b = v + mdi_argmax_above(x + v, n - v) when b > v - 1
 * and x[b] > x[a], else a = mdi_argmax(x, v): the ring's last rank sends
 * this for its part of the vocabulary, rank 0 combines (pipeline.c). */
int mdi_argmax_above(const float *x, int n);
/* Does s take the argmax (temperature 0, below, or NaN)? */
int mdi_sampler_is_greedy(const struct mdi_sampler *s);

#endif

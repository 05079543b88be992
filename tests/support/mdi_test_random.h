/* Reproducible test data for the kernel tests: xorshift64 floats in
 * [-1, 1) (24-bit mantissas, exact in float) and aligned arrays of them.
 * Each test keeps its own state, so its data does not depend on others. */
#ifndef MDI_TEST_RANDOM_H
#define MDI_TEST_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/base/error.h"

static inline float mdi_test_frand(uint64_t *state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return (float)((*state >> 40) / 8388608.0 - 1.0);
}

/* n floats from mdi_test_frand, 64-byte aligned (free with free()). */
static inline float *mdi_test_random_array(uint64_t *state, size_t n) {
  float *a = mdi_aligned_alloc(n * sizeof(float), "test array");
  for (size_t i = 0; i < n; i++) a[i] = mdi_test_frand(state);
  return a;
}

#endif

/* The 8-float vector the kernels of matmul.c and ops.c are written in (GNU
 * vector extensions: AVX on x86-64, two NEON registers on arm64), and the
 * few operations whose compiled form must not be left to the compiler.
 * Private to the model library. */
#ifndef MDI_SIMD_H
#define MDI_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) || defined(__FMA__)
#include <immintrin.h>
#endif

typedef float v8f __attribute__((vector_size(32)));

/* Unaligned loads and stores (memcpy compiles to one move). */
static inline v8f load8(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

/* acc + x * y in one rounding, whatever the compiler would choose for the
 * plain expression (GCC keeps some loop-carried chains unfused): sums are
 * then the same in every loop shape. */
static inline v8f fma8(v8f x, v8f y, v8f acc) {
#ifdef __FMA__
  __m256 a, b, c;
  memcpy(&a, &x, sizeof a);
  memcpy(&b, &y, sizeof b);
  memcpy(&c, &acc, sizeof c);
  c = _mm256_fmadd_ps(a, b, c);
  memcpy(&acc, &c, sizeof acc);
  return acc;
#else
  for (int i = 0; i < 8; i++) acc[i] = fmaf(x[i], y[i], acc[i]);
  return acc;
#endif
}

/* The 8 lanes summed in a fixed order. */
static inline float hsum8(v8f a) { return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); }

/* 8 int8 values as floats, times their scales: exactly (float)q * d.
 * GCC turns a generic int8 -> float vector conversion into 8 scalar ones,
 * so x86 gets the two AVX2 instructions it needs. */
static inline v8f dequant8(const int8_t *q, v8f scale) {
  v8f v;
#ifdef __AVX2__
  const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q)));
  memcpy(&v, &f, sizeof v);
#else
  for (int i = 0; i < 8; i++) v[i] = (float)q[i];
#endif
  return v * scale;
}

#endif

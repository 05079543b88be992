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
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define MDI_SIMD_NEON 1
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
#elif defined(MDI_SIMD_NEON)
  /* fused, as two fmla of 4 lanes */
  float32x4_t a[2], b[2], c[2];
  memcpy(a, &x, sizeof a);
  memcpy(b, &y, sizeof b);
  memcpy(c, &acc, sizeof c);
  c[0] = vfmaq_f32(c[0], a[0], b[0]);
  c[1] = vfmaq_f32(c[1], a[1], b[1]);
  memcpy(&acc, c, sizeof acc);
  return acc;
#else
  for (int i = 0; i < 8; i++) acc[i] = fmaf(x[i], y[i], acc[i]);
  return acc;
#endif
}

/* The first n (< 8) floats of p in lanes 0..n-1, zeros above; and back. */
static inline v8f load8_n(const float *p, int n) {
  v8f v = {0};
  memcpy(&v, p, (size_t)n * sizeof(float));
  return v;
}

static inline void store8_n(float *p, v8f v, int n) { memcpy(p, &v, (size_t)n * sizeof(float)); }

typedef int32_t v8i __attribute__((vector_size(32)));

/* Lanes of a where m is all ones, else of b. */
static inline v8f select8(v8i m, v8f a, v8f b) { return (v8f)((m & (v8i)a) | (~m & (v8i)b)); }

static inline v8f max8(v8f a, v8f b) { return select8(a > b, a, b); }

/* e^x lane by lane, within 2 ulp: x = n ln2 + r with |r| <= ln2/2 (n by
 * the 1.5 * 2^23 rounding trick), a degree-7 polynomial for e^r (Cephes'
 * expf coefficients) and n in the exponent bits.  Results below 2^-126 are
 * 0, for x above 88.376 (e^x within 1.2x of FLT_MAX) +inf, NaN stays NaN.  Every step is one fused or plain
 * IEEE operation per lane, so a lane's result depends on its input only:
 * the same in any position of a vector and in a padded tail. */
static inline v8f exp8(v8f x) {
  const v8f hi = (v8f){0} + 88.3762626647949f, lo = (v8f){0} + -87.3365447504019f;
  const v8f magic = (v8f){0} + 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  const v8f xc = select8(x > hi, hi, select8(x < lo, lo, x));
  const v8f t = fma8(xc, (v8f){0} + 1.44269504088896341f, magic);
  const v8f n = t - magic;
  v8f r = fma8(n, (v8f){0} + -0.693359375f, xc);
  r = fma8(n, (v8f){0} + 2.12194440e-4f, r);
  v8f y = fma8((v8f){0} + 1.9875691500e-4f, r, (v8f){0} + 1.3981999507e-3f);
  y = fma8(y, r, (v8f){0} + 8.3334519073e-3f);
  y = fma8(y, r, (v8f){0} + 4.1665795894e-2f);
  y = fma8(y, r, (v8f){0} + 1.6666665459e-1f);
  y = fma8(y, r, (v8f){0} + 5.0000001201e-1f);
  y = fma8(y, r * r, r) + 1.0f;
  const v8i bits = ((v8i)t - (v8i)magic + 127) << 23; /* 2^n, n in [-126, 127] */
  y = y * (v8f)bits;
  y = select8(x > hi, (v8f){0} + INFINITY, select8(x < lo, (v8f){0}, y));
  return select8(x != x, x, y);
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

/* Peak rate of the instructions the kernels are built on, one thread, from
 * registers (no memory): vpdpbusd (AVX-512 VNNI: 64 int8 multiply-adds per
 * instruction), vpmaddubsw + vpmaddwd + vpaddd (the AVX2 steps: 32), and
 * vfmadd231ps on zmm (16 float multiply-adds), each as 12 independent chains
 * kept in registers.  Prints multiply-adds per second by CPU time (on a
 * shared host, the rate while the thread ran), for the bounds of
 * docs/PERFORMANCE.md.
 *
 *   vnni_peak [SECONDS]      (build: gcc -O2 -march=native vnni_peak.c -o vnni_peak) */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define X12(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11)
#define REPS 1000

/* NAME, vector type, zero, STEP(acc) the instruction(s), multiply-adds per step, a lane of acc as double */
#define RUN(NAME, TYPE, ZERO, STEP, MACS, LANE)                                                      \
  {                                                                                                 \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-variable\"")          \
    X12(DECL) long iters = 0;                                                                       \
    const double t0 = cpu_s();                                                                      \
    double t = t0;                                                                                  \
    while (t - t0 < seconds) {                                                                      \
      for (int r = 0; r < REPS; r++) {                                                              \
        X12(UPDATE)                                                                                 \
        __asm__ volatile("" ::: "memory");                                                          \
      }                                                                                             \
      iters += REPS;                                                                                \
      t = cpu_s();                                                                                  \
    }                                                                                               \
    double sink = 0;                                                                                \
    X12(SINK)                                                                                       \
    printf("%-26s %8.1f G multiply-adds/s (%.2f instructions/ns; %.2f s CPU; %g)\n", NAME,          \
           (double)iters * 12 * (MACS) / (t - t0) / 1e9, (double)iters * 12 / (t - t0) / 1e9, t - t0, sink); \
    _Pragma("GCC diagnostic pop")                                                                   \
  }

int main(int argc, char **argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  const __m512i w = _mm512_set1_epi8(3), x = _mm512_set1_epi8(-2);
  __m256i w2 = _mm256_set1_epi8(3);
  const __m256i x2 = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  const __m512 a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
#define DECL(i) __m512i acc##i = _mm512_setzero_si512();
#define UPDATE(i) acc##i = _mm512_dpbusd_epi32(acc##i, w, x); __asm__("" : "+v"(acc##i));
#define SINK(i) sink += (double)_mm512_reduce_add_epi32(acc##i);
  RUN("vpdpbusd zmm (int8)", __m512i, 0, 0, 64, 0)
#undef DECL
#undef UPDATE
#undef SINK
#define DECL(i) __m256i acc##i = _mm256_setzero_si256();
#define UPDATE(i) acc##i = _mm256_add_epi32(acc##i, _mm256_madd_epi16(_mm256_maddubs_epi16(w2, x2), ones)); \
  __asm__("" : "+v"(acc##i), "+v"(w2));
#define SINK(i) sink += (double)_mm256_extract_epi32(acc##i, 0);
  RUN("vpmaddubsw+vpmaddwd+add ymm", __m256i, 0, 0, 32, 0)
#undef DECL
#undef UPDATE
#undef SINK
#define DECL(i) __m512 acc##i = _mm512_setzero_ps();
#define UPDATE(i) acc##i = _mm512_fmadd_ps(a, b, acc##i); __asm__("" : "+v"(acc##i));
#define SINK(i) sink += (double)_mm512_reduce_add_ps(acc##i);
  RUN("vfmadd231ps zmm (float)", __m512, 0, 0, 16, 0)
  return 0;
}

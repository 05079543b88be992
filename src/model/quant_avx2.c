/* The quantized kernels for AVX2 (quant_kernels.h), for x86 CPUs without
 * VNNI: a group's 16 outputs are two ymm registers of 8 int32 lanes (rows
 * 0-7 and 8-15, the two halves of each 64-byte chunk).  vpmaddubsw
 * multiplies 4 unsigned weight bytes by the 4 broadcast activation bytes and
 * adds them in pairs to int16, vpmaddwd adds the pairs to int32.  The int16
 * pair sums cannot saturate for levels below 128 (2 x 127 x 127 < 32767):
 * Q8_0's stored q + 128 goes back to signed q and its sign moves onto the
 * activation.  Every sum is exact, so the results are the reference's. */
#include "quant_blocks.h"
#include "quant_kernels.h"

#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE __m256i bcast4(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

/* Half h (rows 8h..8h+7) of a 64-byte chunk. */
INLINE __m256i load_half(const uint8_t *chunk, int h) { return _mm256_loadu_si256((const __m256i *)(const void *)(chunk + 32 * h)); }
INLINE __m256 halfs8(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p)); }
INLINE __m256i lo_nibbles(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0F)); }
INLINE __m256i hi_nibbles(__m256i v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F)); }

/* acc + sum over each lane's 4 bytes of u * x (u < 128 unsigned, x signed) */
INLINE __m256i dot4(__m256i acc, __m256i u, __m256i x) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
}

/* The same for signed weights w (any int8): |w| times x with w's sign. */
INLINE __m256i dot4_signed(__m256i acc, __m256i w, __m256i x) {
  return dot4(acc, _mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
}

/* +16 on the bytes whose bit is set in the 32 bits of mask half h. */
INLINE __m256i fifth_bit(__m256i v, const uint8_t *mask, int h) {
  uint32_t m;
  memcpy(&m, mask + 4 * h, 4);
  const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                       3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)m), sel), bit), bit);
  return _mm256_add_epi8(v, _mm256_and_si256(set, _mm256_set1_epi8(16)));
}

#define XQ(i, b, bs) (x->q + (size_t)(m0 + (i)) * x->ldq + (size_t)(b) * (bs))
#define XD(i, b) (x->d[(size_t)(m0 + (i)) * x->ldd + (b)])
#define XS32(i, j) (x->s32[(size_t)(m0 + (i)) * x->lds32 + (j)])
#define XS16(i, j) (x->s16[(size_t)(m0 + (i)) * x->lds16 + (j)])

/* ---- the 32-blocks -------------------------------------------------------- */

INLINE void block32_rows(enum mdi_matrix_type t, const int MR, float *out, size_t ldo, const struct mdi_qact *x,
                         int m0, const uint8_t *tiles, int nblocks) {
  const size_t tb = qtile_bytes(t);
  const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1, five = t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1;
  const int o = t == MDI_MATRIX_Q4_0 ? 8 : t == MDI_MATRIX_Q5_0 ? 16 : 0; /* Q8_0: signed, no offset */
  const size_t d_at = t == MDI_MATRIX_Q8_0 ? 512 : five ? 320 : 256;
  for (int h = 0; h < 2; h++) {
    __m256 acc[QMR];
    for (int i = 0; i < MR; i++) acc[i] = _mm256_setzero_ps();
    for (int b = 0; b < nblocks; b++) {
      const uint8_t *tile = tiles + (size_t)b * tb;
      __m256i u[8]; /* quad c: elements 4c..4c+3 */
      if (t == MDI_MATRIX_Q8_0) {
        for (int c = 0; c < 8; c++) u[c] = _mm256_xor_si256(load_half(tile + 64 * c, h), _mm256_set1_epi8((char)0x80));
      } else {
        for (int c = 0; c < 4; c++) {
          const __m256i raw = load_half(tile + 64 * c, h);
          u[c] = lo_nibbles(raw);
          u[c + 4] = hi_nibbles(raw);
          if (five) {
            u[c] = fifth_bit(u[c], tile + 256 + 8 * (2 * c), h);
            u[c + 4] = fifth_bit(u[c + 4], tile + 256 + 8 * (2 * c + 1), h);
          }
        }
      }
      const __m256 dw = halfs8(tile + d_at + 16 * h);
      const __m256 mw = one ? halfs8(tile + d_at + 32 + 16 * h) : _mm256_setzero_ps();
      for (int i = 0; i < MR; i++) {
        const int8_t *xq = XQ(i, b, 32);
        __m256i s = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++)
          s = t == MDI_MATRIX_Q8_0 ? dot4_signed(s, u[c], bcast4(xq + 4 * c)) : dot4(s, u[c], bcast4(xq + 4 * c));
        const int32_t S = XS32(i, b);
        if (o) s = _mm256_sub_epi32(s, _mm256_set1_epi32(o * S));
        const __m256 dx = _mm256_set1_ps(XD(i, b));
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, dx), acc[i]);
        if (one) acc[i] = _mm256_fmadd_ps(_mm256_set1_ps((float)S), _mm256_mul_ps(mw, dx), acc[i]);
      }
    }
    for (int i = 0; i < MR; i++) _mm256_storeu_ps(out + (size_t)i * ldo + 8 * h, acc[i]);
  }
}

/* ---- Q4_K, Q5_K ----------------------------------------------------------- */

/* Scales (int32 lanes) and min pairs (int16 x 2 per lane) of rows 8h..8h+7. */
INLINE void k_scales(const uint8_t *sc_at, int h, __m256i sc[8], __m256i mn_pairs[4]) {
  uint8_t q[12][8], s[8][8], m[8][8];
  for (int b = 0; b < 12; b++) memcpy(q[b], sc_at + 16 * b + 8 * h, 8);
  for (int r = 0; r < 8; r++) {
    uint8_t col[12];
    for (int b = 0; b < 12; b++) col[b] = q[b][r];
    for (int j = 0; j < 8; j++) {
      int sj, mj;
      quant_k_scale(col, j, &sj, &mj);
      s[j][r] = (uint8_t)sj;
      m[j][r] = (uint8_t)mj;
    }
  }
  for (int j = 0; j < 8; j++) sc[j] = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s[j]));
  for (int p = 0; p < 4; p++) {
    const __m128i pair = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)m[2 * p]),
                                           _mm_loadl_epi64((const __m128i *)(const void *)m[2 * p + 1]));
    mn_pairs[p] = _mm256_cvtepu8_epi16(pair);
  }
}

INLINE void k45_rows(const int five, const int MR, float *out, size_t ldo, const struct mdi_qact *x, int m0,
                     const uint8_t *tiles, int nblocks) {
  const size_t tb = five ? 2816 : 2304, sc_at = five ? 2560 : 2048;
  for (int h = 0; h < 2; h++) {
    __m256 acc[QMR];
    for (int i = 0; i < MR; i++) acc[i] = _mm256_setzero_ps();
    for (int b = 0; b < nblocks; b++) {
      const uint8_t *tile = tiles + (size_t)b * tb;
      __m256i sc[8], mnp[4], I[QMR], J[QMR];
      k_scales(tile + sc_at, h, sc, mnp);
      for (int i = 0; i < MR; i++) {
        I[i] = J[i] = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
          int32_t pair;
          memcpy(&pair, x->s32 + (size_t)(m0 + i) * x->lds32 + 8 * b + 2 * p, 4);
          J[i] = _mm256_add_epi32(J[i], _mm256_madd_epi16(mnp[p], _mm256_set1_epi32(pair)));
        }
      }
      for (int p = 0; p < 4; p++) {
        __m256i lo_sum[QMR], hi_sum[QMR];
        for (int i = 0; i < MR; i++) lo_sum[i] = hi_sum[i] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
          const __m256i raw = load_half(tile + 64 * (8 * p + c), h);
          __m256i lo = lo_nibbles(raw), hi = hi_nibbles(raw);
          if (five) {
            lo = fifth_bit(lo, tile + 2048 + 8 * (2 * (8 * p + c)), h);
            hi = fifth_bit(hi, tile + 2048 + 8 * (2 * (8 * p + c) + 1), h);
          }
          for (int i = 0; i < MR; i++) {
            const int8_t *xq = XQ(i, b, 256) + 64 * p + 4 * c;
            lo_sum[i] = dot4(lo_sum[i], lo, bcast4(xq));
            hi_sum[i] = dot4(hi_sum[i], hi, bcast4(xq + 32));
          }
        }
        for (int i = 0; i < MR; i++)
          I[i] = _mm256_add_epi32(I[i], _mm256_add_epi32(_mm256_mullo_epi32(lo_sum[i], sc[2 * p]),
                                                         _mm256_mullo_epi32(hi_sum[i], sc[2 * p + 1])));
      }
      const __m256 d = halfs8(tile + sc_at + 192 + 16 * h), dmin = halfs8(tile + sc_at + 224 + 16 * h);
      for (int i = 0; i < MR; i++) {
        const __m256 dx = _mm256_set1_ps(XD(i, b));
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(I[i]), _mm256_mul_ps(d, dx), acc[i]);
        acc[i] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(J[i]), _mm256_mul_ps(dmin, dx), acc[i]);
      }
    }
    for (int i = 0; i < MR; i++) _mm256_storeu_ps(out + (size_t)i * ldo + 8 * h, acc[i]);
  }
}

/* ---- Q6_K ------------------------------------------------------------------- */

INLINE void q6k_rows(const int MR, float *out, size_t ldo, const struct mdi_qact *x, int m0, const uint8_t *tiles,
                     int nblocks) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x30);
  for (int h2 = 0; h2 < 2; h2++) { /* rows 8 h2 .. 8 h2 + 7 */
    __m256 acc[QMR];
    for (int i = 0; i < MR; i++) acc[i] = _mm256_setzero_ps();
    for (int b = 0; b < nblocks; b++) {
      const uint8_t *tile = tiles + (size_t)b * 3360;
      __m256i I[QMR];
      for (int i = 0; i < MR; i++) I[i] = _mm256_setzero_si256();
      for (int h = 0; h < 2; h++)
        for (int cg = 0; cg < 8; cg += 4) {
          __m256i sum[4][QMR];
          for (int e = 0; e < 4; e++)
            for (int i = 0; i < MR; i++) sum[e][i] = _mm256_setzero_si256();
          for (int c = cg; c < cg + 4; c++) {
            const __m256i ql = load_half(tile + 64 * (16 * h + c), h2), ql8 = load_half(tile + 64 * (16 * h + c + 8), h2);
            const __m256i qh = load_half(tile + 2048 + 64 * (8 * h + c), h2);
            const __m256i e[4] = {
                _mm256_or_si256(_mm256_and_si256(ql, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m3)),
                _mm256_or_si256(_mm256_and_si256(ql8, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m3)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql, 4), m4), _mm256_and_si256(qh, m3)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql8, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m3))};
            for (int k = 0; k < 4; k++)
              for (int i = 0; i < MR; i++)
                sum[k][i] = dot4(sum[k][i], e[k], bcast4(XQ(i, b, 256) + 128 * h + 32 * k + 4 * c));
          }
          for (int k = 0; k < 4; k++) {
            const int sb = 8 * h + cg / 4 + 2 * k;
            const __m256i scale = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(tile + 3072 + 16 * sb + 8 * h2)));
            for (int i = 0; i < MR; i++) {
              const __m256i s = _mm256_sub_epi32(sum[k][i], _mm256_set1_epi32(32 * XS16(i, 16 * b + sb)));
              I[i] = _mm256_add_epi32(I[i], _mm256_mullo_epi32(s, scale));
            }
          }
        }
      const __m256 d = halfs8(tile + 3328 + 16 * h2);
      for (int i = 0; i < MR; i++)
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(I[i]), _mm256_mul_ps(d, _mm256_set1_ps(XD(i, b))), acc[i]);
    }
    for (int i = 0; i < MR; i++) _mm256_storeu_ps(out + (size_t)i * ldo + 8 * h2, acc[i]);
  }
}

QKERNELS_DEFINE(avx2)

#else

mdi_qkernel_fn mdi_qkernel_avx2(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}

#endif

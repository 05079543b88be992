/* The quantized kernels for AVX-512 with VNNI (quant_kernels.h): one zmm
 * register holds the 16 outputs of a group as int32 lanes; vpdpbusd adds,
 * per lane, 4 unsigned weight bytes times 4 signed activation bytes (one
 * dword of the activation row broadcast to every lane), exactly.  Weights
 * are unpacked to unsigned levels once per block and used by up to MR
 * activation rows; the float step of each block is qblock_finish's,
 * vectorised (the same multiply, then the same fused multiply-add). */
#include "quant_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE __m512i bcast4(const int8_t *p) { /* 4 activation bytes into every lane */
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

INLINE __m512i bcast_pair(const int16_t *p) { /* two int16 sums into every lane */
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

INLINE __m512i load64(const uint8_t *p) { return _mm512_loadu_si512((const void *)p); }
INLINE __m512 halfs(const uint8_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p)); }
INLINE __m512i lo_nibbles(__m512i v) { return _mm512_and_si512(v, _mm512_set1_epi8(0x0F)); }
INLINE __m512i hi_nibbles(__m512i v) { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0F)); }
INLINE __m512i fifth_bit(__m512i v, const uint8_t *mask) { /* +16 where the mask's bit is set */
  uint64_t m;
  memcpy(&m, mask, 8);
  return _mm512_mask_add_epi8(v, _cvtu64_mask64(m), v, _mm512_set1_epi8(16));
}

/* Row i of the tile: its activation values, scales and sums at block b. */
#define XQ(i, b, bs) (x->q + (size_t)(m0 + (i)) * x->ldq + (size_t)(b) * (bs))
#define XD(i, b) (x->d[(size_t)(m0 + (i)) * x->ldd + (b)])
#define XS32(i, j) (x->s32 + (size_t)(m0 + (i)) * x->lds32 + (j))
#define XS16(i, j) (x->s16 + (size_t)(m0 + (i)) * x->lds16 + (j))

INLINE void store_rows(float *out, size_t ldo, const __m512 *acc, int MR) {
  for (int i = 0; i < MR; i++) _mm512_storeu_ps(out + (size_t)i * ldo, acc[i]);
}

/* ---- the 32-blocks -------------------------------------------------------- */

/* Q8_0, Q4_0, Q4_1, Q5_0, Q5_1: the 8 quads of levels of a block (quad k =
 * elements 4k..4k+3), the offset o they carry, the scale (and min). */
INLINE void levels32(enum mdi_matrix_type t, const uint8_t *tile, __m512i u[8]) {
  if (t == MDI_MATRIX_Q8_0) {
    for (int c = 0; c < 8; c++) u[c] = load64(tile + 64 * c);
    return;
  }
  const int five = t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1;
  for (int c = 0; c < 4; c++) {
    const __m512i raw = load64(tile + 64 * c);
    u[c] = lo_nibbles(raw);
    u[c + 4] = hi_nibbles(raw);
    if (five) {
      u[c] = fifth_bit(u[c], tile + 256 + 8 * (2 * c));
      u[c + 4] = fifth_bit(u[c + 4], tile + 256 + 8 * (2 * c + 1));
    }
  }
}

INLINE void block32_rows(enum mdi_matrix_type t, const int MR, float *out, size_t ldo, const struct mdi_qact *x,
                         int m0, const uint8_t *tiles, int nblocks) {
  const size_t tb = qtile_bytes(t);
  const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1;
  const int o = t == MDI_MATRIX_Q8_0 ? 128 : t == MDI_MATRIX_Q4_0 ? 8 : t == MDI_MATRIX_Q5_0 ? 16 : 0;
  const size_t d_at = t == MDI_MATRIX_Q8_0 ? 512 : t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1 ? 320 : 256;
  __m512 acc[QMR];
  for (int i = 0; i < MR; i++) acc[i] = _mm512_setzero_ps();
  for (int b = 0; b < nblocks; b++) {
    const uint8_t *tile = tiles + (size_t)b * tb;
    __m512i u[8];
    levels32(t, tile, u);
    const __m512 dw = halfs(tile + d_at);
    const __m512 mw = one ? halfs(tile + d_at + 32) : _mm512_setzero_ps();
    for (int i = 0; i < MR; i++) {
      const int8_t *xq = XQ(i, b, 32);
      __m512i s = _mm512_setzero_si512();
      /* quad c is elements 4c..4c+3 (Q4/Q5: the high nibbles of chunk c-4) */
      for (int c = 0; c < 8; c++) s = _mm512_dpbusd_epi32(s, u[c], bcast4(xq + 4 * c));
      const int32_t S = *XS32(i, b);
      if (o) s = _mm512_sub_epi32(s, _mm512_set1_epi32(o * S));
      const __m512 dx = _mm512_set1_ps(XD(i, b));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, dx), acc[i]);
      if (one) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps((float)S), _mm512_mul_ps(mw, dx), acc[i]);
    }
  }
  store_rows(out, ldo, acc, MR);
}


/* ---- Q4_K, Q5_K ----------------------------------------------------------- */

/* The 8 sub-block scales and the 4 pairs of mins of 16 rows from the
 * transposed 12 scale bytes (quant_k_scale, 16 rows at a time): scales as
 * int32 lanes, mins as int16 pairs (mn_2p, mn_2p+1) per lane for vpdpwssd. */
INLINE void k_scales(const uint8_t *sc_at, __m512i sc[8], __m512i mn_pairs[4]) {
  __m128i q[12], mn[8];
  for (int b = 0; b < 12; b++) q[b] = _mm_loadu_si128((const __m128i *)(const void *)(sc_at + 16 * b));
  const __m128i m63 = _mm_set1_epi8(63), m15 = _mm_set1_epi8(15), m48 = _mm_set1_epi8(48);
  for (int j = 0; j < 8; j++) {
    __m128i s;
    if (j < 4) {
      s = _mm_and_si128(q[j], m63);
      mn[j] = _mm_and_si128(q[j + 4], m63);
    } else {
      s = _mm_or_si128(_mm_and_si128(q[j + 4], m15), _mm_and_si128(_mm_srli_epi16(q[j - 4], 2), m48));
      mn[j] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(q[j + 4], 4), m15), _mm_and_si128(_mm_srli_epi16(q[j], 2), m48));
    }
    sc[j] = _mm512_cvtepu8_epi32(s);
  }
  for (int p = 0; p < 4; p++) {
    const __m128i lo = _mm_unpacklo_epi8(mn[2 * p], mn[2 * p + 1]), hi = _mm_unpackhi_epi8(mn[2 * p], mn[2 * p + 1]);
    mn_pairs[p] = _mm512_cvtepu8_epi16(_mm256_set_m128i(hi, lo));
  }
}

INLINE void k45_rows(const int five, const int MR, float *out, size_t ldo, const struct mdi_qact *x, int m0,
                     const uint8_t *tiles, int nblocks) {
  const size_t tb = five ? 2816 : 2304, sc_at = five ? 2560 : 2048;
  __m512 acc[QMR];
  for (int i = 0; i < MR; i++) acc[i] = _mm512_setzero_ps();
  for (int b = 0; b < nblocks; b++) {
    const uint8_t *tile = tiles + (size_t)b * tb;
    __m512i sc[8], mnp[4], I[QMR], J[QMR];
    k_scales(tile + sc_at, sc, mnp);
    for (int i = 0; i < MR; i++) {
      I[i] = _mm512_setzero_si512();
      J[i] = _mm512_setzero_si512();
      for (int p = 0; p < 4; p++) J[i] = _mm512_dpwssd_epi32(J[i], mnp[p], bcast_pair(XS32(i, 8 * b + 2 * p)));
    }
    for (int p = 0; p < 4; p++) {
      __m512i lo_sum[QMR], hi_sum[QMR];
      for (int i = 0; i < MR; i++) lo_sum[i] = hi_sum[i] = _mm512_setzero_si512();
      for (int c = 0; c < 8; c++) {
        const __m512i raw = load64(tile + 64 * (8 * p + c));
        __m512i lo = lo_nibbles(raw), hi = hi_nibbles(raw);
        if (five) {
          lo = fifth_bit(lo, tile + 2048 + 8 * (2 * (8 * p + c)));
          hi = fifth_bit(hi, tile + 2048 + 8 * (2 * (8 * p + c) + 1));
        }
        for (int i = 0; i < MR; i++) {
          const int8_t *xq = XQ(i, b, 256) + 64 * p + 4 * c;
          lo_sum[i] = _mm512_dpbusd_epi32(lo_sum[i], lo, bcast4(xq));
          hi_sum[i] = _mm512_dpbusd_epi32(hi_sum[i], hi, bcast4(xq + 32));
        }
      }
      for (int i = 0; i < MR; i++)
        I[i] = _mm512_add_epi32(I[i], _mm512_add_epi32(_mm512_mullo_epi32(lo_sum[i], sc[2 * p]),
                                                       _mm512_mullo_epi32(hi_sum[i], sc[2 * p + 1])));
    }
    const __m512 d = halfs(tile + sc_at + 192), dmin = halfs(tile + sc_at + 224);
    for (int i = 0; i < MR; i++) {
      const __m512 dx = _mm512_set1_ps(XD(i, b));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(I[i]), _mm512_mul_ps(d, dx), acc[i]);
      acc[i] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(J[i]), _mm512_mul_ps(dmin, dx), acc[i]);
    }
  }
  store_rows(out, ldo, acc, MR);
}

/* ---- Q6_K ------------------------------------------------------------------- */

INLINE void q6k_rows(const int MR, float *out, size_t ldo, const struct mdi_qact *x, int m0, const uint8_t *tiles,
                     int nblocks) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(0x30);
  __m512 acc[QMR];
  for (int i = 0; i < MR; i++) acc[i] = _mm512_setzero_ps();
  for (int b = 0; b < nblocks; b++) {
    const uint8_t *tile = tiles + (size_t)b * 3360;
    __m512i I[QMR];
    for (int i = 0; i < MR; i++) I[i] = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++)
      for (int cg = 0; cg < 8; cg += 4) {
        /* chunks cg..cg+3 hold quads of sub-blocks 8h + cg/4 + {0, 2, 4, 6} */
        __m512i sum[4][QMR];
        for (int e = 0; e < 4; e++)
          for (int i = 0; i < MR; i++) sum[e][i] = _mm512_setzero_si512();
        for (int c = cg; c < cg + 4; c++) {
          const __m512i ql = load64(tile + 64 * (16 * h + c)), ql8 = load64(tile + 64 * (16 * h + c + 8));
          const __m512i qh = load64(tile + 2048 + 64 * (8 * h + c));
          const __m512i e[4] = {
              _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 4), m3)),
              _mm512_or_si512(_mm512_and_si512(ql8, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 2), m3)),
              _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(qh, m3)),
              _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql8, 4), m4),
                              _mm512_and_si512(_mm512_srli_epi16(qh, 2), m3))};
          for (int k = 0; k < 4; k++)
            for (int i = 0; i < MR; i++)
              sum[k][i] = _mm512_dpbusd_epi32(sum[k][i], e[k], bcast4(XQ(i, b, 256) + 128 * h + 32 * k + 4 * c));
        }
        for (int k = 0; k < 4; k++) {
          const int sb = 8 * h + cg / 4 + 2 * k;
          const __m512i scale = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(tile + 3072 + 16 * sb)));
          for (int i = 0; i < MR; i++) {
            const __m512i s = _mm512_sub_epi32(sum[k][i], _mm512_set1_epi32(32 * *XS16(i, 16 * b + sb)));
            I[i] = _mm512_add_epi32(I[i], _mm512_mullo_epi32(s, scale));
          }
        }
      }
    const __m512 d = halfs(tile + 3328);
    for (int i = 0; i < MR; i++)
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(I[i]), _mm512_mul_ps(d, _mm512_set1_ps(XD(i, b))), acc[i]);
  }
  store_rows(out, ldo, acc, MR);
}

QKERNELS_DEFINE(avx512)

#else

mdi_qkernel_fn mdi_qkernel_avx512(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}

#endif

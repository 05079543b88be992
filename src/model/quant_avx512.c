/* The quantized kernels for AVX-512 with VNNI (quant_kernels.h): one zmm
 * register holds the 16 outputs of a group as int32 lanes; vpdpbusd adds,
 * per lane, 4 unsigned weight bytes times 4 signed activation bytes (one
 * dword of the activation row broadcast to every lane), exactly.  Weights
 * are unpacked to unsigned levels once per block and used by up to MR
 * activation rows; the float step of each block is qblock_finish's,
 * vectorised (the same multiply, then the same fused multiply-add). */
#include "quant_blocks.h"
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
 * elements 4k..4k+3).  Q4_0 and Q4_1 keep the high nibbles in place, 16
 * times their value (one AND per chunk instead of a shift and an AND; the
 * sums of quads 4-7 are divided by 16 exactly, one shift per block). */
INLINE void levels32(enum mdi_matrix_type t, const uint8_t *tile, __m512i u[8]) {
  if (t == MDI_MATRIX_Q8_0) {
    for (int c = 0; c < 8; c++) u[c] = load64(tile + 64 * c);
    return;
  }
  const int five = t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1;
  for (int c = 0; c < 4; c++) {
    const __m512i raw = load64(tile + 64 * c);
    u[c] = lo_nibbles(raw);
    u[c + 4] = five ? hi_nibbles(raw) : _mm512_and_si512(raw, _mm512_set1_epi8((char)0xF0));
    if (five) {
      u[c] = fifth_bit(u[c], tile + 256 + 8 * (2 * c));
      u[c + 4] = fifth_bit(u[c + 4], tile + 256 + 8 * (2 * c + 1));
    }
  }
}
INLINE int levels32_x16(enum mdi_matrix_type t) { return t == MDI_MATRIX_Q4_0 || t == MDI_MATRIX_Q4_1; }

/* The integer sum of a row starts at -o x its activation sum (no
 * subtraction after) and runs as two chains (quads 0-3 and 4-7), half the
 * latency per block.  The offsets
 * -o x S of 16 blocks at a time are stored as int32, so a block broadcasts
 * its own from memory (a load, not a shuffle), and the tiles 4 KiB ahead
 * are prefetched: a block is too little work per byte for the hardware
 * prefetcher alone to keep the stream of tiles ahead. */
#define B32_MR 8
#define B32_PREFETCH 4096 /* bytes ahead of the block being read */
INLINE size_t tile32_bytes(enum mdi_matrix_type t) { /* qtile_bytes, known at compile time */
  return QGROUP * (t == MDI_MATRIX_Q8_0   ? sizeof(struct blk_q8_0)
                   : t == MDI_MATRIX_Q4_0 ? sizeof(struct blk_q4_0)
                   : t == MDI_MATRIX_Q4_1 ? sizeof(struct blk_q4_1)
                   : t == MDI_MATRIX_Q5_0 ? sizeof(struct blk_q5_0)
                                          : sizeof(struct blk_q5_1));
}
/* One activation row: the integer sum of one block, from its tile, the
 * row's 32 activation values and its offset -o x S. */
INLINE __m512i block32_isum(enum mdi_matrix_type t, const uint8_t *tile, const int8_t *q, int32_t off) {
  __m512i u[8];
  levels32(t, tile, u);
  __m512i s0 = _mm512_set1_epi32(off), s1 = _mm512_setzero_si512();
  for (int c = 0; c < 4; c++) {
    s0 = _mm512_dpbusd_epi32(s0, u[c], bcast4(q + 4 * c));
    s1 = _mm512_dpbusd_epi32(s1, u[c + 4], bcast4(q + 4 * c + 16));
  }
  return _mm512_add_epi32(s0, levels32_x16(t) ? _mm512_srai_epi32(s1, 4) : s1);
}

/* One activation row (decode): the blocks in spans of up to B32_SPAN, each
 * span read as two halves side by side, two streams of tiles (from memory
 * the weights arrive faster: 2048 x 768, 12 matrices in turn, 36.4 -> 33.3
 * us of CPU per matrix; in L2 18.5 -> 19.9).  The second half's integer
 * sums wait in `later` until the float steps of the first half are done, so
 * every block's float step still comes in k order. */
#define B32_SPAN 32
INLINE void block32_one(enum mdi_matrix_type t, float *out, const struct mdi_qact *x, int m0, const uint8_t *tiles,
                        int nblocks) {
  const size_t tb = tile32_bytes(t);
  const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1;
  const int o = t == MDI_MATRIX_Q8_0 ? 128 : t == MDI_MATRIX_Q4_0 ? 8 : t == MDI_MATRIX_Q5_0 ? 16 : 0;
  const size_t d_at = t == MDI_MATRIX_Q8_0 ? 512 : t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1 ? 320 : 256;
  const int8_t *xq = XQ(0, 0, 32);
  const float *xd = &XD(0, 0);
  const int16_t *xs = XS32(0, 0);
  __m512 acc = _mm512_setzero_ps();
  for (int b0 = 0; b0 < nblocks; b0 += B32_SPAN) {
    const int n = nblocks - b0 < B32_SPAN ? nblocks - b0 : B32_SPAN, h = n / 2;
    int32_t off[B32_SPAN];
    for (int j = 0; j < n; j += 16) {
      const int k = n - j < 16 ? n - j : 16;
      const __m512i S = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16((__mmask16)((1u << k) - 1), xs + b0 + j));
      _mm512_storeu_si512((void *)(off + j), _mm512_mullo_epi32(S, _mm512_set1_epi32(-o)));
    }
    __m512i later[B32_SPAN / 2 + 1];
    const uint8_t *t1 = tiles + (size_t)b0 * tb, *t2 = t1 + (size_t)h * tb;
    for (int j = 0; j < h; j++, t1 += tb, t2 += tb) {
      for (size_t l = 0; l < tb; l += 64) {
        _mm_prefetch((const char *)t1 + B32_PREFETCH + l, _MM_HINT_T0);
        _mm_prefetch((const char *)t2 + B32_PREFETCH + l, _MM_HINT_T0);
      }
      const int b = b0 + j;
      const __m512i I = block32_isum(t, t1, xq + 32 * (size_t)b, off[j]);
      later[j] = block32_isum(t, t2, xq + 32 * (size_t)(b + h), off[j + h]);
      const __m512 dx = _mm512_set1_ps(xd[b]);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(I), _mm512_mul_ps(halfs(t1 + d_at), dx), acc);
      if (one) acc = _mm512_fmadd_ps(_mm512_set1_ps((float)xs[b]), _mm512_mul_ps(halfs(t1 + d_at + 32), dx), acc);
    }
    if (n - h > h) later[h] = block32_isum(t, t2, xq + 32 * (size_t)(b0 + n - 1), off[n - 1]);
    for (int j = 0; j < n - h; j++) {
      const int b = b0 + h + j;
      const uint8_t *tile = tiles + (size_t)b * tb;
      const __m512 dx = _mm512_set1_ps(xd[b]);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(later[j]), _mm512_mul_ps(halfs(tile + d_at), dx), acc);
      if (one) acc = _mm512_fmadd_ps(_mm512_set1_ps((float)xs[b]), _mm512_mul_ps(halfs(tile + d_at + 32), dx), acc);
    }
  }
  _mm512_storeu_ps(out, acc);
}

/* MR rows over each block's levels, unpacked once for all of them; the
 * batch kernel takes tiles of B32_MR rows. */
INLINE void block32_rows(enum mdi_matrix_type t, const int MR, float *out, size_t ldo, const struct mdi_qact *x,
                         int m0, const uint8_t *tiles, int nblocks) {
  if (MR == 1) {
    block32_one(t, out, x, m0, tiles, nblocks);
    return;
  }
  const size_t tb = tile32_bytes(t);
  const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1;
  const int o = t == MDI_MATRIX_Q8_0 ? 128 : t == MDI_MATRIX_Q4_0 ? 8 : t == MDI_MATRIX_Q5_0 ? 16 : 0;
  const size_t d_at = t == MDI_MATRIX_Q8_0 ? 512 : t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1 ? 320 : 256;
  const int8_t *xq[B32_MR];
  const float *xd[B32_MR];
  const int16_t *xs[B32_MR];
  for (int i = 0; i < MR; i++) {
    xq[i] = XQ(i, 0, 32);
    xd[i] = &XD(i, 0);
    xs[i] = XS32(i, 0);
  }
  __m512 acc[B32_MR];
  int32_t off[B32_MR][16];
  for (int i = 0; i < MR; i++) acc[i] = _mm512_setzero_ps();
  for (int b = 0; b < nblocks; b++) {
    const uint8_t *tile = tiles + (size_t)b * tb;
    if (o && b % 16 == 0) {
      const int n = nblocks - b < 16 ? nblocks - b : 16;
      for (int i = 0; i < MR; i++) {
        const __m512i S = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1), xs[i] + b));
        _mm512_storeu_si512((void *)off[i], _mm512_mullo_epi32(S, _mm512_set1_epi32(-o)));
      }
    }
    for (size_t l = 0; l < tb; l += 64) _mm_prefetch((const char *)tile + B32_PREFETCH + l, _MM_HINT_T0);
    __m512i u[8];
    levels32(t, tile, u);
    const __m512 dw = halfs(tile + d_at);
    const __m512 mw = one ? halfs(tile + d_at + 32) : _mm512_setzero_ps();
    for (int i = 0; i < MR; i++) {
      const int8_t *q = xq[i] + 32 * (size_t)b;
      __m512i s0 = o ? _mm512_set1_epi32(off[i][b % 16]) : _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
      /* quad c is elements 4c..4c+3 (Q4/Q5: the high nibbles of chunk c-4) */
      for (int c = 0; c < 4; c++) {
        s0 = _mm512_dpbusd_epi32(s0, u[c], bcast4(q + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, u[c + 4], bcast4(q + 4 * c + 16));
      }
      const __m512i s = _mm512_add_epi32(s0, levels32_x16(t) ? _mm512_srai_epi32(s1, 4) : s1);
      const __m512 dx = _mm512_set1_ps(xd[i][b]);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, dx), acc[i]);
      if (one) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps((float)xs[i][b]), _mm512_mul_ps(mw, dx), acc[i]);
    }
  }
  store_rows(out, ldo, acc, MR);
}

INLINE void block32_batch(enum mdi_matrix_type t, float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr,
                          const uint8_t *tiles, int nblocks) {
  int i = 0;
  for (; i + B32_MR <= mr; i += B32_MR) block32_rows(t, B32_MR, out + (size_t)i * ldo, ldo, x, m0 + i, tiles, nblocks);
  for (; i < mr; i += QMR) {
    float *o = out + (size_t)i * ldo;
    switch (mr - i < QMR ? mr - i : QMR) {
      case 4: block32_rows(t, 4, o, ldo, x, m0 + i, tiles, nblocks); break;
      case 3: block32_rows(t, 3, o, ldo, x, m0 + i, tiles, nblocks); break;
      case 2: block32_rows(t, 2, o, ldo, x, m0 + i, tiles, nblocks); break;
      default: block32_rows(t, 1, o, ldo, x, m0 + i, tiles, nblocks); break;
    }
  }
}

#define BATCH32(NAME, T)                                                                                        \
  static void NAME(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr, const uint8_t *tiles,     \
                   int nblocks) {                                                                              \
    block32_batch(T, out, ldo, x, m0, mr, tiles, nblocks);                                                     \
  }
BATCH32(batch_q8_0, MDI_MATRIX_Q8_0)
BATCH32(batch_q4_0, MDI_MATRIX_Q4_0)
BATCH32(batch_q4_1, MDI_MATRIX_Q4_1)
BATCH32(batch_q5_0, MDI_MATRIX_Q5_0)
BATCH32(batch_q5_1, MDI_MATRIX_Q5_1)

/* ---- Q4_K, Q5_K ----------------------------------------------------------- */

/* The 8 sub-block scales and the 4 pairs of mins of 16 rows from the
 * transposed 12 scale bytes (quant_k_scale, 16 rows at a time): scales as
 * int32 lanes, mins as int16 pairs (mn_2p, mn_2p+1) per lane for vpdpwssd. */
INLINE void k_scales(const uint8_t *sc_at, __m512i *sc /* [8] */, __m512i mn_pairs[4]) {
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
        /* Q4_K: the high nibbles in place, 16 times their value (one AND
         * instead of a shift and an AND per chunk; the sums are divided by
         * 16 exactly below) */
        __m512i lo = lo_nibbles(raw), hi = five ? hi_nibbles(raw) : _mm512_and_si512(raw, _mm512_set1_epi8((char)0xF0));
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
      for (int i = 0; i < MR; i++) {
        const __m512i hs = five ? hi_sum[i] : _mm512_srai_epi32(hi_sum[i], 4);
        I[i] = _mm512_add_epi32(I[i], _mm512_add_epi32(_mm512_mullo_epi32(lo_sum[i], sc[2 * p]),
                                                       _mm512_mullo_epi32(hs, sc[2 * p + 1])));
      }
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

/* ---- more rows than a register tile: K types unpacked once per super-block ---- */

/* A super-block of a group unpacked: the levels of its 64 quads in element
 * order (quad q: elements 4q..4q+3 of the 16 rows), the sub-block scales
 * (int32 lanes), Q4_K/Q5_K's min pairs, the half-float scales. */
struct k_unpacked {
  __m512i u[64];
  __m512i sc[16], mnp[4];
  __m512 d, dmin;
};

INLINE void k45_unpack(const int five, const uint8_t *tile, struct k_unpacked *k) {
  const size_t sc_at = five ? 2560 : 2048;
  k_scales(tile + sc_at, k->sc, k->mnp);
  for (int p = 0; p < 4; p++)
    for (int c = 0; c < 8; c++) {
      const __m512i raw = load64(tile + 64 * (8 * p + c));
      __m512i lo = lo_nibbles(raw), hi = hi_nibbles(raw);
      if (five) {
        lo = fifth_bit(lo, tile + 2048 + 8 * (2 * (8 * p + c)));
        hi = fifth_bit(hi, tile + 2048 + 8 * (2 * (8 * p + c) + 1));
      }
      k->u[16 * p + c] = lo;     /* elements 64p + 4c .. */
      k->u[16 * p + 8 + c] = hi; /* elements 64p + 32 + 4c .. */
    }
  k->d = halfs(tile + sc_at + 192);
  k->dmin = halfs(tile + sc_at + 224);
}

INLINE void q6k_unpack(const uint8_t *tile, struct k_unpacked *k) {
  const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(0x30);
  for (int h = 0; h < 2; h++)
    for (int c = 0; c < 8; c++) {
      const __m512i ql = load64(tile + 64 * (16 * h + c)), ql8 = load64(tile + 64 * (16 * h + c + 8));
      const __m512i qh = load64(tile + 2048 + 64 * (8 * h + c));
      /* elements 128h + 32k + 4c: quad 32h + 8k + c */
      k->u[32 * h + c] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 4), m3));
      k->u[32 * h + 8 + c] = _mm512_or_si512(_mm512_and_si512(ql8, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 2), m3));
      k->u[32 * h + 16 + c] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(qh, m3));
      k->u[32 * h + 24 + c] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql8, 4), m4),
                                              _mm512_and_si512(_mm512_srli_epi16(qh, 2), m3));
    }
  for (int sb = 0; sb < 16; sb++)
    k->sc[sb] = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(tile + 3072 + 16 * sb)));
  k->d = halfs(tile + 3328);
}

/* MR rows over an unpacked super-block b: sub-blocks of `sub` weights
 * (32, or Q6_K's 16), each sum times its scale (Q6_K: less 32 x its sums);
 * the float accumulators continue from out unless `first`. */
INLINE void k_block_rows(const int q6, const int MR, const struct k_unpacked *k, float *out, size_t ldo,
                         const struct mdi_qact *x, int m0, int b, int first) {
  const int sub = q6 ? 16 : 32, quads = sub / 4;
  __m512i I[2 * QMR];
  for (int i = 0; i < MR; i++) I[i] = _mm512_setzero_si512();
  for (int j = 0; j < 256 / sub; j++) {
    __m512i s[2 * QMR];
    for (int i = 0; i < MR; i++) s[i] = _mm512_setzero_si512();
    for (int c = 0; c < quads; c++) {
      const __m512i w = k->u[quads * j + c];
      for (int i = 0; i < MR; i++) s[i] = _mm512_dpbusd_epi32(s[i], w, bcast4(XQ(i, b, 256) + sub * j + 4 * c));
    }
    for (int i = 0; i < MR; i++) {
      if (q6) s[i] = _mm512_sub_epi32(s[i], _mm512_set1_epi32(32 * *XS16(i, 16 * b + j)));
      I[i] = _mm512_add_epi32(I[i], _mm512_mullo_epi32(s[i], k->sc[j]));
    }
  }
  for (int i = 0; i < MR; i++) {
    float *o = out + (size_t)i * ldo;
    const __m512 dx = _mm512_set1_ps(XD(i, b));
    __m512 acc = first ? _mm512_setzero_ps() : _mm512_loadu_ps(o);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(I[i]), _mm512_mul_ps(k->d, dx), acc);
    if (!q6) {
      __m512i J = _mm512_setzero_si512();
      for (int p = 0; p < 4; p++) J = _mm512_dpwssd_epi32(J, k->mnp[p], bcast_pair(XS32(i, 8 * b + 2 * p)));
      acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(J), _mm512_mul_ps(k->dmin, dx), acc);
    }
    _mm512_storeu_ps(o, acc);
  }
}

/* The batch kernel of a K type: tiles of 2 x QMR rows, then the rest. */
INLINE void k_batch(enum mdi_matrix_type t, float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr,
                    const uint8_t *tiles, int nblocks) {
  const int q6 = t == MDI_MATRIX_Q6_K;
  struct k_unpacked k;
  for (int b = 0; b < nblocks; b++) {
    const uint8_t *tile = tiles + (size_t)b * qtile_bytes(t);
    if (q6) q6k_unpack(tile, &k);
    else k45_unpack(t == MDI_MATRIX_Q5_K, tile, &k);
    int i = 0;
    for (; i + 2 * QMR <= mr; i += 2 * QMR) k_block_rows(q6, 2 * QMR, &k, out + (size_t)i * ldo, ldo, x, m0 + i, b, b == 0);
    for (; i < mr; i += QMR) {
      float *o = out + (size_t)i * ldo;
      switch (mr - i < QMR ? mr - i : QMR) {
        case 4: k_block_rows(q6, 4, &k, o, ldo, x, m0 + i, b, b == 0); break;
        case 3: k_block_rows(q6, 3, &k, o, ldo, x, m0 + i, b, b == 0); break;
        case 2: k_block_rows(q6, 2, &k, o, ldo, x, m0 + i, b, b == 0); break;
        default: k_block_rows(q6, 1, &k, o, ldo, x, m0 + i, b, b == 0); break;
      }
    }
  }
}

static void batch_q4_K(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr, const uint8_t *tiles,
                       int nblocks) {
  k_batch(MDI_MATRIX_Q4_K, out, ldo, x, m0, mr, tiles, nblocks);
}
static void batch_q5_K(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr, const uint8_t *tiles,
                       int nblocks) {
  k_batch(MDI_MATRIX_Q5_K, out, ldo, x, m0, mr, tiles, nblocks);
}
static void batch_q6_K(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr, const uint8_t *tiles,
                       int nblocks) {
  k_batch(MDI_MATRIX_Q6_K, out, ldo, x, m0, mr, tiles, nblocks);
}

QKERNELS_DEFINE_BATCH(avx512, batch_q8_0, batch_q4_0, batch_q4_1, batch_q5_0, batch_q5_1, batch_q4_K, batch_q5_K,
                      batch_q6_K)

/* ---- activations ------------------------------------------------------------ */

/* mdi_qact_quantize_rows 16 values at a time, the same values: the largest
 * magnitude by vmaxps (which, like the scalar a > b ? a : b, passes NaN by),
 * the same division and product, NaN lanes to 0, the clamp to +-127, then
 * the conversion in the default rounding (to nearest even, as nearbyintf). */
static void qact_avx512(const float *x, int M, int K, int bs, int8_t *q, float *d, int16_t *s16, int16_t *s32) {
  const __m512 lim = _mm512_set1_ps(127.0f), nlim = _mm512_set1_ps(-127.0f);
  for (int m = 0; m < M; m++) {
    const float *xm = x + (size_t)m * K;
    int8_t *qm = q + (size_t)m * K;
    for (int b = 0; b < K / bs; b++) {
      __m512 amax = _mm512_setzero_ps();
      for (int k = b * bs; k < (b + 1) * bs; k += 16) amax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xm + k)), amax);
      const float a = _mm512_reduce_max_ps(amax);
      const float db = a / 127.0f, id = db > 0.0f ? 1.0f / db : 0.0f;
      d[(size_t)m * (K / bs) + b] = db;
      const __m512 vid = _mm512_set1_ps(id);
      for (int k = b * bs; k < (b + 1) * bs; k += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(xm + k), vid);
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
        v = _mm512_max_ps(_mm512_min_ps(v, lim), nlim);
        const __m512i qi = _mm512_cvtps_epi32(v);
        _mm_storeu_si128((__m128i *)(void *)(qm + k), _mm512_cvtepi32_epi8(qi));
        s16[(size_t)m * (K / 16) + k / 16] = (int16_t)_mm512_reduce_add_epi32(qi);
      }
    }
    for (int j = 0; j < K / 32; j++)
      s32[(size_t)m * (K / 32) + j] = (int16_t)(s16[(size_t)m * (K / 16) + 2 * j] + s16[(size_t)m * (K / 16) + 2 * j + 1]);
  }
}

mdi_qact_fn mdi_qact_avx512(void) { return qact_avx512; }

#else

mdi_qkernel_fn mdi_qkernel_avx512(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}

mdi_qact_fn mdi_qact_avx512(void) { return NULL; }

#endif

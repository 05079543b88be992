/* The quantized kernels for AArch64 NEON (quant_kernels.h).  A group's 16
 * outputs are four registers of 4 int32 lanes: quarter q holds rows
 * 4q..4q+3, whose weights are the 16 bytes at 16q of each 64-byte chunk
 * (4 rows x 4 consecutive weights).  Two kernels come from this source:
 *  - neon-dotprod (when __ARM_FEATURE_DOTPROD: -mcpu=cortex-a76 and other
 *    ARMv8.2-A cores with the dot-product extension, i.e. Raspberry Pi 5,
 *    RK3588, Jetson Orin): sdot adds, in each lane, the 4 products of its 4
 *    weight bytes and the 4 broadcast activation bytes;
 *  - neon (any ARMv8-A, e.g. the Raspberry Pi 4's Cortex-A72): smull and
 *    smull2 make the 16-bit products (|w x| <= 128 x 127 fits), two
 *    pairwise widening adds make each lane's sum of 4.
 * The weight levels are below 128 (Q8_0's stored q + 128 goes back to the
 * signed q), so both multiply signed bytes.  Every integer sum is exact and
 * the float steps are quant_kernels.h's, lane by lane: the results are the
 * reference's, bit for bit, as with the x86 kernels. */
#include "quant_blocks.h"
#include "quant_kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* The 4 activation bytes at p in every lane. */
INLINE int8x16_t bcast4(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/* acc + in each lane the sum of its 4 weight bytes w times the 4 bytes of x. */
INLINE int32x4_t dot4(const int sdot, int32x4_t acc, int8x16_t w, int8x16_t x) {
#ifdef __ARM_FEATURE_DOTPROD
  if (sdot) return vdotq_s32(acc, w, x);
#endif
  (void)sdot;
  const int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x))); /* rows 0, 1: two pair sums each */
  const int32x4_t hi = vpaddlq_s16(vmull_high_s8(w, x));                      /* rows 2, 3 */
  return vaddq_s32(acc, vpaddq_s32(lo, hi));
}

/* Quarter q (16 bytes) of a 64-byte chunk. */
INLINE uint8x16_t load_quarter(const uint8_t *chunk, int q) { return vld1q_u8(chunk + 16 * q); }

/* 4 halves at p as floats (exact). */
INLINE float32x4_t halfs4(const uint8_t *p) {
  uint16_t h[4];
  memcpy(h, p, sizeof h);
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

/* +16 on the bytes of quarter q whose bit is set in the group's 64-bit mask
 * (bit 4r + i for row r, weight i): the mask's bits 16q..16q+15. */
INLINE uint8x16_t fifth_bit(uint8x16_t v, const uint8_t *mask, int q) {
  static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bytes = vcombine_u8(vdup_n_u8(mask[2 * q]), vdup_n_u8(mask[2 * q + 1]));
  return vaddq_u8(v, vandq_u8(vtstq_u8(bytes, vld1q_u8(bit)), vdupq_n_u8(16)));
}

/* 4 signed bytes at p widened to the lanes of an int32x4. */
INLINE int32x4_t widen4(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(v)))));
}

#define XQ(i, b, bs) (x->q + (size_t)(m0 + (i)) * x->ldq + (size_t)(b) * (bs))
#define XD(i, b) (x->d[(size_t)(m0 + (i)) * x->ldd + (b)])
#define XS32(i, j) (x->s32[(size_t)(m0 + (i)) * x->lds32 + (j)])
#define XS16(i, j) (x->s16[(size_t)(m0 + (i)) * x->lds16 + (j)])

/* ---- the 32-blocks -------------------------------------------------------- */

INLINE void block32_rows_impl(const int sdot, enum mdi_matrix_type t, const int MR, float *out, size_t ldo,
                              const struct mdi_qact *x, int m0, const uint8_t *tiles, int nblocks) {
  const size_t tb = qtile_bytes(t);
  const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1, five = t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1;
  const int o = t == MDI_MATRIX_Q4_0 ? 8 : t == MDI_MATRIX_Q5_0 ? 16 : 0; /* Q8_0: signed, no offset */
  const size_t d_at = t == MDI_MATRIX_Q8_0 ? 512 : five ? 320 : 256;
  for (int q = 0; q < 4; q++) {
    float32x4_t acc[QMR];
    for (int i = 0; i < MR; i++) acc[i] = vdupq_n_f32(0.0f);
    for (int b = 0; b < nblocks; b++) {
      const uint8_t *tile = tiles + (size_t)b * tb;
      int8x16_t u[8]; /* quad c: elements 4c..4c+3 */
      if (t == MDI_MATRIX_Q8_0) {
        for (int c = 0; c < 8; c++)
          u[c] = vreinterpretq_s8_u8(veorq_u8(load_quarter(tile + 64 * c, q), vdupq_n_u8(0x80)));
      } else {
        for (int c = 0; c < 4; c++) {
          const uint8x16_t raw = load_quarter(tile + 64 * c, q);
          uint8x16_t lo = vandq_u8(raw, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(raw, 4);
          if (five) {
            lo = fifth_bit(lo, tile + 256 + 8 * (2 * c), q);
            hi = fifth_bit(hi, tile + 256 + 8 * (2 * c + 1), q);
          }
          u[c] = vreinterpretq_s8_u8(lo);
          u[c + 4] = vreinterpretq_s8_u8(hi);
        }
      }
      const float32x4_t dw = halfs4(tile + d_at + 8 * q);
      const float32x4_t mw = one ? halfs4(tile + d_at + 32 + 8 * q) : vdupq_n_f32(0.0f);
      for (int i = 0; i < MR; i++) {
        const int8_t *xq = XQ(i, b, 32);
        int32x4_t s = vdupq_n_s32(0);
        for (int c = 0; c < 8; c++) s = dot4(sdot, s, u[c], bcast4(xq + 4 * c));
        const int32_t S = XS32(i, b);
        if (o) s = vsubq_s32(s, vdupq_n_s32(o * S));
        const float32x4_t dx = vdupq_n_f32(XD(i, b));
        acc[i] = vfmaq_f32(acc[i], vcvtq_f32_s32(s), vmulq_f32(dw, dx));
        if (one) acc[i] = vfmaq_f32(acc[i], vdupq_n_f32((float)S), vmulq_f32(mw, dx));
      }
    }
    for (int i = 0; i < MR; i++) vst1q_f32(out + (size_t)i * ldo + 4 * q, acc[i]);
  }
}

/* ---- Q4_K, Q5_K ----------------------------------------------------------- */

/* Sub-block scales and mins of rows 4q..4q+3, one int32 lane per row. */
INLINE void k_scales(const uint8_t *sc_at, int q, int32x4_t sc[8], int32x4_t mn[8]) {
  int s[8][4], m[8][4];
  for (int r = 0; r < 4; r++) {
    uint8_t col[12];
    for (int b = 0; b < 12; b++) col[b] = sc_at[16 * b + 4 * q + r];
    for (int j = 0; j < 8; j++) quant_k_scale(col, j, &s[j][r], &m[j][r]);
  }
  for (int j = 0; j < 8; j++) {
    sc[j] = vld1q_s32(s[j]);
    mn[j] = vld1q_s32(m[j]);
  }
}

INLINE void k45_rows_impl(const int sdot, const int five, const int MR, float *out, size_t ldo,
                          const struct mdi_qact *x, int m0, const uint8_t *tiles, int nblocks) {
  const size_t tb = five ? 2816 : 2304, sc_at = five ? 2560 : 2048;
  for (int q = 0; q < 4; q++) {
    float32x4_t acc[QMR];
    for (int i = 0; i < MR; i++) acc[i] = vdupq_n_f32(0.0f);
    for (int b = 0; b < nblocks; b++) {
      const uint8_t *tile = tiles + (size_t)b * tb;
      int32x4_t sc[8], mn[8], I[QMR], J[QMR];
      k_scales(tile + sc_at, q, sc, mn);
      for (int i = 0; i < MR; i++) {
        I[i] = J[i] = vdupq_n_s32(0);
        for (int j = 0; j < 8; j++) J[i] = vmlaq_n_s32(J[i], mn[j], XS32(i, 8 * b + j));
      }
      for (int p = 0; p < 4; p++) {
        int32x4_t lo_sum[QMR], hi_sum[QMR];
        for (int i = 0; i < MR; i++) lo_sum[i] = hi_sum[i] = vdupq_n_s32(0);
        for (int c = 0; c < 8; c++) {
          const uint8x16_t raw = load_quarter(tile + 64 * (8 * p + c), q);
          uint8x16_t lo = vandq_u8(raw, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(raw, 4);
          if (five) {
            lo = fifth_bit(lo, tile + 2048 + 8 * (2 * (8 * p + c)), q);
            hi = fifth_bit(hi, tile + 2048 + 8 * (2 * (8 * p + c) + 1), q);
          }
          for (int i = 0; i < MR; i++) {
            const int8_t *xq = XQ(i, b, 256) + 64 * p + 4 * c;
            lo_sum[i] = dot4(sdot, lo_sum[i], vreinterpretq_s8_u8(lo), bcast4(xq));
            hi_sum[i] = dot4(sdot, hi_sum[i], vreinterpretq_s8_u8(hi), bcast4(xq + 32));
          }
        }
        for (int i = 0; i < MR; i++) I[i] = vmlaq_s32(vmlaq_s32(I[i], lo_sum[i], sc[2 * p]), hi_sum[i], sc[2 * p + 1]);
      }
      const float32x4_t d = halfs4(tile + sc_at + 192 + 8 * q), dmin = halfs4(tile + sc_at + 224 + 8 * q);
      for (int i = 0; i < MR; i++) {
        const float32x4_t dx = vdupq_n_f32(XD(i, b));
        acc[i] = vfmaq_f32(acc[i], vcvtq_f32_s32(I[i]), vmulq_f32(d, dx));
        acc[i] = vfmsq_f32(acc[i], vcvtq_f32_s32(J[i]), vmulq_f32(dmin, dx));
      }
    }
    for (int i = 0; i < MR; i++) vst1q_f32(out + (size_t)i * ldo + 4 * q, acc[i]);
  }
}

/* ---- Q6_K ------------------------------------------------------------------- */

INLINE void q6k_rows_impl(const int sdot, const int MR, float *out, size_t ldo, const struct mdi_qact *x, int m0,
                          const uint8_t *tiles, int nblocks) {
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(0x30);
  for (int q = 0; q < 4; q++) {
    float32x4_t acc[QMR];
    for (int i = 0; i < MR; i++) acc[i] = vdupq_n_f32(0.0f);
    for (int b = 0; b < nblocks; b++) {
      const uint8_t *tile = tiles + (size_t)b * 3360;
      int32x4_t I[QMR];
      for (int i = 0; i < MR; i++) I[i] = vdupq_n_s32(0);
      for (int h = 0; h < 2; h++)
        for (int cg = 0; cg < 8; cg += 4) {
          int32x4_t sum[4][QMR];
          for (int e = 0; e < 4; e++)
            for (int i = 0; i < MR; i++) sum[e][i] = vdupq_n_s32(0);
          for (int c = cg; c < cg + 4; c++) {
            const uint8x16_t ql = load_quarter(tile + 64 * (16 * h + c), q);
            const uint8x16_t ql8 = load_quarter(tile + 64 * (16 * h + c + 8), q);
            const uint8x16_t qh = load_quarter(tile + 2048 + 64 * (8 * h + c), q);
            const uint8x16_t e[4] = {
                vorrq_u8(vandq_u8(ql, m4), vandq_u8(vshlq_n_u8(qh, 4), m3)),
                vorrq_u8(vandq_u8(ql8, m4), vandq_u8(vshlq_n_u8(qh, 2), m3)),
                vorrq_u8(vshrq_n_u8(ql, 4), vandq_u8(qh, m3)),
                vorrq_u8(vshrq_n_u8(ql8, 4), vandq_u8(vshrq_n_u8(qh, 2), m3))};
            for (int k = 0; k < 4; k++)
              for (int i = 0; i < MR; i++)
                sum[k][i] = dot4(sdot, sum[k][i], vreinterpretq_s8_u8(e[k]),
                                 bcast4(XQ(i, b, 256) + 128 * h + 32 * k + 4 * c));
          }
          for (int k = 0; k < 4; k++) {
            const int sb = 8 * h + cg / 4 + 2 * k;
            const int32x4_t scale = widen4(tile + 3072 + 16 * sb + 4 * q);
            for (int i = 0; i < MR; i++)
              I[i] = vmlaq_s32(I[i], vsubq_s32(sum[k][i], vdupq_n_s32(32 * XS16(i, 16 * b + sb))), scale);
          }
        }
      const float32x4_t d = halfs4(tile + 3328 + 8 * q);
      for (int i = 0; i < MR; i++)
        acc[i] = vfmaq_f32(acc[i], vcvtq_f32_s32(I[i]), vmulq_f32(d, vdupq_n_f32(XD(i, b))));
    }
    for (int i = 0; i < MR; i++) vst1q_f32(out + (size_t)i * ldo + 4 * q, acc[i]);
  }
}

/* The two kernels: QKERNELS_DEFINE instantiates block32_rows, k45_rows and
 * q6k_rows; NEON_SDOT picks the dot product inside them. */
#define block32_rows(t, MR, ...) block32_rows_impl(NEON_SDOT, t, MR, __VA_ARGS__)
#define k45_rows(five, MR, ...) k45_rows_impl(NEON_SDOT, five, MR, __VA_ARGS__)
#define q6k_rows(MR, ...) q6k_rows_impl(NEON_SDOT, MR, __VA_ARGS__)
#define NEON_SDOT 0
QKERNELS_DEFINE(neon)
#undef NEON_SDOT
#ifdef __ARM_FEATURE_DOTPROD
#define NEON_SDOT 1
QKERNELS_DEFINE(neon_dotprod)
#else
mdi_qkernel_fn mdi_qkernel_neon_dotprod(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}
#endif

#else

mdi_qkernel_fn mdi_qkernel_neon(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}

mdi_qkernel_fn mdi_qkernel_neon_dotprod(enum mdi_matrix_type t) {
  (void)t;
  return NULL;
}

#endif

/* Weight types, half floats and the dequantization of every block format
 * (quant.h).  The quantizers are in quant_make.c. */
#include "mdi/model/quant.h"

#include <math.h>
#include <strings.h>

#include "mdi/base/error.h"
#include "quant_blocks.h"

static const struct mdi_quant_format formats[MDI_MATRIX_N_TYPES] = {
    [MDI_MATRIX_F32] = {"F32", 1, 4, 0},
    [MDI_MATRIX_Q8_0] = {"Q8_0", MDI_QK, sizeof(struct blk_q8_0), 8},
    [MDI_MATRIX_Q4_0] = {"Q4_0", MDI_QK, sizeof(struct blk_q4_0), 2},
    [MDI_MATRIX_Q4_1] = {"Q4_1", MDI_QK, sizeof(struct blk_q4_1), 3},
    [MDI_MATRIX_Q5_0] = {"Q5_0", MDI_QK, sizeof(struct blk_q5_0), 6},
    [MDI_MATRIX_Q5_1] = {"Q5_1", MDI_QK, sizeof(struct blk_q5_1), 7},
    [MDI_MATRIX_Q4_K] = {"Q4_K", MDI_QK_K, sizeof(struct blk_q4_K), 12},
    [MDI_MATRIX_Q5_K] = {"Q5_K", MDI_QK_K, sizeof(struct blk_q5_K), 13},
    [MDI_MATRIX_Q6_K] = {"Q6_K", MDI_QK_K, sizeof(struct blk_q6_K), 14},
};

const struct mdi_quant_format *mdi_quant_format(enum mdi_matrix_type t) {
  MDI_ASSERT(t >= 0 && t < MDI_MATRIX_N_TYPES);
  return &formats[t];
}

int mdi_quant_parse(const char *name, enum mdi_matrix_type *t) {
  for (int i = 0; i < MDI_MATRIX_N_TYPES; i++)
    if (strcasecmp(name, formats[i].name) == 0) {
      *t = (enum mdi_matrix_type)i;
      return MDI_OK;
    }
  return MDI_ERR;
}

int mdi_quant_from_ggml(int ggml_type, enum mdi_matrix_type *t) {
  for (int i = 0; i < MDI_MATRIX_N_TYPES; i++)
    if (formats[i].ggml_type == ggml_type) {
      *t = (enum mdi_matrix_type)i;
      return MDI_OK;
    }
  return MDI_ERR;
}

size_t mdi_quant_row_bytes(enum mdi_matrix_type t, int64_t cols) {
  const struct mdi_quant_format *f = mdi_quant_format(t);
  MDI_ASSERT(cols >= 0 && cols % f->block == 0);
  return (size_t)(cols / f->block) * (size_t)f->bytes;
}

/* ---- half floats ----------------------------------------------------------- */

float mdi_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13); /* inf, NaN (payload kept) */
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign; /* signed zero */
  } else {
    /* subnormal half: normalize, every half subnormal is a float normal */
    int e = -1;
    do {
      mant <<= 1;
      e++;
    } while (!(mant & 0x400));
    bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t mdi_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7e00;  /* NaN: the quiet NaN ggml writes */
  if (ax >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: infinity */
  if (ax < 0x38800000u) {
    /* below the smallest normal half (2^-14): a subnormal in units of 2^-24,
     * rounded to nearest even (1.5 * 2^23 absorbs the fraction exactly) */
    float a;
    memcpy(&a, &ax, sizeof a);
    const float r = a * 0x1p24f + 12582912.0f;
    uint32_t rb;
    memcpy(&rb, &r, sizeof rb);
    return sign | (uint16_t)(rb - 0x4b400000u);
  }
  /* normal: drop 13 mantissa bits, round to nearest even (a carry into the
   * exponent is the right result) */
  const uint32_t half = ax - ((127u - 15u) << 23);
  const uint32_t rounded = half + 0xfffu + ((half >> 13) & 1u);
  return sign | (uint16_t)(rounded >> 13);
}

/* ---- dequantization ------------------------------------------------------------ */

/* A scale and a min (q * d + m, d * q - m) apply in one rounding (fmaf):
 * the values these functions have always given on x86, where the compiler
 * fused them before the build said -ffp-contract=off. */

#define LOAD(type, var, p) \
  struct type var;         \
  memcpy(&var, p, sizeof var)

static void dequant_q32(enum mdi_matrix_type t, const uint8_t *p, float *y) {
  switch (t) {
    case MDI_MATRIX_Q8_0: {
      LOAD(blk_q8_0, b, p);
      const float d = mdi_f16_to_f32(b.d);
      for (int j = 0; j < 32; j++) y[j] = b.qs[j] * d;
      return;
    }
    case MDI_MATRIX_Q4_0: {
      LOAD(blk_q4_0, b, p);
      const float d = mdi_f16_to_f32(b.d);
      for (int j = 0; j < 16; j++) {
        y[j] = ((b.qs[j] & 0xF) - 8) * d;
        y[j + 16] = ((b.qs[j] >> 4) - 8) * d;
      }
      return;
    }
    case MDI_MATRIX_Q4_1: {
      LOAD(blk_q4_1, b, p);
      const float d = mdi_f16_to_f32(b.d), m = mdi_f16_to_f32(b.m);
      for (int j = 0; j < 16; j++) {
        y[j] = fmaf((float)(b.qs[j] & 0xF), d, m);
        y[j + 16] = fmaf((float)(b.qs[j] >> 4), d, m);
      }
      return;
    }
    case MDI_MATRIX_Q5_0:
    case MDI_MATRIX_Q5_1: {
      /* Q5_1 is Q5_0 with a min after the scale */
      const int one = t == MDI_MATRIX_Q5_1;
      uint16_t d16, m16 = 0;
      uint32_t qh;
      uint8_t qs[16];
      memcpy(&d16, p, 2);
      if (one) memcpy(&m16, p + 2, 2);
      memcpy(&qh, p + 2 + 2 * one, 4);
      memcpy(qs, p + 6 + 2 * one, 16);
      const float d = mdi_f16_to_f32(d16), m = mdi_f16_to_f32(m16);
      for (int j = 0; j < 16; j++) {
        const int lo = (qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
        const int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = one ? fmaf((float)lo, d, m) : (lo - 16) * d;
        y[j + 16] = one ? fmaf((float)hi, d, m) : (hi - 16) * d;
      }
      return;
    }
    default: MDI_PANIC("not a 32-block type: %d", (int)t);
  }
}

static void dequant_k(enum mdi_matrix_type t, const uint8_t *p, float *y) {
  if (t == MDI_MATRIX_Q6_K) {
    LOAD(blk_q6_K, b, p);
    const float d = mdi_f16_to_f32(b.d);
    for (int e = 0; e < MDI_QK_K; e++) y[e] = d * b.scales[e / 16] * (quant_q6_value(&b, e) - 32);
    return;
  }
  /* Q4_K and Q5_K share d, dmin, scales and qs; Q5_K adds qh */
  uint16_t d16, dmin16;
  uint8_t scales[12], qh[32] = {0}, qs[128];
  const int five = t == MDI_MATRIX_Q5_K;
  memcpy(&d16, p, 2);
  memcpy(&dmin16, p + 2, 2);
  memcpy(scales, p + 4, 12);
  if (five) memcpy(qh, p + 16, 32);
  memcpy(qs, p + 16 + 32 * five, 128);
  const float d = mdi_f16_to_f32(d16), dmin = mdi_f16_to_f32(dmin16);
  for (int j = 0; j < 8; j++) {
    int sc, mn;
    quant_k_scale(scales, j, &sc, &mn);
    const float dj = d * sc, mj = dmin * mn;
    const int pair = j / 2, high = j & 1;
    for (int l = 0; l < 32; l++) {
      const uint8_t q = qs[32 * pair + l];
      const int v = (high ? q >> 4 : q & 0xF) | (((qh[l] >> j) & 1) << 4);
      y[32 * j + l] = fmaf(dj, (float)v, -mj);
    }
  }
}

void mdi_quant_dequantize_row(enum mdi_matrix_type t, const uint8_t *blocks, float *out, int cols) {
  const struct mdi_quant_format *f = mdi_quant_format(t);
  MDI_ASSERT(cols % f->block == 0);
  if (t == MDI_MATRIX_F32) {
    memcpy(out, blocks, (size_t)cols * sizeof(float));
    return;
  }
  for (int b = 0; b < cols / f->block; b++) {
    if (f->block == MDI_QK)
      dequant_q32(t, blocks + (size_t)b * f->bytes, out + (size_t)b * MDI_QK);
    else
      dequant_k(t, blocks + (size_t)b * f->bytes, out + (size_t)b * MDI_QK_K);
  }
}

/* ---- validation ---------------------------------------------------------------- */

static int finite_f16(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return (h & 0x7c00) != 0x7c00;
}

int mdi_quant_find_bad_block(enum mdi_matrix_type t, const uint8_t *blocks, int cols) {
  const struct mdi_quant_format *f = mdi_quant_format(t);
  /* byte offsets of the half-float scales inside a block */
  int at[2] = {0, -1};
  switch (t) {
    case MDI_MATRIX_F32: return -1;
    case MDI_MATRIX_Q4_1:
    case MDI_MATRIX_Q5_1:
    case MDI_MATRIX_Q4_K:
    case MDI_MATRIX_Q5_K: at[1] = 2; break;
    case MDI_MATRIX_Q6_K: at[0] = 208; break;
    default: break;
  }
  for (int b = 0; b < cols / f->block; b++) {
    const uint8_t *p = blocks + (size_t)b * f->bytes;
    if (!finite_f16(p + at[0]) || (at[1] >= 0 && !finite_f16(p + at[1]))) return b;
  }
  return -1;
}

/* The quantizers of quant.h: llama.cpp's reference quantization (ggml's
 * quantize_row_<type>_ref, the path llama-quantize takes without an
 * importance matrix), written here in the same arithmetic, operation for
 * operation, so the blocks come out bit for bit the same.
 *
 * That equality needs float expressions evaluated exactly as written: the
 * project is compiled with -ffp-contract=off (CMakeLists.txt), since a
 * product fused into an add rounds once where ggml (built for a baseline
 * x86-64 without FMA) rounds twice.  The sums run in the same order as
 * ggml's loops; nothing here may be vectorized by reassociation (no
 * -ffast-math in this project). */
#include <float.h>
#include <math.h>

#include "mdi/base/error.h"
#include "mdi/model/quant.h"
#include "quant_blocks.h"

#define GROUP_MAX_EPS 1e-15f /* ggml: a group below this magnitude is zero */

static inline int imin(int a, int b) { return a < b ? a : b; }

/* A float converted to a small integer type the way ggml's casts compile on
 * x86-64 (cvttss2si, then the low byte): truncation, and 0 for NaN, the
 * infinities and values beyond int32, which only a group of magnitude below
 * ~1e-37 can produce (1/d overflows). */
static inline int low_byte(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0;
  return (int8_t)(int32_t)v;
}
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Round to nearest (ties to even) through the float's mantissa, as ggml's
 * nearest_int; |f| <= 4194303. */
static inline int nearest(float f) {
  const float v = f + 12582912.0f;
  int32_t i;
  memcpy(&i, &v, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

/* ---- the 32-blocks --------------------------------------------------------- */

static void quantize_q8_0(const float *x, struct blk_q8_0 *y) {
  float amax = 0.0f;
  for (int j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
  const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
  y->d = mdi_f32_to_f16(d);
  for (int j = 0; j < 32; j++) y->qs[j] = (int8_t)low_byte(roundf(x[j] * id));
}

/* Q4_0 (nmax 8) and Q5_0 (nmax 16): d = -max/nmax for the signed value of
 * largest magnitude, q = min(2 nmax - 1, trunc(x/d + nmax + 0.5)). */
static void quantize_symmetric(const float *x, int nmax, uint16_t *d16, uint8_t q[32]) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; j++)
    if (amax < fabsf(x[j])) {
      amax = fabsf(x[j]);
      max = x[j];
    }
  const float d = max / (float)-nmax, id = d ? 1.0f / d : 0.0f;
  *d16 = mdi_f32_to_f16(d);
  const float offset = (float)nmax + 0.5f;
  for (int j = 0; j < 32; j++) q[j] = (uint8_t)imin(2 * nmax - 1, low_byte(x[j] * id + offset));
}

/* Q4_1 (nmax 15) and Q5_1 (nmax 31): d = (max - min)/nmax, m = min. */
static void quantize_affine(const float *x, int nmax, uint16_t *d16, uint16_t *m16, uint8_t q[32]) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; j++) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / (float)nmax, id = d ? 1.0f / d : 0.0f;
  *d16 = mdi_f32_to_f16(d);
  *m16 = mdi_f32_to_f16(min);
  for (int j = 0; j < 32; j++) {
    const float v = (x[j] - min) * id + 0.5f;
    /* ggml clamps Q4_1 to 15 but not Q5_1, whose v stays below 31.5 */
    q[j] = nmax == 15 ? (uint8_t)imin(15, low_byte(v)) : (uint8_t)low_byte(v);
  }
}

/* 4-bit values q[32] into qs[16]: element j low, j + 16 high. */
static void pack_nibbles(const uint8_t q[32], uint8_t qs[16]) {
  for (int j = 0; j < 16; j++) qs[j] = (uint8_t)((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
}

static uint32_t fifth_bits(const uint8_t q[32]) {
  uint32_t qh = 0;
  for (int j = 0; j < 32; j++) qh |= (uint32_t)((q[j] >> 4) & 1) << j;
  return qh;
}

static void quantize_block32(enum mdi_matrix_type t, const float *x, uint8_t *out) {
  uint8_t q[32];
  switch (t) {
    case MDI_MATRIX_Q8_0: {
      struct blk_q8_0 b;
      quantize_q8_0(x, &b);
      memcpy(out, &b, sizeof b);
      return;
    }
    case MDI_MATRIX_Q4_0:
    case MDI_MATRIX_Q4_1:
    case MDI_MATRIX_Q5_0:
    case MDI_MATRIX_Q5_1: {
      const struct q32_fields f = quant_q32_fields(t);
      uint16_t d16, m16 = 0;
      if (f.one) quantize_affine(x, f.five ? 31 : 15, &d16, &m16, q);
      else quantize_symmetric(x, f.five ? 16 : 8, &d16, q);
      memcpy(out, &d16, 2);
      if (f.one) memcpy(out + f.m_at, &m16, 2);
      if (f.five) {
        const uint32_t qh = fifth_bits(q);
        memcpy(out + f.qh_at, &qh, 4);
      }
      uint8_t *p = out + f.qs_at;
      pack_nibbles(q, p);
      return;
    }
    default: MDI_PANIC("not a 32-block type: %d", (int)t);
  }
}

/* ---- K types: a scale and a min per sub-block (Q4_K, Q5_K) ------------------ */

/* ggml's make_qkx2_quants: the levels L[n] in [0, nmax] and scale, min
 * (returned as *neg_min = -min >= 0) minimising the weighted squared error,
 * searching nstep + 1 scales around nmax / (max - min). */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min,
                           float rmin, float rdelta, int nstep) {
  uint8_t Laux[32];
  float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    memset(L, 0, (size_t)n);
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min), scale = 1 / iscale, best_error = 0;
  for (int i = 0; i < n; i++) {
    L[i] = (uint8_t)imax(0, imin(nmax, nearest(iscale * (x[i] - min))));
    const float diff = scale * L[i] + min - x[i];
    best_error += w[i] * (diff * diff);
  }
  for (int is = 0; is <= nstep; is++) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; i++) {
      const int l = imax(0, imin(nmax, nearest(iscale * (x[i] - min))));
      Laux[i] = (uint8_t)l;
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float cur_error = 0;
    for (int i = 0; i < n; i++) {
      const float diff = this_scale * Laux[i] + this_min - x[i];
      cur_error += w[i] * (diff * diff);
    }
    if (cur_error < best_error) {
      memcpy(L, Laux, (size_t)n);
      best_error = cur_error;
      scale = this_scale;
      min = this_min;
    }
  }
  *neg_min = -min;
  return scale;
}

/* Q4_K (nmax 15) and Q5_K (nmax 31) of 256 weights: the levels L[256], d,
 * dmin and the 12 packed scale bytes. */
static void quantize_k_levels(const float *x, int nmax, uint8_t L[256], uint16_t *d16, uint16_t *dmin16,
                              uint8_t scales[12]) {
  float mins[8], subscales[8], weights[32], max_scale = 0, max_min = 0;
  const float rmin = nmax == 15 ? -1.0f : -0.5f;
  const int nstep = nmax == 15 ? 20 : 15;
  for (int j = 0; j < 8; j++) {
    const float *xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; l++) sum_x2 += xj[l] * xj[l];
    const float av_x = sqrtf(sum_x2 / 32);
    for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xj[l]);
    subscales[j] = fit_scale_min(32, nmax, xj, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
    if (subscales[j] > max_scale) max_scale = subscales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; j++) {
    /* ggml stores nearest() in a uint8_t before clamping to 63 */
    const uint8_t ls = (uint8_t)imin(63, (uint8_t)nearest(inv_scale * subscales[j]));
    const uint8_t lm = (uint8_t)imin(63, (uint8_t)nearest(inv_min * mins[j]));
    if (j < 4) {
      scales[j] = ls;
      scales[j + 4] = lm;
    } else {
      scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
      scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
      scales[j] |= (uint8_t)((lm >> 4) << 6);
    }
  }
  *d16 = mdi_f32_to_f16(max_scale / 63.f);
  *dmin16 = mdi_f32_to_f16(max_min / 63.f);
  /* the levels again against the stored (rounded) scales */
  for (int j = 0; j < 8; j++) {
    int sc, mn;
    quant_k_scale(scales, j, &sc, &mn);
    const float d = mdi_f16_to_f32(*d16) * sc;
    if (!d) continue;
    const float dm = mdi_f16_to_f32(*dmin16) * mn;
    for (int i = 0; i < 32; i++) L[32 * j + i] = (uint8_t)imax(0, imin(nmax, nearest((x[32 * j + i] + dm) / d)));
  }
}

static void quantize_q4_K(const float *x, struct blk_q4_K *y) {
  uint8_t L[256];
  quantize_k_levels(x, 15, L, &y->d, &y->dmin, y->scales);
  for (int p = 0; p < 4; p++)
    for (int l = 0; l < 32; l++) y->qs[32 * p + l] = (uint8_t)(L[64 * p + l] | (L[64 * p + l + 32] << 4));
}

static void quantize_q5_K(const float *x, struct blk_q5_K *y) {
  uint8_t L[256];
  quantize_k_levels(x, 31, L, &y->d, &y->dmin, y->scales);
  memset(y->qh, 0, sizeof y->qh);
  for (int p = 0; p < 4; p++)
    for (int l = 0; l < 32; l++) {
      const int lo = L[64 * p + l], hi = L[64 * p + l + 32];
      y->qh[l] |= (uint8_t)(((lo >> 4) << (2 * p)) | ((hi >> 4) << (2 * p + 1)));
      y->qs[32 * p + l] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
    }
}

/* ---- Q6_K: a signed scale per 16 --------------------------------------------- */

/* ggml's make_qx_quants with rmse_type 1 (weights x^2) and no importance:
 * levels L[n] = l + nmax for l in [-nmax, nmax - 1] and the scale, trying
 * 18 scales around nmax / max. */
static float fit_scale_signed(int n, int nmax, const float *x, int8_t *L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++)
    if (fabsf(x[i]) > amax) {
      amax = fabsf(x[i]);
      max = x[i];
    }
  if (amax < GROUP_MAX_EPS) {
    memset(L, 0, (size_t)n);
    return 0.f;
  }
  float iscale = -nmax / max, sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; i++) {
    const int l = imax(-nmax, imin(nmax - 1, nearest(iscale * x[i])));
    L[i] = (int8_t)(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
  for (int is = -9; is <= 9; is++) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; i++) {
      const int l = imax(-nmax, imin(nmax - 1, nearest(iscale * x[i])));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; i++) L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, nearest(iscale * x[i]))));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

static void quantize_q6_K(const float *x, struct blk_q6_K *y) {
  int8_t L[256];
  float subscales[16], max_scale = 0, max_abs_scale = 0;
  for (int s = 0; s < 16; s++) {
    subscales[s] = fit_scale_signed(16, 32, x + 16 * s, L + 16 * s);
    if (fabsf(subscales[s]) > max_abs_scale) {
      max_abs_scale = fabsf(subscales[s]);
      max_scale = subscales[s];
    }
  }
  memset(y, 0, sizeof *y);
  if (max_abs_scale < GROUP_MAX_EPS) return; /* all zero, d = +0 */
  const float iscale = -128.f / max_scale;
  y->d = mdi_f32_to_f16(1 / iscale);
  for (int s = 0; s < 16; s++) y->scales[s] = (int8_t)imin(127, nearest(iscale * subscales[s]));
  for (int s = 0; s < 16; s++) {
    const float d = mdi_f16_to_f32(y->d) * y->scales[s];
    if (!d) continue;
    for (int i = 0; i < 16; i++) L[16 * s + i] = (int8_t)(imax(-32, imin(31, nearest(x[16 * s + i] / d))) + 32);
  }
  for (int h = 0; h < 2; h++)
    for (int l = 0; l < 32; l++) {
      const int8_t *q = L + 128 * h + l;
      y->ql[64 * h + l] = (uint8_t)((q[0] & 0xF) | ((q[64] & 0xF) << 4));
      y->ql[64 * h + l + 32] = (uint8_t)((q[32] & 0xF) | ((q[96] & 0xF) << 4));
      y->qh[32 * h + l] = (uint8_t)((q[0] >> 4) | ((q[32] >> 4) << 2) | ((q[64] >> 4) << 4) | ((q[96] >> 4) << 6));
    }
}

void mdi_quant_quantize_row(enum mdi_matrix_type t, const float *w, uint8_t *blocks, int cols) {
  const struct mdi_quant_format *f = mdi_quant_format(t);
  MDI_ASSERT(cols % f->block == 0);
  for (int b = 0; b < cols / f->block; b++) {
    const float *x = w + (size_t)b * f->block;
    uint8_t *out = blocks + (size_t)b * f->bytes;
    if (t == MDI_MATRIX_F32) {
      memcpy(out, x, sizeof(float));
    } else if (f->block == MDI_QK) {
      quantize_block32(t, x, out);
    } else {
      /* the block structs have 2-byte alignment; out may have less */
      union {
        struct blk_q4_K q4;
        struct blk_q5_K q5;
        struct blk_q6_K q6;
      } k;
      if (t == MDI_MATRIX_Q4_K) quantize_q4_K(x, &k.q4);
      else if (t == MDI_MATRIX_Q5_K) quantize_q5_K(x, &k.q5);
      else quantize_q6_K(x, &k.q6);
      memcpy(out, &k, (size_t)f->bytes);
    }
  }
}

/* Per-row operations of the Llama block (see ops.h). */
#include "mdi/model/ops.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "simd.h"

/* a . b (q . k over one head, x . x of a norm): 8 lanes of fused multiply-adds, then a fixed
 * reduction, then the n % 8 tail. */
static inline float dot_head(const float *a, const float *b, int n) {
  v8f acc = {0};
  int i = 0;
  for (; i + 8 <= n; i += 8) acc = fma8(load8(a + i), load8(b + i), acc);
  float s = hsum8(acc);
  for (; i < n; i++) s = fmaf(a[i], b[i], s);
  return s;
}

void mdi_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
  const float ss = 1.0f / sqrtf(dot_head(x, x, n) / (float)n + eps);
  const v8f s8 = (v8f){0} + ss;
  int i = 0;
  for (; i + 8 <= n; i += 8) store8(out + i, load8(w + i) * (s8 * load8(x + i)));
  for (; i < n; i++) out[i] = w[i] * (ss * x[i]);
}

void mdi_rmsnorm_ref(float *out, const float *x, const float *w, int n, float eps) {
  double ss = 0.0;
  for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
  double scale = 1.0 / sqrt(ss / n + eps);
  for (int i = 0; i < n; i++) out[i] = (float)(w[i] * (scale * x[i]));
}

void mdi_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps) {
  v8f acc = {0};
  int i = 0;
  for (; i + 8 <= n; i += 8) acc += load8(x + i);
  float mean = hsum8(acc);
  for (; i < n; i++) mean += x[i];
  mean /= (float)n;
  const v8f m8 = (v8f){0} + mean;
  acc = (v8f){0};
  for (i = 0; i + 8 <= n; i += 8) {
    const v8f d = load8(x + i) - m8;
    acc = fma8(d, d, acc);
  }
  float var = hsum8(acc);
  for (; i < n; i++) var = fmaf(x[i] - mean, x[i] - mean, var);
  const float scale = 1.0f / sqrtf(var / (float)n + eps);
  const v8f s8 = (v8f){0} + scale;
  for (i = 0; i + 8 <= n; i += 8) store8(out + i, fma8((load8(x + i) - m8) * s8, load8(w + i), load8(b + i)));
  for (; i < n; i++) out[i] = fmaf((x[i] - mean) * scale, w[i], b[i]);
}

void mdi_layernorm_ref(float *out, const float *x, const float *w, const float *b, int n, float eps) {
  double mean = 0.0, var = 0.0;
  for (int i = 0; i < n; i++) mean += x[i];
  mean /= n;
  for (int i = 0; i < n; i++) var += ((double)x[i] - mean) * ((double)x[i] - mean);
  const double scale = 1.0 / sqrt(var / n + eps);
  for (int i = 0; i < n; i++) out[i] = (float)(((double)x[i] - mean) * scale * w[i] + b[i]);
}

void mdi_gelu(float *x, int n) {
  const float c = 0.7978845608028654f; /* sqrt(2 / pi) */
  for (int i = 0; i < n; i++) {
    const float v = x[i];
    /* the last product fused into the sum, as x86 builds always computed it */
    x[i] = 0.5f * v * (1.0f + tanhf(c * fmaf(0.044715f * v * v, v, v)));
  }
}

void mdi_gelu_ref(float *x, int n) {
  for (int i = 0; i < n; i++) {
    const double v = x[i];
    x[i] = (float)(0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
  }
}

/* float throughout, max subtracted first: the sampler relies on run.c's exact
 * arithmetic here to reproduce its tokens */
void mdi_softmax(float *x, int n) {
  float max = x[0];
  for (int i = 1; i < n; i++)
    if (x[i] > max) max = x[i];
  float sum = 0.0f;
  for (int i = 0; i < n; i++) {
    x[i] = expf(x[i] - max);
    sum += x[i];
  }
  for (int i = 0; i < n; i++) x[i] /= sum;
}

/* silu(v) * g of 8 lanes: v / (1 + e^-v) as v * (1 / (1 + e^-v)) */
static inline v8f swiglu8(v8f v, v8f g) { return v * (1.0f / (1.0f + exp8(-v))) * g; }

void mdi_swiglu(float *x, const float *gate, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) store8(x + i, swiglu8(load8(x + i), load8(gate + i)));
  if (i < n) store8_n(x + i, swiglu8(load8_n(x + i, n - i), load8_n(gate + i, n - i)), n - i); /* the same lanes */
}

void mdi_swiglu_ref(float *x, const float *gate, int n) {
  for (int i = 0; i < n; i++) {
    double v = x[i];
    x[i] = (float)(v / (1.0 + exp(-v)) * gate[i]);
  }
}

void mdi_rope_tables(float *cos_t, float *sin_t, int max_seq, int rope_dim, float theta, const float *factors) {
  const int half = rope_dim / 2;
  for (int p = 0; p < max_seq; p++)
    for (int i = 0; i < half; i++) {
      float freq = 1.0f / powf(theta, (float)(2 * i) / (float)rope_dim);
      if (factors) freq /= factors[i];
      float angle = (float)p * freq;
      cos_t[(size_t)p * half + i] = cosf(angle);
      sin_t[(size_t)p * half + i] = sinf(angle);
    }
}

void mdi_rope_apply(float *vec, int n, int head_size, int rope_dim, const float *cos_row, const float *sin_row) {
  const int half = rope_dim / 2;
  for (int h = 0; h < n; h += head_size)
    for (int i = 0; i < half; i++) {
      float *v = vec + h + 2 * i;
      float c = cos_row[i], s = sin_row[i];
      float v0 = v[0], v1 = v[1];
      /* each product rounded, then the sum: with -ffp-contract=off
       * (CMakeLists.txt) as written on every target; a fused product
       * here was one target's choice per loop version (x86 kept the
       * short loop's products apart, fused the vector loops'; AArch64
       * fused them all), and positions > 0 then differed in the last bit */
      v[0] = v0 * c - v1 * s;
      v[1] = v0 * s + v1 * c;
    }
}

void mdi_rope_apply_ref(float *vec, int n, int head_size, int rope_dim, int pos, float theta, const float *factors) {
  for (int h = 0; h < n; h += head_size)
    for (int d = 0; d < rope_dim; d += 2) {
      double angle = pos / pow(theta, (double)d / rope_dim) / (factors ? factors[d / 2] : 1.0);
      double v0 = vec[h + d], v1 = vec[h + d + 1];
      vec[h + d] = (float)(v0 * cos(angle) - v1 * sin(angle));
      vec[h + d + 1] = (float)(v0 * sin(angle) + v1 * cos(angle));
    }
}

void mdi_head_rmsnorm(float *x, const float *w, int n_heads, int head_size, float eps) {
  for (int h = 0; h < n_heads; h++) mdi_rmsnorm(x + (size_t)h * head_size, x + (size_t)h * head_size, w, head_size, eps);
}

/* Softmax of attention scores x[n] in place: the maximum, e^(x - max) in
 * vectors (a padded vector for the tail), their sum in 8 lanes then in a
 * fixed order.  Depends on n and the values only, so a row's attention is
 * the same whatever batch it is computed in.  (mdi_softmax, with expf, is
 * the sampler's: it reproduces run.c's probabilities.)  Public for
 * test_kernels_exact. */
void mdi_softmax_scores(float *x, int n) {
  v8f m8 = (v8f){0} + x[0];
  int i = 0;
  for (; i + 8 <= n; i += 8) m8 = max8(m8, load8(x + i));
  float max = m8[0];
  for (int l = 1; l < 8; l++) max = m8[l] > max ? m8[l] : max;
  for (; i < n; i++) max = x[i] > max ? x[i] : max;
  const v8f mx = (v8f){0} + max;
  v8f acc = {0};
  for (i = 0; i + 8 <= n; i += 8) {
    const v8f e = exp8(load8(x + i) - mx);
    store8(x + i, e);
    acc += e;
  }
  float sum = hsum8(acc);
  if (i < n) {
    const v8f e = exp8(load8_n(x + i, n - i) - mx);
    store8_n(x + i, e, n - i);
    for (int l = 0; l < n - i; l++) sum += e[l];
  }
  const v8f s8 = (v8f){0} + sum;
  for (i = 0; i + 8 <= n; i += 8) store8(x + i, load8(x + i) / s8);
  for (; i < n; i++) x[i] /= sum;
}


/* dot_head of q with k0..k3, each computed exactly as dot_head does; the
 * four independent chains overlap. */
static inline void dot_head4(const float *q, const float *k0, const float *k1, const float *k2, const float *k3,
                             int n, float *s) {
  v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8f x = load8(q + i);
    a0 = fma8(x, load8(k0 + i), a0);
    a1 = fma8(x, load8(k1 + i), a1);
    a2 = fma8(x, load8(k2 + i), a2);
    a3 = fma8(x, load8(k3 + i), a3);
  }
  s[0] = hsum8(a0), s[1] = hsum8(a1), s[2] = hsum8(a2), s[3] = hsum8(a3);
  for (; i < n; i++) {
    s[0] = fmaf(q[i], k0[i], s[0]);
    s[1] = fmaf(q[i], k1[i], s[1]);
    s[2] = fmaf(q[i], k2[i], s[2]);
    s[3] = fmaf(q[i], k3[i], s[3]);
  }
}

/* o[0..hs) = sum over t < T of a[t] * v[t][.] (v rows hs apart), each
 * element one fused chain in t: 64 outputs at a time in registers. */
static void weighted_sum(float *o, const float *a, const float *v, int T, int hs) {
  int i0 = 0;
  for (; i0 + 64 <= hs; i0 += 64) {
    v8f acc[8] = {{0}};
    for (int t = 0; t < T; t++) {
      const v8f w = (v8f){0} + a[t];
      const float *row = v + (size_t)t * hs + i0;
      for (int j = 0; j < 8; j++) acc[j] = fma8(w, load8(row + 8 * j), acc[j]);
    }
    for (int j = 0; j < 8; j++) store8(o + i0 + 8 * j, acc[j]);
  }
  for (; i0 + 8 <= hs; i0 += 8) {
    v8f acc = {0};
    for (int t = 0; t < T; t++) acc = fma8((v8f){0} + a[t], load8(v + (size_t)t * hs + i0), acc);
    store8(o + i0, acc);
  }
  for (; i0 < hs; i0++) {
    float acc = 0.0f;
    for (int t = 0; t < T; t++) acc = fmaf(a[t], v[(size_t)t * hs + i0], acc);
    o[i0] = acc;
  }
}

void mdi_attention_kv_head(float *out, const float *q, const float *keys, const float *values, int pos,
                           int max_seq, int n_heads, int n_kv_heads, int head_size, int kh, float *scratch) {
  const int group = n_heads / n_kv_heads, T = pos + 1;
  const float scale = 1.0f / sqrtf((float)head_size);
  const float *kcache = keys + (size_t)kh * max_seq * head_size;
  const float *vcache = values + (size_t)kh * max_seq * head_size;
  /* scores[g][t] for the `group` query heads sharing K/V head kh; each key
   * row is read once for all of them */
  int t = 0;
  for (; t + 4 <= T; t += 4) {
    const float *k = kcache + (size_t)t * head_size;
    for (int g = 0; g < group; g++) {
      float d[4];
      dot_head4(q + (kh * group + g) * head_size, k, k + head_size, k + 2 * head_size, k + 3 * head_size,
                head_size, d);
      for (int j = 0; j < 4; j++) scratch[(size_t)g * T + t + j] = d[j] * scale;
    }
  }
  for (; t < T; t++) {
    const float *k = kcache + (size_t)t * head_size;
    for (int g = 0; g < group; g++)
      scratch[(size_t)g * T + t] = dot_head(q + (kh * group + g) * head_size, k, head_size) * scale;
  }
  for (int g = 0; g < group; g++) {
    mdi_softmax_scores(scratch + (size_t)g * T, T);
    weighted_sum(out + (kh * group + g) * head_size, scratch + (size_t)g * T, vcache, T, head_size);
  }
}

void mdi_attention(float *out, const float *q, const float *keys, const float *values, int pos, int max_seq,
                   int n_heads, int n_kv_heads, int head_size, float *scratch) {
  for (int kh = 0; kh < n_kv_heads; kh++)
    mdi_attention_kv_head(out, q, keys, values, pos, max_seq, n_heads, n_kv_heads, head_size, kh, scratch);
}

void mdi_attention_ref(float *out, const float *q, const float *keys, const float *values, int pos, int max_seq,
                       int n_heads, int n_kv_heads, int head_size, float *scratch) {
  const int group = n_heads / n_kv_heads;
  for (int h = 0; h < n_heads; h++) {
    const float *qh = q + h * head_size;
    const int kh = h / group;
    const float *kcache = keys + (size_t)kh * max_seq * head_size;
    const float *vcache = values + (size_t)kh * max_seq * head_size;
    for (int t = 0; t <= pos; t++) {
      double s = 0.0;
      for (int i = 0; i < head_size; i++) s += (double)qh[i] * kcache[(size_t)t * head_size + i];
      scratch[t] = (float)(s / sqrt((double)head_size));
    }
    double max = scratch[0], sum = 0.0;
    for (int t = 1; t <= pos; t++)
      if (scratch[t] > max) max = scratch[t];
    for (int t = 0; t <= pos; t++) sum += exp(scratch[t] - max);
    for (int i = 0; i < head_size; i++) {
      double o = 0.0;
      for (int t = 0; t <= pos; t++)
        o += exp(scratch[t] - max) / sum * vcache[(size_t)t * head_size + i];
      out[h * head_size + i] = (float)o;
    }
  }
}

/* Element-wise and per-row operations of the Llama block.  Each optimized
 * function has a plain _ref twin that the unit tests compare it with. */
#ifndef MDI_OPS_H
#define MDI_OPS_H

/* out[n] = w[n] * x[n] / sqrt(mean(x^2) + eps); out may alias x. */
void mdi_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
void mdi_rmsnorm_ref(float *out, const float *x, const float *w, int n, float eps);

/* LayerNorm (gpt2): out[n] = (x - mean) / sqrt(var + eps) * w + b; out may alias x. */
void mdi_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps);
void mdi_layernorm_ref(float *out, const float *x, const float *w, const float *b, int n, float eps);

/* x[n] = gelu(x[n]), the tanh approximation GPT-2 uses. */
void mdi_gelu(float *x, int n);
void mdi_gelu_ref(float *x, int n);

/* In-place softmax of x[n]. */
void mdi_softmax(float *x, int n);
/* Attention's softmax of scores x[n] in place (vector e^x, ops.c): the
 * same bits on every target and in every position of a row. */
void mdi_softmax_scores(float *x, int n);

/* x[n] = silu(x[n]) * gate[n]  (SwiGLU: silu(w1 x) * w3 x). */
void mdi_swiglu(float *x, const float *gate, int n);
void mdi_swiglu_ref(float *x, const float *gate, int n);

/* RoPE tables [max_seq][rope_dim/2] as llama2.c computes them (float32):
 * freq_i = 1 / theta^(2i/rope_dim), divided by factors[i] when factors is not
 * NULL (rope scaling), angle = pos * freq_i. */
void mdi_rope_tables(float *cos_t, float *sin_t, int max_seq, int rope_dim, float theta, const float *factors);
/* Rotate adjacent pairs (2i, 2i+1), i < rope_dim/2, of every head of vec[n]
 * (n = heads * head_size) by the angles of row `pos` of the tables; the dims
 * from rope_dim to head_size (partial RoPE) are left as they are. */
void mdi_rope_apply(float *vec, int n, int head_size, int rope_dim, const float *cos_row, const float *sin_row);
void mdi_rope_apply_ref(float *vec, int n, int head_size, int rope_dim, int pos, float theta, const float *factors);

/* x[n] = w[n] * x[n] / sqrt(mean(x^2) + eps) for each of the n_heads heads of
 * x[n_heads * head_size] (Qwen3's q and k norms; w[head_size] is shared). */
void mdi_head_rmsnorm(float *x, const float *w, int n_heads, int head_size, float eps);

/* Causal attention of one query row at position pos over a cache of
 * positions 0..pos for grouped-query attention: each K/V head is read once
 * for the n_heads / n_kv_heads query heads sharing it.
 *   out[n_heads*hs], q[n_heads*hs],
 *   keys/values [n_kv_heads][max_seq][hs] (a head's positions contiguous, max_seq > pos),
 *   scratch [n_heads/n_kv_heads][pos+1] floats. */
void mdi_attention(float *out, const float *q, const float *keys, const float *values, int pos, int max_seq,
                   int n_heads, int n_kv_heads, int head_size, float *scratch);
/* The part of mdi_attention that K/V head kh serves: out and q are whole
 * rows as above, only the query heads kh*group .. (kh+1)*group-1 are
 * written (group = n_heads / n_kv_heads); scratch [group][pos+1].  Threads
 * may take different kh of the same row. */
void mdi_attention_kv_head(float *out, const float *q, const float *keys, const float *values, int pos,
                           int max_seq, int n_heads, int n_kv_heads, int head_size, int kh, float *scratch);
/* One query head at a time, as llama2.c; the same cache layout; scratch [pos+1]. */
void mdi_attention_ref(float *out, const float *q, const float *keys, const float *values, int pos, int max_seq,
                       int n_heads, int n_kv_heads, int head_size, float *scratch);

#endif

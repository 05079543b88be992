/* The quantized kernels in plain C (any CPU), and the reference they and
 * the vector kernels are tested against (quant_kernels.h, "Arithmetic").
 *
 * The generic kernel decodes a tile into integer levels once per block,
 * then runs every activation row over them.  The reference starts from the
 * GGUF blocks instead (quant_blocks.h), so a mistake in the tile layout or
 * in a kernel's reading of it shows as a difference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "quant_blocks.h"
#include "quant_kernels.h"

/* A tile decoded: the unsigned levels of 16 rows, their scales. */
struct tile_ints {
  uint8_t u[QGROUP][MDI_QK_K]; /* element order; Q8_0 as q + 128 */
  float d[QGROUP], m[QGROUP];  /* scale; min (Q4_1, Q5_1) or dmin (Q4_K, Q5_K) */
  int sc[QGROUP][16];          /* K types: sub-block scales (8 of 32, or Q6_K's 16 of 16) */
  int mn[QGROUP][8];           /* Q4_K, Q5_K: sub-block mins */
};

static float half_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return mdi_f16_to_f32(h);
}

/* Fifth bits from the masks at tile + at: mask `mask` bit 4r+i -> +16 on
 * element e0 + i of row r. */
static void add_fifth_bits(struct tile_ints *ti, const uint8_t *tile, size_t at, int mask, int e0) {
  uint64_t bits;
  memcpy(&bits, tile + at + 8 * (size_t)mask, 8);
  for (int r = 0; r < QGROUP; r++)
    for (int i = 0; i < 4; i++) ti->u[r][e0 + i] |= (uint8_t)(((bits >> (4 * r + i)) & 1) << 4);
}

/* Chunk c's nibbles: low -> element lo + i, high -> element hi + i. */
static void split_chunk(struct tile_ints *ti, const uint8_t *chunk, int lo, int hi) {
  for (int r = 0; r < QGROUP; r++)
    for (int i = 0; i < 4; i++) {
      ti->u[r][lo + i] = chunk[4 * r + i] & 0xF;
      ti->u[r][hi + i] = chunk[4 * r + i] >> 4;
    }
}

static void decode_tile(enum mdi_matrix_type t, const uint8_t *tile, struct tile_ints *ti) {
  switch (t) {
    case MDI_MATRIX_Q8_0:
      for (int c = 0; c < 8; c++)
        for (int r = 0; r < QGROUP; r++) memcpy(&ti->u[r][4 * c], tile + 64 * c + 4 * r, 4);
      for (int r = 0; r < QGROUP; r++) ti->d[r] = half_at(tile + 512 + 2 * r);
      return;
    case MDI_MATRIX_Q4_0:
    case MDI_MATRIX_Q4_1:
    case MDI_MATRIX_Q5_0:
    case MDI_MATRIX_Q5_1: {
      const int five = t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1;
      const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1;
      const size_t d_at = five ? 320 : 256;
      for (int c = 0; c < 4; c++) split_chunk(ti, tile + 64 * c, 4 * c, 16 + 4 * c);
      for (int m = 0; five && m < 8; m++) add_fifth_bits(ti, tile, 256, m, 16 * (m & 1) + 4 * (m / 2));
      for (int r = 0; r < QGROUP; r++) {
        ti->d[r] = half_at(tile + d_at + 2 * r);
        ti->m[r] = one ? half_at(tile + d_at + 32 + 2 * r) : 0.0f;
      }
      return;
    }
    case MDI_MATRIX_Q4_K:
    case MDI_MATRIX_Q5_K: {
      const int five = t == MDI_MATRIX_Q5_K;
      const size_t sc_at = five ? 2560 : 2048;
      for (int p = 0; p < 4; p++)
        for (int c = 0; c < 8; c++) {
          split_chunk(ti, tile + 64 * (8 * p + c), 64 * p + 4 * c, 64 * p + 32 + 4 * c);
          for (int h = 0; five && h < 2; h++) add_fifth_bits(ti, tile, 2048, 2 * (8 * p + c) + h, 64 * p + 32 * h + 4 * c);
        }
      for (int r = 0; r < QGROUP; r++) {
        uint8_t scales[12];
        for (int b = 0; b < 12; b++) scales[b] = tile[sc_at + 16 * b + r];
        for (int j = 0; j < 8; j++) quant_k_scale(scales, j, &ti->sc[r][j], &ti->mn[r][j]);
        ti->d[r] = half_at(tile + sc_at + 192 + 2 * r);
        ti->m[r] = half_at(tile + sc_at + 224 + 2 * r);
      }
      return;
    }
    case MDI_MATRIX_Q6_K:
      for (int h = 0; h < 2; h++) {
        for (int c = 0; c < 16; c++) split_chunk(ti, tile + 64 * (16 * h + c), 128 * h + 4 * c, 128 * h + 64 + 4 * c);
        for (int c = 0; c < 8; c++)
          for (int r = 0; r < QGROUP; r++)
            for (int i = 0; i < 4; i++) {
              const uint8_t b = tile[2048 + 64 * (8 * h + c) + 4 * r + i];
              for (int j = 0; j < 4; j++) ti->u[r][128 * h + 4 * c + i + 32 * j] |= (uint8_t)(((b >> (2 * j)) & 3) << 4);
            }
      }
      for (int r = 0; r < QGROUP; r++) {
        for (int s = 0; s < 16; s++) ti->sc[r][s] = (int8_t)tile[3072 + 16 * s + r];
        ti->d[r] = half_at(tile + 3328 + 2 * r);
      }
      return;
    default: MDI_PANIC("no generic kernel for type %d", (int)t);
  }
}

/* sum over n elements of u * x */
static int32_t dot_ux(const uint8_t *u, const int8_t *x, int n) {
  int32_t s = 0;
  for (int k = 0; k < n; k++) s += u[k] * x[k];
  return s;
}

/* The level offset o of w = d (u - o): Q8_0 stores q + 128. */
static int level_offset(enum mdi_matrix_type t) {
  switch (t) {
    case MDI_MATRIX_Q8_0: return 128;
    case MDI_MATRIX_Q4_0: return 8;
    case MDI_MATRIX_Q5_0: return 16;
    case MDI_MATRIX_Q6_K: return 32;
    default: return 0;
  }
}

/* The integer sums of row r of a decoded tile against one activation block
 * (x: its values, s16/s32: its sums per 16 and 32). */
static void tile_sums(enum mdi_matrix_type t, const struct tile_ints *ti, int r, const int8_t *x, const int16_t *s16,
                      const int16_t *s32, int32_t *I, int32_t *J) {
  const int o = level_offset(t);
  *I = *J = 0;
  if (mdi_quant_format(t)->block == MDI_QK) {
    *I = dot_ux(ti->u[r], x, 32) - o * s32[0];
    *J = s32[0];
  } else if (t == MDI_MATRIX_Q6_K) {
    for (int j = 0; j < 16; j++) *I += ti->sc[r][j] * (dot_ux(ti->u[r] + 16 * j, x + 16 * j, 16) - o * s16[j]);
  } else {
    for (int j = 0; j < 8; j++) {
      *I += ti->sc[r][j] * dot_ux(ti->u[r] + 32 * j, x + 32 * j, 32);
      *J += ti->mn[r][j] * s32[j];
    }
  }
}

#define DEFINE_GENERIC(T, NAME)                                                                        \
  static void NAME(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr, const uint8_t *tiles, \
                   int nblocks) {                                                                      \
    static _Thread_local struct tile_ints ti;                                                          \
    const int bs = mdi_quant_format(T)->block;                                                         \
    for (int i = 0; i < mr; i++) memset(out + (size_t)i * ldo, 0, QGROUP * sizeof(float));            \
    for (int b = 0; b < nblocks; b++) {                                                                \
      decode_tile(T, tiles + (size_t)b * qtile_bytes(T), &ti);                                         \
      for (int i = 0; i < mr; i++) {                                                                   \
        const int m = m0 + i;                                                                          \
        const int8_t *xq = x->q + (size_t)m * x->ldq + (size_t)b * bs;                                 \
        const int16_t *s16 = x->s16 + (size_t)m * x->lds16 + (size_t)b * (bs / 16);                    \
        const int16_t *s32 = x->s32 + (size_t)m * x->lds32 + (size_t)b * (bs / 32);                    \
        const float dx = x->d[(size_t)m * x->ldd + b];                                                 \
        float *acc = out + (size_t)i * ldo;                                                            \
        for (int r = 0; r < QGROUP; r++) {                                                             \
          int32_t I, J;                                                                                \
          tile_sums(T, &ti, r, xq, s16, s32, &I, &J);                                                  \
          acc[r] = qblock_finish(T, acc[r], I, J, ti.d[r], ti.m[r], dx);                               \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  }
DEFINE_GENERIC(MDI_MATRIX_Q8_0, generic_q8_0)
DEFINE_GENERIC(MDI_MATRIX_Q4_0, generic_q4_0)
DEFINE_GENERIC(MDI_MATRIX_Q4_1, generic_q4_1)
DEFINE_GENERIC(MDI_MATRIX_Q5_0, generic_q5_0)
DEFINE_GENERIC(MDI_MATRIX_Q5_1, generic_q5_1)
DEFINE_GENERIC(MDI_MATRIX_Q4_K, generic_q4_K)
DEFINE_GENERIC(MDI_MATRIX_Q5_K, generic_q5_K)
DEFINE_GENERIC(MDI_MATRIX_Q6_K, generic_q6_K)

mdi_qkernel_fn mdi_qkernel_generic(enum mdi_matrix_type t) {
  static const mdi_qkernel_fn table[MDI_MATRIX_N_TYPES] = QKERNEL_TABLE(generic);
  return table[t];
}

/* ---- the reference, from GGUF blocks ---------------------------------------- */

/* The levels (as signed values w / d before the min) and the scales of one
 * GGUF block: v[k] for its elements, d, m (min or dmin), and for K types
 * sc/mn per sub-block. */
struct block_ints {
  int v[MDI_QK_K];
  float d, m;
  int sc[16], mn[8];
};

static void decode_block(enum mdi_matrix_type t, const uint8_t *p, struct block_ints *bi) {
  memset(bi, 0, sizeof *bi);
  switch (t) {
    case MDI_MATRIX_Q8_0: {
      struct blk_q8_0 b;
      memcpy(&b, p, sizeof b);
      for (int k = 0; k < 32; k++) bi->v[k] = b.qs[k];
      bi->d = mdi_f16_to_f32(b.d);
      return;
    }
    case MDI_MATRIX_Q4_0:
    case MDI_MATRIX_Q4_1:
    case MDI_MATRIX_Q5_0:
    case MDI_MATRIX_Q5_1: {
      const struct q32_fields f = quant_q32_fields(t);
      const int o = f.one ? 0 : f.five ? 16 : 8;
      uint32_t qh = 0;
      if (f.five) memcpy(&qh, p + f.qh_at, 4);
      for (int j = 0; j < 16; j++) {
        bi->v[j] = ((p[f.qs_at + j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - o;
        bi->v[j + 16] = ((p[f.qs_at + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - o;
      }
      bi->d = half_at(p);
      bi->m = f.one ? half_at(p + f.m_at) : 0.0f;
      return;
    }
    case MDI_MATRIX_Q4_K:
    case MDI_MATRIX_Q5_K: {
      const int five = t == MDI_MATRIX_Q5_K;
      const uint8_t *qh = p + 16, *qs = p + 16 + 32 * five;
      for (int j = 0; j < 8; j++) {
        quant_k_scale(p + 4, j, &bi->sc[j], &bi->mn[j]);
        for (int l = 0; l < 32; l++) {
          const uint8_t q = qs[32 * (j / 2) + l];
          bi->v[32 * j + l] = (j & 1 ? q >> 4 : q & 0xF) | (five ? ((qh[l] >> j) & 1) << 4 : 0);
        }
      }
      bi->d = half_at(p);
      bi->m = half_at(p + 2);
      return;
    }
    case MDI_MATRIX_Q6_K: {
      struct blk_q6_K b;
      memcpy(&b, p, sizeof b);
      for (int e = 0; e < MDI_QK_K; e++) bi->v[e] = quant_q6_value(&b, e) - 32;
      for (int s = 0; s < 16; s++) bi->sc[s] = b.scales[s];
      bi->d = mdi_f16_to_f32(b.d);
      return;
    }
    default: MDI_PANIC("no reference for type %d", (int)t);
  }
}

/* Integer sums of a GGUF block against activation block x (sums as in the
 * kernels, but from signed levels and plain sums of x). */
static void block_sums(enum mdi_matrix_type t, const struct block_ints *bi, const int8_t *x, int32_t *I, int32_t *J) {
  *I = *J = 0;
  if (mdi_quant_format(t)->block == MDI_QK) {
    for (int k = 0; k < 32; k++) {
      *I += bi->v[k] * x[k];
      *J += x[k];
    }
    return;
  }
  const int sub = t == MDI_MATRIX_Q6_K ? 16 : 32;
  for (int j = 0; j < MDI_QK_K / sub; j++) {
    int32_t dot = 0, sum = 0;
    for (int k = sub * j; k < sub * (j + 1); k++) {
      dot += bi->v[k] * x[k];
      sum += x[k];
    }
    *I += bi->sc[j] * dot;
    if (t != MDI_MATRIX_Q6_K) *J += bi->mn[j] * sum;
  }
}

void mdi_qmatmul_ref(float *out, const float *x, enum mdi_matrix_type type, const uint8_t *blocks, int M, int N,
                     int K) {
  const struct mdi_quant_format *f = mdi_quant_format(type);
  const int bs = f->block, nb = K / bs;
  const size_t row_bytes = mdi_quant_row_bytes(type, K);
  MDI_ASSERT(type != MDI_MATRIX_F32 && K % bs == 0);
  int8_t *q = mdi_xmalloc((size_t)M * K, "reference activations");
  float *d = mdi_xmalloc((size_t)M * nb * sizeof(float), "reference activations");
  int16_t *s16 = mdi_xmalloc((size_t)M * (K / 16) * sizeof(int16_t), "reference activations");
  int16_t *s32 = mdi_xmalloc((size_t)M * (K / 32) * sizeof(int16_t), "reference activations");
  struct block_ints *bi = mdi_xmalloc(sizeof *bi, "reference block");
  mdi_qact_quantize_rows(x, M, K, bs, q, d, s16, s32);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      float acc = 0.0f;
      for (int b = 0; b < nb; b++) {
        int32_t I, J;
        decode_block(type, blocks + (size_t)n * row_bytes + (size_t)b * f->bytes, bi);
        block_sums(type, bi, q + (size_t)m * K + (size_t)b * bs, &I, &J);
        acc = qblock_finish(type, acc, I, J, bi->d, bi->m, d[(size_t)m * nb + b]);
      }
      out[(size_t)m * N + n] = acc;
    }
  free(q);
  free(d);
  free(s16);
  free(s32);
  free(bi);
}

/* Quantized matrices in memory and the kernels that multiply them by 8-bit
 * activations.  Private to the model library (matmul.c dispatches here).
 *
 * Layout.  Rows are taken 16 at a time (a group: the int32 lanes of one
 * AVX-512 register, two AVX2 registers, four NEON ones).  A group stores,
 * for each block (each super-block of a K type) in k order, a tile: the 16
 * rows' blocks rearranged so that one 64-byte load gives 16 rows x 4
 * consecutive weights, the operand of a dot-product instruction (vpdpbusd,
 * sdot) whose int32 lanes are the 16 outputs.  A tile has exactly the bytes
 * of the 16 GGUF blocks (bits rearranged, nothing added), so a matrix takes
 * its file size in memory; the last group is padded with zero rows.
 * quant_pack.c makes tiles from GGUF rows and back.
 *
 * Tiles, per type (offsets in bytes; r = row 0..15, i = 0..3; "chunk c" is
 * the 64 bytes at 64c, byte 4r + i):
 *   Q8_0   chunk c (0..7): q[4c+i] + 128 (unsigned); 512: d[16] half
 *   Q4_0   chunk c (0..3): qs[4c+i] (low nibble: element 4c+i, high: 16+4c+i);
 *          256: d[16]
 *   Q4_1   as Q4_0; 288: m[16]
 *   Q5_0   as Q4_0; 256: 8 uint64 masks, mask 2c+h bit 4r+i = fifth bit of
 *          element 16h+4c+i; 320: d[16]
 *   Q5_1   as Q5_0; 352: m[16]
 *   Q4_K   chunk 8p+c (p 0..3, c 0..7): qs[32p+4c+i] (low: element 64p+4c+i,
 *          high: 64p+32+4c+i); 2048: scales[12][16] (byte b of row r at
 *          16b+r); 2240: d[16]; 2272: dmin[16]
 *   Q5_K   as Q4_K's chunks; 2048: 64 uint64 masks, mask 2(8p+c)+h bit 4r+i
 *          = fifth bit of element 64p+32h+4c+i; 2560: scales[12][16];
 *          2752: d[16]; 2784: dmin[16]
 *   Q6_K   chunk 16h+c (h 0..1, c 0..15): ql[64h+4c+i] (low: element
 *          128h+4c+i, high: 128h+64+4c+i); 2048 + chunk 8h+c (c 0..7):
 *          qh[32h+4c+i] (bits 2j..2j+1: element 128h+4c+i+32j); 3072:
 *          scales[16][16]; 3328: d[16]
 *
 * Arithmetic.  Activations are quantized per row (mdi_qact): blocks of 32
 * for the 32-block types and of 256 for the K types, d = max|x| / 127, q =
 * round-half-even(x / d) in [-127, 127], with the sums of q over every 16
 * and 32.  For output n and activation row m, with integer sums I exact:
 *   Q8_0, Q4_0, Q5_0 (w = d (q - o)):  acc = fma(I, dw*dx, acc) per block,
 *       I = sum (q - o) x
 *   Q4_1, Q5_1 (w = d q + mw):  acc = fma(I, dw*dx, acc); acc = fma(S, mw*dx, acc),
 *       I = sum q x, S = sum x
 *   Q4_K, Q5_K:  acc = fma(I, d*dx, acc); acc = fma(J, -(dmin*dx), acc),
 *       I = sum_j sc_j sum_{k in j} q x, J = sum_j mn_j S_j
 *   Q6_K:  acc = fma(I, d*dx, acc), I = sum_j sc_j sum_{k in j} (q - 32) x
 * over blocks in k order from acc = 0 (dw, d, mw, dmin widened from half,
 * products rounded to float, I converted to float).  Every kernel (generic
 * C, AVX2, AVX-512 VNNI) and the reference evaluate exactly this, so results
 * are bit-identical whatever the kernel's tile, M, the thread count, or the
 * rank that computes them. */
#ifndef MDI_QUANT_KERNELS_H
#define MDI_QUANT_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mdi/model/matmul.h"

#define QGROUP 16 /* rows per group */

/* Quantized activation rows: row m's values at q + m*ldq, its scales at
 * d + m*ldd (one per block of 32 or 256), its sums at s16 + m*lds16 (per
 * 16) and s32 + m*lds32 (per 32). */
struct mdi_qact {
  int K;
  const int8_t *q;
  const float *d;
  const int16_t *s16, *s32;
  size_t ldq, ldd, lds16, lds32;
};

/* Quantize activation rows x[M][K] in blocks of bs (32 or 256): q[M][K],
 * d[M][K/bs], s16[M][K/16], s32[M][K/32] (quant_matmul.c). */
void mdi_qact_quantize_rows(const float *x, int M, int K, int bs, int8_t *q, float *d, int16_t *s16, int16_t *s32);

typedef void (*mdi_qact_fn)(const float *x, int M, int K, int bs, int8_t *q, float *d, int16_t *s16, int16_t *s32);
/* The same vectorised (the same values exactly), or NULL without AVX-512. */
mdi_qact_fn mdi_qact_avx512(void);

/* The activation block of type t: 32 or 256 values per scale. */
static inline int qact_block(enum mdi_matrix_type t) { return mdi_quant_format(t)->block; }

/* The float step of one block (see "Arithmetic" above): I, J the exact
 * integer sums (J: S for Q4_1/Q5_1, the mins' sum for Q4_K/Q5_K, unused
 * otherwise), d and m the weights' scale and min (or dmin), dx the
 * activation block's scale.  Every kernel does this, lane by lane. */
static inline float qblock_finish(enum mdi_matrix_type t, float acc, int32_t I, int32_t J, float d, float m, float dx) {
  acc = fmaf((float)I, d * dx, acc);
  if (t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1) acc = fmaf((float)J, m * dx, acc);
  else if (t == MDI_MATRIX_Q4_K || t == MDI_MATRIX_Q5_K) acc = fmaf((float)J, -(m * dx), acc);
  return acc;
}

/* One kernel call: outputs [m][0..15] for rows m0 .. m0+mr-1 of x (at out
 * + (m - m0) * ldo) of one group whose tiles start at `tiles`; any mr >= 1
 * (register tiles of up to QMR rows inside). */
typedef void (*mdi_qkernel_fn)(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr,
                               const uint8_t *tiles, int nblocks);

/* Bytes of one group's tile for one block. */
static inline size_t qtile_bytes(enum mdi_matrix_type t) { return (size_t)QGROUP * mdi_quant_format(t)->bytes; }

/* Rows of GGUF blocks <-> tiles (quant_pack.c).  pack: rows [0, n) of
 * blocks (row stride row_bytes) into group `dst` (n <= 16; rows n..15 are
 * zero); unpack: row r of a group back to its GGUF blocks. */
void mdi_qpack_group(enum mdi_matrix_type t, uint8_t *dst, const uint8_t *rows, size_t row_bytes, int n,
                     int nblocks);
void mdi_qunpack_row(enum mdi_matrix_type t, uint8_t *row, const uint8_t *group, int r, int nblocks);

/* The kernels of each instruction set for type t (NULL when that set has no
 * kernel for it; the generic C one always exists). */
mdi_qkernel_fn mdi_qkernel_generic(enum mdi_matrix_type t);
mdi_qkernel_fn mdi_qkernel_avx512(enum mdi_matrix_type t);
mdi_qkernel_fn mdi_qkernel_avx2(enum mdi_matrix_type t);
mdi_qkernel_fn mdi_qkernel_neon(enum mdi_matrix_type t);
mdi_qkernel_fn mdi_qkernel_neon_dotprod(enum mdi_matrix_type t);

/* Rows of activations of a register tile. */
#define QMR 4

/* An instruction set's kernel NAME (an mdi_qkernel_fn) from its inline
 * ROWS(MR, out, ldo, x, m0, tiles, nblocks), specialised for MR = 1..QMR
 * so the register tile is known at compile time, and from BATCH (an
 * mdi_qkernel_fn, or qkernel_no_batch) for more than QMR rows: a kernel
 * that unpacks each block once for all rows.  Without BATCH, more rows go
 * through ROWS QMR at a time. */
#define qkernel_no_batch NULL
#define QKERNEL_FROM_ROWS(NAME, ROWS, BATCH)                                                                \
  static void NAME(float *out, size_t ldo, const struct mdi_qact *x, int m0, int mr, const uint8_t *tiles, \
                   int nblocks) {                                                                          \
    static const mdi_qkernel_fn batch = BATCH;                                                             \
    if (batch && mr > QMR) {                                                                               \
      batch(out, ldo, x, m0, mr, tiles, nblocks);                                                          \
      return;                                                                                              \
    }                                                                                                      \
    for (; mr > 0; m0 += QMR, mr -= QMR, out += QMR * ldo) switch (mr < QMR ? mr : QMR) {                  \
        case 4: ROWS(4, out, ldo, x, m0, tiles, nblocks); break;                                           \
        case 3: ROWS(3, out, ldo, x, m0, tiles, nblocks); break;                                           \
        case 2: ROWS(2, out, ldo, x, m0, tiles, nblocks); break;                                           \
        default: ROWS(1, out, ldo, x, m0, tiles, nblocks); break;                                          \
      }                                                                                                    \
  }

/* The table of an instruction set's kernels PREFIX_q8_0 .. PREFIX_q6_K. */
#define QKERNEL_TABLE(PREFIX)                                                                               \
  {[MDI_MATRIX_Q8_0] = PREFIX##_q8_0, [MDI_MATRIX_Q4_0] = PREFIX##_q4_0, [MDI_MATRIX_Q4_1] = PREFIX##_q4_1,   \
   [MDI_MATRIX_Q5_0] = PREFIX##_q5_0, [MDI_MATRIX_Q5_1] = PREFIX##_q5_1, [MDI_MATRIX_Q4_K] = PREFIX##_q4_K,   \
   [MDI_MATRIX_Q5_K] = PREFIX##_q5_K, [MDI_MATRIX_Q6_K] = PREFIX##_q6_K}

/* An instruction set's eight kernels and mdi_qkernel_PREFIX(), from its
 * inline block32_rows(type, MR, ...) (Q8_0 .. Q5_1), k45_rows(five, MR,
 * ...) (Q4_K, Q5_K) and q6k_rows(MR, ...). */
#define QK_ROWS_Q8_0(...) block32_rows(MDI_MATRIX_Q8_0, __VA_ARGS__)
#define QK_ROWS_Q4_0(...) block32_rows(MDI_MATRIX_Q4_0, __VA_ARGS__)
#define QK_ROWS_Q4_1(...) block32_rows(MDI_MATRIX_Q4_1, __VA_ARGS__)
#define QK_ROWS_Q5_0(...) block32_rows(MDI_MATRIX_Q5_0, __VA_ARGS__)
#define QK_ROWS_Q5_1(...) block32_rows(MDI_MATRIX_Q5_1, __VA_ARGS__)
#define QK_ROWS_Q4_K(...) k45_rows(0, __VA_ARGS__)
#define QK_ROWS_Q5_K(...) k45_rows(1, __VA_ARGS__)
#define QKERNELS_DEFINE(PREFIX)                                                                            \
  QKERNELS_DEFINE_BATCH(PREFIX, qkernel_no_batch, qkernel_no_batch, qkernel_no_batch, qkernel_no_batch,     \
                        qkernel_no_batch, qkernel_no_batch, qkernel_no_batch, qkernel_no_batch)
#define QKERNELS_DEFINE_BATCH(PREFIX, BATCH_Q8_0, BATCH_Q4_0, BATCH_Q4_1, BATCH_Q5_0, BATCH_Q5_1, BATCH_Q4_K, \
                              BATCH_Q5_K, BATCH_Q6_K)                  \
  QKERNEL_FROM_ROWS(PREFIX##_q8_0, QK_ROWS_Q8_0, BATCH_Q8_0)               \
  QKERNEL_FROM_ROWS(PREFIX##_q4_0, QK_ROWS_Q4_0, BATCH_Q4_0)               \
  QKERNEL_FROM_ROWS(PREFIX##_q4_1, QK_ROWS_Q4_1, BATCH_Q4_1)               \
  QKERNEL_FROM_ROWS(PREFIX##_q5_0, QK_ROWS_Q5_0, BATCH_Q5_0)               \
  QKERNEL_FROM_ROWS(PREFIX##_q5_1, QK_ROWS_Q5_1, BATCH_Q5_1)               \
  QKERNEL_FROM_ROWS(PREFIX##_q4_K, QK_ROWS_Q4_K, BATCH_Q4_K)               \
  QKERNEL_FROM_ROWS(PREFIX##_q5_K, QK_ROWS_Q5_K, BATCH_Q5_K)               \
  QKERNEL_FROM_ROWS(PREFIX##_q6_K, q6k_rows, BATCH_Q6_K)                   \
  mdi_qkernel_fn mdi_qkernel_##PREFIX(enum mdi_matrix_type t) {            \
    static const mdi_qkernel_fn table[MDI_MATRIX_N_TYPES] = QKERNEL_TABLE(PREFIX); \
    return table[t];                                                       \
  }

/* The quantized side of matmul.h (quant_matmul.c). */
int mdi_qmatrix_alloc(struct mdi_matrix *w, enum mdi_matrix_type type, int rows, int cols, const char *what);
void mdi_qmatrix_get_row(const struct mdi_matrix *w, int row, float *dst);
/* Synthetic weights for timing: every row the blocks of one made-up row
 * (scratch: K floats). */
void mdi_qmatrix_fill(struct mdi_matrix *w, float *scratch);
void mdi_qmatmul(float *out, const float *x, const struct mdi_matrix *w, int M, int n_threads);
/* matmul.h's mdi_matmul_share and mdi_matmul_share_cols for quantized types
 * (whole 16-row groups). */
void mdi_qmatmul_share(float *out, const float *x, const struct mdi_matrix *w, int M, int t, int n);
void mdi_qmatmul_share_cols(const struct mdi_matrix *w, int t, int n, int *c0, int *c1);

#endif

/* Weight types and their block formats: llama.cpp's (ggml's) quantized
 * types, byte for byte as a GGUF file holds them (docs/FORMAT.md,
 * "Quantized weights").  A row of `cols` weights is cols / block blocks of
 * `bytes` bytes; every type stores one or more scales per block.
 *
 *   type  block bytes  a weight is                      bits per weight
 *   Q8_0    32    34   d * q            (q int8)                  8.5
 *   Q4_0    32    18   d * (q - 8)      (q 4 bits)                4.5
 *   Q4_1    32    20   d * q + m        (q 4 bits)                5.0
 *   Q5_0    32    22   d * (q - 16)     (q 5 bits)                5.5
 *   Q5_1    32    24   d * q + m        (q 5 bits)                6.0
 *   Q4_K   256   144   d*sc * q - dmin*mn, 6-bit sc, mn per 32    4.5
 *   Q5_K   256   176   the same with 5-bit q                      5.5
 *   Q6_K   256   210   d * sc * (q - 32), int8 sc per 16          6.5625
 *
 * d, m, dmin are IEEE half floats.  The quantizers reproduce llama.cpp's
 * reference quantization (quantize_row_*_ref, without an importance
 * matrix) bit for bit, so a float model quantized here equals the same
 * model quantized by llama-quantize for these types. */
#ifndef MDI_QUANT_H
#define MDI_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* How a weight matrix is stored.  The order is part of no file format. */
enum mdi_matrix_type {
  MDI_MATRIX_F32 = 0,
  MDI_MATRIX_Q8_0,
  MDI_MATRIX_Q4_0,
  MDI_MATRIX_Q4_1,
  MDI_MATRIX_Q5_0,
  MDI_MATRIX_Q5_1,
  MDI_MATRIX_Q4_K,
  MDI_MATRIX_Q5_K,
  MDI_MATRIX_Q6_K,
  MDI_MATRIX_N_TYPES
};

#define MDI_QK 32   /* weights per block of the 32-blocks (Q8_0 .. Q5_1) */
#define MDI_QK_K 256 /* weights per super-block of the K types */

struct mdi_quant_format {
  const char *name; /* "F32", "Q4_K", ...: GGUF's spelling */
  int block;        /* weights per block (1 for F32) */
  int bytes;        /* bytes per block */
  int ggml_type;    /* ggml's type id (GGUF tensor info) */
};

const struct mdi_quant_format *mdi_quant_format(enum mdi_matrix_type t);
static inline int mdi_quant_is_quantized(enum mdi_matrix_type t) { return t != MDI_MATRIX_F32; }

/* The type named `name` ("Q4_K" or "q4_k"): MDI_OK, or MDI_ERR (no message). */
int mdi_quant_parse(const char *name, enum mdi_matrix_type *t);
/* The type of a ggml type id: MDI_OK, or MDI_ERR when we do not run it. */
int mdi_quant_from_ggml(int ggml_type, enum mdi_matrix_type *t);

/* Bytes of a row of `cols` weights (cols a multiple of the block). */
size_t mdi_quant_row_bytes(enum mdi_matrix_type t, int64_t cols);

/* IEEE half <-> float: exact widening (subnormals, inf, NaN); narrowing
 * rounds to nearest even, as ggml's GGML_FP32_TO_FP16. */
float mdi_f16_to_f32(uint16_t h);
uint16_t mdi_f32_to_f16(float f);

/* out[cols] = the values of a row of blocks. */
void mdi_quant_dequantize_row(enum mdi_matrix_type t, const uint8_t *blocks, float *out, int cols);

/* blocks = the row w[cols] in type t, as llama.cpp's reference quantizer
 * (quantize_row_<t>_ref) writes it.  w must be finite. */
void mdi_quant_quantize_row(enum mdi_matrix_type t, const float *w, uint8_t *blocks, int cols);

/* The first block of the row whose scales (d, m, dmin) are NaN or infinite,
 * or -1: such a block is corrupt (a quantizer never writes one). */
int mdi_quant_find_bad_block(enum mdi_matrix_type t, const uint8_t *blocks, int cols);

#endif

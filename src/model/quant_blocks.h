/* The GGUF block of each quantized type (ggml-common.h's layouts; all
 * fields little-endian, no padding).  Private to the model library: the
 * quantizers, the dequantizers, the packing into kernel tiles and the
 * reference kernels read blocks through these.
 *
 * Element order inside a block:
 *  - Q4_0/Q4_1: qs[j] low nibble = element j, high nibble = element j+16.
 *  - Q5_0/Q5_1: as Q4, plus bit j of qh (little-endian uint32) = fifth bit
 *    of element j (j < 32).
 *  - Q4_K: 4 pairs of 32-element sub-blocks; qs[32p + l] low nibble =
 *    element 64p + l, high nibble = element 64p + 32 + l.  scales[12] pack
 *    the 6-bit scale and min of each of the 8 sub-blocks (quant_k_scale).
 *  - Q5_K: as Q4_K, plus bit 2p (low) / 2p+1 (high) of qh[l] = fifth bit.
 *  - Q6_K: two halves of 128; in half h, ql[64h + l] (l < 64) low nibble =
 *    element 128h + l, high nibble = 128h + l + 64; qh[32h + l] (l < 32)
 *    bits 2i..2i+1 = the two high bits of element 128h + l + 32i; one int8
 *    scale per 16 elements. */
#ifndef MDI_QUANT_BLOCKS_H
#define MDI_QUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

#include "mdi/model/quant.h"

struct blk_q8_0 { uint16_t d; int8_t qs[32]; };
struct blk_q4_0 { uint16_t d; uint8_t qs[16]; };
struct blk_q4_1 { uint16_t d, m; uint8_t qs[16]; };
struct blk_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct blk_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct blk_q4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct blk_q5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct blk_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };

_Static_assert(sizeof(struct blk_q8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(struct blk_q4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(struct blk_q4_1) == 20, "Q4_1 block");
_Static_assert(sizeof(struct blk_q5_0) == 22, "Q5_0 block");
_Static_assert(sizeof(struct blk_q5_1) == 24, "Q5_1 block");
_Static_assert(sizeof(struct blk_q4_K) == 144, "Q4_K block");
_Static_assert(sizeof(struct blk_q5_K) == 176, "Q5_K block");
_Static_assert(sizeof(struct blk_q6_K) == 210, "Q6_K block");

/* Byte offsets of the fields of a Q4_0, Q4_1, Q5_0 or Q5_1 block: d at 0,
 * then m (the _1 types), then qh (the Q5 types), then qs. */
struct q32_fields {
  int one, five;    /* has m; has qh */
  int m_at, qh_at, qs_at;
};
static inline struct q32_fields quant_q32_fields(enum mdi_matrix_type t) {
  const int one = t == MDI_MATRIX_Q4_1 || t == MDI_MATRIX_Q5_1, five = t == MDI_MATRIX_Q5_0 || t == MDI_MATRIX_Q5_1;
  return (struct q32_fields){one, five, 2, 2 + 2 * one, 2 + 2 * one + 4 * five};
}

/* Scale and min of sub-block j (0..7) of a Q4_K/Q5_K block: 6 bits each;
 * j < 4 in the low 6 bits of scales[j] / scales[j+4], j >= 4 split into the
 * nibbles of scales[j+4] and the top 2 bits of scales[j-4] / scales[j]. */
static inline void quant_k_scale(const uint8_t *scales, int j, int *sc, int *mn) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *mn = scales[j + 4] & 63;
  } else {
    *sc = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
    *mn = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

/* Element e (0..255) of a Q6_K block as its unsigned 6-bit value (0..63). */
static inline int quant_q6_value(const struct blk_q6_K *b, int e) {
  const int h = e / 128, r = e % 128, i = r / 32, l = r % 32;
  const uint8_t ql = b->ql[64 * h + l + 32 * (i & 1)];
  const int low = i < 2 ? ql & 0xF : ql >> 4;
  return low | (((b->qh[32 * h + l] >> (2 * i)) & 3) << 4);
}

#endif

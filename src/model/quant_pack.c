/* GGUF block rows <-> the kernels' 16-row tiles (layout in quant_kernels.h).
 * Both directions are the same walk over every field of every block, one
 * copying into the tile and one out of it; a test packs and unpacks random
 * blocks of every type and compares the bytes (the layout loses nothing). */
#include <string.h>

#include "mdi/base/error.h"
#include "quant_blocks.h"
#include "quant_kernels.h"

/* Copy n bytes between a block field and a tile: to the tile when `in`. */
static inline void move(uint8_t *tile, uint8_t *block, size_t n, int in) {
  if (in) memcpy(tile, block, n);
  else memcpy(block, tile, n);
}

/* Byte b of row r's field <-> tile bytes: `count` bytes, the row-major
 * field [count] transposed to [count][16] at tile + at. */
static void move_columns(uint8_t *tile, size_t at, uint8_t *field, int r, int count, int in) {
  for (int b = 0; b < count; b++) move(tile + at + 16 * (size_t)b + r, field + b, 1, in);
}

/* A field of 4-byte words [count] <-> chunks: word c of row r at 64c + 4r. */
static void move_chunks(uint8_t *tile, size_t at, uint8_t *field, int r, int count, int in) {
  for (int c = 0; c < count; c++) move(tile + at + 64 * (size_t)c + 4 * r, field + 4 * c, 4, in);
}

/* Fifth bits: element e of row r (bit e of the row's qh bits `bit`, as
 * fetched by get/put) <-> bit 4r+i of mask `mask` (uint64 at tile + at). */
static void move_mask_nibble(uint8_t *tile, size_t at, int mask, int r, uint32_t *nibble, int in) {
  uint64_t m;
  memcpy(&m, tile + at + 8 * (size_t)mask, 8);
  if (in) {
    m |= (uint64_t)(*nibble & 0xF) << (4 * r);
    memcpy(tile + at + 8 * (size_t)mask, &m, 8);
  } else {
    *nibble = (uint32_t)(m >> (4 * r)) & 0xF;
  }
}

/* One block of row r <-> its place in the tile.  `block` is the GGUF block
 * (read when in, written when not). */
static void move_block(enum mdi_matrix_type t, uint8_t *tile, uint8_t *block, int r, int in) {
  switch (t) {
    case MDI_MATRIX_Q8_0: {
      uint8_t q[32];
      if (in)
        for (int k = 0; k < 32; k++) q[k] = block[2 + k] ^ 0x80;
      move_chunks(tile, 0, q, r, 8, in);
      if (!in)
        for (int k = 0; k < 32; k++) block[2 + k] = q[k] ^ 0x80;
      move(tile + 512 + 2 * r, block, 2, in);
      return;
    }
    case MDI_MATRIX_Q4_0:
      move_chunks(tile, 0, block + 2, r, 4, in);
      move(tile + 256 + 2 * r, block, 2, in);
      return;
    case MDI_MATRIX_Q4_1:
      move_chunks(tile, 0, block + 4, r, 4, in);
      move(tile + 256 + 2 * r, block, 2, in);
      move(tile + 288 + 2 * r, block + 2, 2, in);
      return;
    case MDI_MATRIX_Q5_0:
    case MDI_MATRIX_Q5_1: {
      const int one = t == MDI_MATRIX_Q5_1, qh_at = 2 + 2 * one;
      uint32_t qh = 0;
      if (in) memcpy(&qh, block + qh_at, 4);
      for (int h = 0; h < 2; h++)
        for (int c = 0; c < 4; c++) {
          uint32_t nib = qh >> (16 * h + 4 * c);
          move_mask_nibble(tile, 256, 2 * c + h, r, &nib, in);
          if (!in) qh |= (nib & 0xF) << (16 * h + 4 * c);
        }
      if (!in) memcpy(block + qh_at, &qh, 4);
      move_chunks(tile, 0, block + qh_at + 4, r, 4, in);
      move(tile + 320 + 2 * r, block, 2, in);
      if (one) move(tile + 352 + 2 * r, block + 2, 2, in);
      return;
    }
    case MDI_MATRIX_Q4_K:
    case MDI_MATRIX_Q5_K: {
      const int five = t == MDI_MATRIX_Q5_K;
      const size_t sc_at = five ? 2560 : 2048;
      move_chunks(tile, 0, block + 16 + 32 * five, r, 32, in);
      move_columns(tile, sc_at, block + 4, r, 12, in);
      move(tile + sc_at + 192 + 2 * r, block, 2, in);
      move(tile + sc_at + 224 + 2 * r, block + 2, 2, in);
      if (!five) return;
      /* qh[l] bit 2p+h = fifth bit of element 64p+32h+l; l = 4c+i */
      uint8_t *qh = block + 16;
      if (!in) memset(qh, 0, 32);
      for (int p = 0; p < 4; p++)
        for (int h = 0; h < 2; h++)
          for (int c = 0; c < 8; c++) {
            uint32_t nib = 0;
            for (int i = 0; in && i < 4; i++) nib |= (uint32_t)((qh[4 * c + i] >> (2 * p + h)) & 1) << i;
            move_mask_nibble(tile, 2048, 2 * (8 * p + c) + h, r, &nib, in);
            for (int i = 0; !in && i < 4; i++) qh[4 * c + i] |= (uint8_t)(((nib >> i) & 1) << (2 * p + h));
          }
      return;
    }
    case MDI_MATRIX_Q6_K:
      move_chunks(tile, 0, block, r, 32, in);          /* ql[128] */
      move_chunks(tile, 2048, block + 128, r, 16, in); /* qh[64] */
      move_columns(tile, 3072, block + 192, r, 16, in);
      move(tile + 3328 + 2 * r, block + 208, 2, in);
      return;
    default: MDI_PANIC("no tiles for type %d", (int)t);
  }
}

void mdi_qpack_group(enum mdi_matrix_type t, uint8_t *dst, const uint8_t *rows, size_t row_bytes, int n,
                     int nblocks) {
  const size_t tile = qtile_bytes(t), bytes = (size_t)mdi_quant_format(t)->bytes;
  MDI_ASSERT(n >= 0 && n <= QGROUP);
  memset(dst, 0, tile * (size_t)nblocks); /* padding rows, and the masks are OR-ed in */
  uint8_t block[256];
  for (int b = 0; b < nblocks; b++)
    for (int r = 0; r < n; r++) {
      memcpy(block, rows + (size_t)r * row_bytes + (size_t)b * bytes, bytes);
      move_block(t, dst + (size_t)b * tile, block, r, 1);
    }
}

void mdi_qunpack_row(enum mdi_matrix_type t, uint8_t *row, const uint8_t *group, int r, int nblocks) {
  const size_t tile = qtile_bytes(t), bytes = (size_t)mdi_quant_format(t)->bytes;
  uint8_t block[256];
  for (int b = 0; b < nblocks; b++) {
    memset(block, 0, sizeof block);
    /* move_block only reads the tile when unpacking */
    move_block(t, (uint8_t *)group + (size_t)b * tile, block, r, 0);
    memcpy(row + (size_t)b * bytes, block, bytes);
  }
}

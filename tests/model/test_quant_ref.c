/* Our quantizers against llama.cpp's, without llama.cpp: the weights of
 * tests/reference/quant/make_quant_refs.py (rebuilt here with the same
 * exact generator) quantized by mdi_quant_quantize_row must hash to what
 * llama-quantize wrote for them (quant_refs.txt, 64-bit FNV-1a of each
 * tensor's blocks), for every type and tensor. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/model/quant.h"
#include "mdi_test.h"

static const char *const tensors[] = {"token_embd.weight",        "blk.0.attn_q.weight",   "blk.0.attn_k.weight",
                                      "blk.0.attn_v.weight",      "blk.0.attn_output.weight", "blk.0.ffn_gate.weight",
                                      "blk.0.ffn_up.weight",      "blk.0.ffn_down.weight"};

static uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* make_quant_refs.py's generator, value for value */
static float value(uint64_t t, uint64_t r, uint64_t c) {
  double u[4];
  for (int i = 0; i < 4; i++) u[i] = (double)(splitmix64(0x5EED0000ull + (t << 40) + (r << 20) + (c << 2) + (uint64_t)i) >> 40) / 16777216.0;
  const double g = u[0] + u[1] + u[2] + u[3] - 2.0, s = ldexp(1.0, (int)((7 * r) % 20) - 14);
  double v;
  switch (r % 8) {
    case 0: v = g * s; break;
    case 1: v = u[0] * s; break;
    case 2: v = -u[0] * s; break;
    case 3: v = g * s * (c % 37 == 5 ? 50.0 : 1.0); break;
    case 4: v = g * ldexp(1.0, r % 16 == 4 ? -30 : -20); break;
    case 5: v = (c / 32) % 2 == 0 ? 0.0 : g * s; break;
    case 6: v = (floor(31.0 * u[0]) - 15.0) / 16.0; break;
    default: v = ((double)((c / 32) % 9) - 4.0) / 4.0;
  }
  return (float)v;
}

int main(void) {
  char path[4096];
  FILE *f = fopen(mdi_test_source_path("tests/reference/quant/quant_refs.txt", path, sizeof path), "r");
  CHECK(f != NULL);
  if (!f) return mdi_test_finish("test_quant_ref");
  char line[512], type_name[16], name[64];
  int rows, cols, checked = 0;
  uint64_t want;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    CHECK(sscanf(line, "%15s %63s %d %d %" SCNx64, type_name, name, &rows, &cols, &want) == 5);
    enum mdi_matrix_type type;
    CHECK(mdi_quant_parse(type_name, &type) == 0);
    int t = -1;
    for (int i = 0; i < (int)(sizeof tensors / sizeof tensors[0]); i++)
      if (!strcmp(tensors[i], name)) t = i;
    CHECK(t >= 0);
    if (t < 0) continue;
    const size_t rb = mdi_quant_row_bytes(type, cols);
    float *w = malloc((size_t)cols * sizeof(float));
    uint8_t *blocks = malloc(rb);
    uint64_t h = 0xCBF29CE484222325ull;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) w[c] = value((uint64_t)t, (uint64_t)r, (uint64_t)c);
      mdi_quant_quantize_row(type, w, blocks, cols);
      for (size_t b = 0; b < rb; b++) h = (h ^ blocks[b]) * 0x100000001B3ull;
    }
    if (h != want) fprintf(stderr, "%s %s: blocks hash to %016" PRIx64 ", llama.cpp's to %016" PRIx64 "\n", type_name, name, h, want);
    CHECK(h == want);
    checked++;
    free(w);
    free(blocks);
  }
  fclose(f);
  CHECK_EQ_INT(checked, 64);
  printf("%d tensors (8 types) quantized as llama.cpp does\n", checked);
  return mdi_test_finish("test_quant_ref");
}

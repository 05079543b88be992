/* Our quantizers against llama.cpp's: for every tensor that QUANTIZED.gguf
 * (made by llama-quantize without an importance matrix) holds in a block
 * type, quantize the same tensor of FLOAT.gguf (F32) with
 * mdi_quant_quantize_row and compare the bytes; they must be identical.
 * Then dequantize llama.cpp's blocks and check each weight against the
 * float original within half a quantization step (a sanity check of
 * dequantization on real blocks).
 *
 * usage: test_quant_llamacpp FLOAT.gguf QUANTIZED.gguf... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/model/quant.h"

static int compare(struct gguf_file *fg, const char *qpath, int *tensors, long long *weights) {
  struct gguf_file qg;
  if (gguf_open(&qg, qpath) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  int bad = 0;
  for (int64_t i = 0; i < qg.n_tensors; i++) {
    const struct gguf_tensor *qt = &qg.tensors[i];
    if (qt->qtype == MDI_MATRIX_F32) continue;
    const struct gguf_tensor *ft = gguf_find_tensor(fg, qt->name);
    if (!ft || ft->type != GGML_TYPE_F32 || ft->dims[0] != qt->dims[0] || ft->bytes / 4 != ft->dims[0] * (qt->bytes / (int64_t)mdi_quant_row_bytes(qt->qtype, qt->dims[0]))) {
      fprintf(stderr, "%s: %s has no F32 twin of the same shape in %s\n", qpath, qt->name, fg->in.path);
      bad++;
      continue;
    }
    const int cols = (int)qt->dims[0];
    const int64_t rows = ft->bytes / 4 / cols;
    const size_t rb = mdi_quant_row_bytes(qt->qtype, cols);
    float *w = malloc((size_t)cols * sizeof(float)), *deq = malloc((size_t)cols * sizeof(float));
    uint8_t *theirs = malloc(rb), *ours = malloc(rb);
    int64_t differ = 0, first = -1;
    for (int64_t r = 0; r < rows; r++) {
      if (convert_input_read_at(&fg->in, ft->off + r * cols * 4, w, (size_t)cols * 4, ft->name) != MDI_OK ||
          convert_input_read_at(&qg.in, qt->off + r * (int64_t)rb, theirs, rb, qt->name) != MDI_OK) {
        fprintf(stderr, "%s\n", mdi_error());
        return 1;
      }
      mdi_quant_quantize_row(qt->qtype, w, ours, cols);
      if (memcmp(ours, theirs, rb) != 0 && differ++ == 0) first = r;
      mdi_quant_dequantize_row(qt->qtype, theirs, deq, cols);
      float amax = 0, err = 0;
      for (int k = 0; k < cols; k++) {
        amax = fabsf(w[k]) > amax ? fabsf(w[k]) : amax;
        err = fabsf(w[k] - deq[k]) > err ? fabsf(w[k] - deq[k]) : err;
      }
      if (err > amax * 0.25f) { /* a 4-bit step is amax/7.5: half of it, with room for K-type mins */
        fprintf(stderr, "%s row %lld: dequantized %s off by %g (row max %g)\n", qt->name, (long long)r,
                mdi_quant_format(qt->qtype)->name, (double)err, (double)amax);
        bad++;
      }
    }
    printf("%-28s %-5s [%lld][%d]: %s\n", qt->name, mdi_quant_format(qt->qtype)->name, (long long)rows, cols,
           differ ? "DIFFERENT" : "identical");
    if (differ) {
      fprintf(stderr, "%s: %s: %lld of %lld rows differ from ours (first: row %lld)\n", qpath, qt->name,
              (long long)differ, (long long)rows, (long long)first);
      bad++;
    }
    (*tensors)++;
    *weights += rows * cols;
    free(w), free(deq), free(theirs), free(ours);
  }
  gguf_close(&qg);
  return bad;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_quant_llamacpp FLOAT.gguf QUANTIZED.gguf...\n");
    return 2;
  }
  struct gguf_file fg;
  if (gguf_open(&fg, argv[1]) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  int bad = 0, tensors = 0;
  long long weights = 0;
  for (int i = 2; i < argc; i++) bad += compare(&fg, argv[i], &tensors, &weights);
  gguf_close(&fg);
  printf("%d quantized tensors (%lld weights) compared: %s\n", tensors, weights, bad ? "FAIL" : "all identical");
  return bad ? 1 : 0;
}

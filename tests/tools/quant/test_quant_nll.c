/* Mean negative log-likelihood of a held-out text under several models.
 *
 *   test_quant_nll TEXT MAXDIFF REFERENCE.h5 MODEL.h5...
 *
 * TEXT is encoded with REFERENCE's tokenizer (BOS first); every model reads
 * the same ids as one prefill chunk, and the mean over positions of
 * -log softmax(logits)[next id] is printed, in nats per token.  Each MODEL's
 * mean must be within MAXDIFF of REFERENCE's (a quantized model against its
 * float32 source). */
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/model/model.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"
#include "mdi_test_model.h"

static double mean_nll(const char *path, const int *ids, int n) {
  struct mdi_test_model m;
  if (mdi_test_model_open(&m, path, 1, n) != MDI_OK) return NAN;
  const int dim = m.hp.dim, V = m.hp.vocab_size;
  float *x = mdi_aligned_alloc((size_t)n * dim * sizeof(float), "activations");  /* [n][dim] */
  float *logits = mdi_aligned_alloc((size_t)n * V * sizeof(float), "logits");   /* [n][vocab] */
  int *pos = malloc((size_t)n * sizeof(int));
  for (int i = 0; i < n; i++) pos[i] = i;
  struct mdi_span s = {0, 0, n};
  mdi_embed(&m.head, ids, pos, n, x);
  mdi_block_forward(&m.block, &m.kv, &m.ws, &s, 1, x, n, NULL, NULL);
  mdi_classify(&m.head, x, n, logits);
  double sum = 0;
  for (int i = 0; i + 1 < n; i++) {
    const float *l = logits + (size_t)i * V;
    double max = l[0], z = 0;
    for (int v = 1; v < V; v++) max = l[v] > max ? l[v] : max;
    for (int v = 0; v < V; v++) z += exp((double)l[v] - max);
    sum += -((double)l[ids[i + 1]] - max - log(z));
  }
  free(x), free(logits), free(pos);
  mdi_test_model_free(&m);
  return sum / (n - 1);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: test_quant_nll TEXT MAXDIFF REFERENCE.h5 MODEL.h5...\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  char text[16384];
  const size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  CHECK(len > 0);
  struct mdi_h5 *h5;
  struct mdi_tokenizer tok;
  int ids[16384 + 3], n = 0;
  if (mdi_h5_open(&h5, argv[3]) != MDI_OK || mdi_tokenizer_load(&tok, h5) != MDI_OK ||
      mdi_tokenizer_encode(&tok, text, len, 1, 0, ids, &n) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  mdi_tokenizer_free(&tok);
  mdi_h5_close(h5);
  const double max_diff = atof(argv[2]), ref = mean_nll(argv[3], ids, n);
  printf("%s: %d tokens\n%-60s mean NLL %.4f nats/token (perplexity %.3f)\n", argv[1], n, argv[3], ref, exp(ref));
  CHECK(ref == ref);
  for (int i = 4; i < argc; i++) {
    const double nll = mean_nll(argv[i], ids, n);
    printf("%-60s mean NLL %.4f nats/token (perplexity %.3f), %+.4f\n", argv[i], nll, exp(nll), nll - ref);
    CHECK(fabs(nll - ref) <= max_diff);
  }
  return mdi_test_finish("test_quant_nll");
}

/* Logits of a converted model against a reference, or of two models against
 * each other (tests/tools/hf/CMakeLists.txt).
 *
 *   test_hf_logits MODEL.h5 REF.txt TOL [OUT.bin]
 *       REF.txt (tests/reference/reference_forward.py logits): "tokens ID...",
 *       then one line of vocab_size logits per position.  The tokens go
 *       through the model as one prefill chunk, and again one by one in
 *       another KV-cache slot; both must give the same logits bit for bit,
 *       and every logit must be within TOL of the reference.  OUT.bin gets
 *       the logits as they are in memory (float32, positions x vocab), for
 *       a comparison with another build's bit for bit (tests/arm64).
 *   test_hf_logits --same A.h5 B.h5 REF.txt
 *       A and B give bit-identical logits for REF's tokens.
 * Prints the largest difference. */
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/model/model.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"
#include "mdi_test_model.h"

#define MAX_TOKENS 256

static int load(struct mdi_test_model *m, const char *path) { return mdi_test_model_open(m, path, 2, MAX_TOKENS); }

/* logits[n][vocab] of tokens[0..n) at positions 0..n-1 in KV slot `slot`,
 * as one chunk (step 0) or one token at a time (step 1). */
static void run(struct mdi_test_model *m, const int *tokens, int n, int slot, int step, float *logits) {
  const int dim = m->hp.dim, V = m->hp.vocab_size;
  float *x = mdi_aligned_alloc((size_t)n * dim * sizeof(float), "activations"); /* [n][dim] */
  int pos[MAX_TOKENS];
  for (int i = 0; i < n; i++) pos[i] = i;
  MDI_ASSERT(x != NULL);
  if (!step) {
    struct mdi_span s = {slot, 0, n};
    mdi_embed(&m->head, tokens, pos, n, x);
    mdi_block_forward(&m->block, &m->kv, &m->ws, &s, 1, x, n, NULL, NULL);
    mdi_classify(&m->head, x, n, logits);
  } else {
    for (int i = 0; i < n; i++) {
      struct mdi_span s = {slot, i, 1};
      mdi_embed(&m->head, &tokens[i], &pos[i], 1, x);
      mdi_block_forward(&m->block, &m->kv, &m->ws, &s, 1, x, 1, NULL, NULL);
      mdi_classify(&m->head, x, 1, logits + (size_t)i * V);
    }
  }
  free(x);
}

/* The reference: tokens and logits[n][vocab] (malloc'd). */
static int read_ref(const char *path, int vocab, int *tokens, int *n, double **logits) {
  FILE *f = fopen(path, "r");
  if (!f) return fprintf(stderr, "%s: cannot open\n", path), MDI_ERR;
  static char line[1 << 16];
  *n = 0;
  *logits = NULL;
  int ok = 0;
  while (fgets(line, sizeof line, f))
    if (line[0] != '#') {
      ok = strncmp(line, "tokens ", 7) == 0;
      break;
    }
  for (char *p = line + 7, *end; ok && *n < MAX_TOKENS; p = end) {
    long v = strtol(p, &end, 10);
    if (end == p) break;
    ok = v >= 0 && v < vocab;
    tokens[(*n)++] = (int)v;
  }
  ok = ok && *n > 0 && (*logits = malloc((size_t)*n * vocab * sizeof **logits)) != NULL;
  for (size_t i = 0; ok && i < (size_t)*n * vocab; i++) ok = fscanf(f, "%lf", &(*logits)[i]) == 1;
  ok = ok && fscanf(f, "%lf", &(double){0}) != 1; /* exactly n x vocab values */
  fclose(f);
  if (!ok) fprintf(stderr, "%s: expected \"tokens ID...\" and %d x %d logits\n", path, *n, vocab);
  return ok ? MDI_OK : MDI_ERR;
}

static int against_reference(const char *model_path, const char *ref_path, double tol, const char *out_path) {
  struct mdi_test_model m;
  int tokens[MAX_TOKENS], n;
  double *ref = NULL;
  if (load(&m, model_path) != MDI_OK) return 1;
  const int V = m.hp.vocab_size;
  if (read_ref(ref_path, V, tokens, &n, &ref) != MDI_OK) return 1;
  float *chunk = malloc((size_t)n * V * sizeof(float)), *step = malloc((size_t)n * V * sizeof(float));
  CHECK(chunk && step);
  run(&m, tokens, n, 0, 0, chunk);
  run(&m, tokens, n, 1, 1, step);
  CHECK(memcmp(chunk, step, (size_t)n * V * sizeof(float)) == 0);
  double worst = 0;
  int at = 0;
  for (int i = 0; i < n * V; i++)
    if (fabs(chunk[i] - ref[i]) > worst) worst = fabs(chunk[i] - ref[i]), at = i;
  printf("%s: %d positions x %d logits, prefill == token by token: %s; largest |ours - reference| = %.3g "
         "(position %d, token %d; tolerance %g)\n", model_path, n, V,
         memcmp(chunk, step, (size_t)n * V * sizeof(float)) == 0 ? "yes" : "NO", worst, at / V, at % V, tol);
  CHECK(worst <= tol);
  if (out_path) {
    FILE *out = fopen(out_path, "wb");
    CHECK(out != NULL);
    if (out) {
      CHECK(fwrite(chunk, sizeof(float), (size_t)n * V, out) == (size_t)n * V);
      CHECK(fclose(out) == 0);
    }
  }
  free(chunk);
  free(step);
  free(ref);
  mdi_test_model_free(&m);
  return mdi_test_finish("test_hf_logits");
}

static int same_logits(const char *a_path, const char *b_path, const char *ref_path) {
  struct mdi_test_model a, b;
  int tokens[MAX_TOKENS], n;
  double *ref = NULL;
  if (load(&a, a_path) != MDI_OK || load(&b, b_path) != MDI_OK) return 1;
  const int V = a.hp.vocab_size;
  CHECK_EQ_INT(b.hp.vocab_size, V);
  if (b.hp.vocab_size != V || read_ref(ref_path, V, tokens, &n, &ref) != MDI_OK) return 1;
  float *la = malloc((size_t)n * V * sizeof(float)), *lb = malloc((size_t)n * V * sizeof(float));
  CHECK(la && lb);
  run(&a, tokens, n, 0, 0, la);
  run(&b, tokens, n, 0, 0, lb);
  int differ = 0;
  for (int i = 0; i < n * V; i++) differ += memcmp(&la[i], &lb[i], sizeof(float)) != 0;
  printf("%s and %s: %d of %d logits differ\n", a_path, b_path, differ, n * V);
  CHECK_EQ_INT(differ, 0);
  free(la);
  free(lb);
  free(ref);
  mdi_test_model_free(&a);
  mdi_test_model_free(&b);
  return mdi_test_finish("test_hf_logits --same");
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--same") == 0) return same_logits(argv[2], argv[3], argv[4]);
  if (argc == 4 || argc == 5) return against_reference(argv[1], argv[2], atof(argv[3]), argc == 5 ? argv[4] : NULL);
  fprintf(stderr, "usage: test_hf_logits MODEL.h5 REF.txt TOL [OUT.bin] | --same A.h5 B.h5 REF.txt\n");
  return 2;
}

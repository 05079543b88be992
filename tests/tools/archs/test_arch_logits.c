/* A converted model against llama.cpp's reference for the same weights
 * (../shared/fixtures/archs, tests/tools/archs/CMakeLists.txt).
 *
 *   test_arch_logits MODEL.h5 REFERENCE.json GGUF_NAME TOL [--ids | --no-ids]
 *
 * REFERENCE.json's models[GGUF_NAME].results hold, per prompt, the prompt's
 * token ids, llama.cpp's 24 greedy ids, and the top-5 [id, logit] before
 * each step (step_top; step 0 is the last prompt position).  The prompt and
 * the greedy ids go through the model teacher-forced (one prefill chunk of
 * prompt + ids), and every listed logit must lie within TOL of ours, looked
 * up by id.  With --ids (the default) the argmax of our logits (ties to the
 * lowest id, like llama.cpp's greedy sampler) must also be llama.cpp's id at
 * every step, so greedy decoding gives its 24 ids; --no-ids skips that (for
 * a quantized model, whose ids may part where margins are small).
 * Prints the largest difference and where. */
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/model.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"
#include "mdi_test_model.h"

#define MAX_TOKENS 256
#define MAX_REFERENCE_BYTES ((size_t)64 << 20)

/* logits[n][vocab] of tokens[0..n) at positions 0..n-1, as one chunk. */
static void run(struct mdi_test_model *m, const int *tokens, int n, float *logits) {
  const int dim = m->hp.dim;
  float *x = mdi_aligned_alloc((size_t)n * dim * sizeof(float), "activations"); /* [n][dim] */
  int pos[MAX_TOKENS];
  MDI_ASSERT(x != NULL && n <= MAX_TOKENS);
  for (int i = 0; i < n; i++) pos[i] = i;
  struct mdi_span s = {0, 0, n};
  mdi_embed(&m->head, tokens, pos, n, x);
  mdi_block_forward(&m->block, &m->kv, &m->ws, &s, 1, x, n, NULL, NULL);
  mdi_classify(&m->head, x, n, logits);
  free(x);
}

/* An array of integers into out[cap]; the count, or -1 when it is not one. */
static int int_array(const struct mdi_json *v, int *out, int cap) {
  if (mdi_json_type(v) != MDI_JSON_ARRAY) return -1;
  int n = 0;
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e)) {
    int64_t x;
    if (n == cap || !mdi_json_int(e, 0, 1 << 30, &x)) return -1;
    out[n++] = (int)x;
  }
  return n;
}

/* The largest |ours - reference| so far and where. */
struct worst {
  double diff;
  int prompt, step, id;
  int compared;
};

/* One prompt's result: teacher-forced logits against step_top; returns the
 * steps whose argmax differs from llama.cpp's id (-1 on a malformed entry). */
static int check_result(struct mdi_test_model *m, const struct mdi_json *res, int prompt, double tol,
                        struct worst *w) {
  int tokens[MAX_TOKENS], gen[MAX_TOKENS];
  const int np = int_array(mdi_json_get(res, "prompt_ids"), tokens, MAX_TOKENS);
  const int ng = int_array(mdi_json_get(res, "generated_ids"), gen, MAX_TOKENS);
  const struct mdi_json *steps = mdi_json_get(res, "step_top");
  if (np < 1 || ng < 1 || np + ng > MAX_TOKENS || mdi_json_count(steps) != ng) return -1;
  const int V = m->hp.vocab_size, n = np + ng - 1;
  memcpy(tokens + np, gen, (size_t)(ng - 1) * sizeof(int));
  for (int i = 0; i < n; i++)
    if (tokens[i] >= V) return -1;
  float *logits = malloc((size_t)n * V * sizeof(float));
  MDI_ASSERT(logits != NULL);
  run(m, tokens, n, logits);
  int wrong = 0, s = 0;
  for (const struct mdi_json *top = mdi_json_first(steps); top; top = mdi_json_next(top), s++) {
    const float *row = logits + (size_t)(np - 1 + s) * V;
    int best = 0;
    for (int i = 1; i < V; i++)
      if (row[i] > row[best]) best = i;
    if (best != gen[s]) wrong++;
    for (const struct mdi_json *pair = mdi_json_first(top); pair; pair = mdi_json_next(pair)) {
      int64_t id;
      const struct mdi_json *val = mdi_json_next(mdi_json_first(pair));
      if (!mdi_json_int(mdi_json_first(pair), 0, V - 1, &id) || !val || mdi_json_type(val) != MDI_JSON_NUMBER) {
        free(logits);
        return -1;
      }
      const double d = fabs((double)row[id] - mdi_json_number(val));
      w->compared++;
      if (d > w->diff) *w = (struct worst){d, prompt, s, (int)id, w->compared};
      if (d > tol)
        fprintf(stderr, "prompt %d step %d id %d: ours %.7f, llama.cpp %.7f (|diff| %.3g > %g)\n", prompt, s, (int)id,
                (double)row[id], mdi_json_number(val), d, tol);
      CHECK(d <= tol);
    }
  }
  free(logits);
  return wrong;
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 6 || (argc == 6 && strcmp(argv[5], "--ids") != 0 && strcmp(argv[5], "--no-ids") != 0)) {
    fprintf(stderr, "usage: test_arch_logits MODEL.h5 REFERENCE.json GGUF_NAME TOL [--ids | --no-ids]\n");
    return 2;
  }
  const double tol = atof(argv[4]);
  const int check_ids = argc < 6 || strcmp(argv[5], "--ids") == 0;
  struct mdi_json_doc *doc;
  if (mdi_json_parse_file(&doc, argv[2], MAX_REFERENCE_BYTES) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  const struct mdi_json *results = mdi_json_get(mdi_json_get(mdi_json_get(mdi_json_root(doc), "models"), argv[3]),
                                                "results");
  if (mdi_json_count(results) < 1) {
    fprintf(stderr, "%s: no models[\"%s\"].results\n", argv[2], argv[3]);
    return 1;
  }
  struct mdi_test_model m;
  if (mdi_test_model_open_seq(&m, argv[1], 1, MAX_TOKENS, MAX_TOKENS) != MDI_OK) return 1;
  struct worst w = {0};
  int prompt = 0, steps = 0, wrong = 0;
  for (const struct mdi_json *r = mdi_json_first(results); r; r = mdi_json_next(r), prompt++) {
    const int bad = check_result(&m, r, prompt, tol, &w);
    if (bad < 0) {
      fprintf(stderr, "%s: models[\"%s\"].results[%d] is not a reference result\n", argv[2], argv[3], prompt);
      return 1;
    }
    wrong += bad;
    steps += mdi_json_count(mdi_json_get(r, "step_top"));
  }
  printf("%s vs %s %s: %d prompts, %d steps, %d logits: largest |ours - llama.cpp| = %.3g (prompt %d, step %d, "
         "id %d; tolerance %g); argmax differs at %d of %d steps%s\n",
         argv[1], argv[2], argv[3], prompt, steps, w.compared, w.diff, w.prompt, w.step, w.id, tol, wrong, steps,
         check_ids ? "" : " (not checked)");
  if (check_ids) CHECK_EQ_INT(wrong, 0);
  mdi_test_model_free(&m);
  mdi_json_free(doc);
  return mdi_test_finish("test_arch_logits");
}

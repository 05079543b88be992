/* The model on the shipped stories260K weights (converted by the fixture):
 *  - all 512 logits at position 0 match llama2.c within 1e-4;
 *  - the top-5 at position 4 of "Once upon a time" match the reference;
 *  - a prompt sent as one prefill chunk gives bit-identical logits to the
 *    same tokens fed one by one, alone or batched with another sequence;
 *  - a block forward pass by a team of 1, 2 or 3 threads gives
 *    bit-identical logits, for a prompt chunk and for decoding rows
 *    (`test_model --threads FILE...` runs only this, on other models: the
 *    quantized and GQA fixtures). */
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/model/model.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"
#include "mdi_test_model.h"


/* Run spans of tokens through the whole model; logits of each span's last row. */
static void forward(struct mdi_test_model *m, const struct mdi_span *spans, int n, const int *tokens, float *logits) {
  int rows = 0;
  for (int i = 0; i < n; i++) rows += spans[i].n_tokens;
  float *x = mdi_aligned_alloc((size_t)rows * m->hp.dim * sizeof(float), "x");
  int *positions = malloc((size_t)rows * sizeof(int)); /* gpt2's learned positions */
  for (int i = 0, r = 0; i < n; i++)
    for (int t = 0; t < spans[i].n_tokens; t++) positions[r++] = spans[i].pos + t;
  mdi_embed(&m->head, tokens, positions, rows, x);
  free(positions);
  mdi_block_forward(&m->block, &m->kv, &m->ws, spans, n, x, rows, NULL, NULL);
  int r = 0;
  for (int i = 0; i < n; i++) { /* compact to the last row of each span */
    r += spans[i].n_tokens;
    memmove(x + (size_t)i * m->hp.dim, x + (size_t)(r - 1) * m->hp.dim, m->hp.dim * sizeof(float));
  }
  mdi_classify(&m->head, x, n, logits);
  free(x);
}

static void test_logits_pos0(struct mdi_test_model *m) {
  char path[512];
  FILE *f = fopen(mdi_test_source_path("models/stories260K.logits_pos0.txt", path, sizeof path), "r");
  CHECK(f != NULL);
  if (!f) return;
  float *logits = malloc(512 * sizeof(float));
  int bos = 1;
  struct mdi_span s = {0, 0, 1};
  forward(m, &s, 1, &bos, logits);
  char line[256];
  int n = 0;
  double worst = 0;
  while (fgets(line, sizeof line, f)) {
    int id;
    double v;
    if (line[0] == '#' || sscanf(line, "%d %lf", &id, &v) != 2) continue;
    CHECK(id >= 0 && id < 512);
    CHECK_NEAR(logits[id], v, 1e-4);
    if (fabs(logits[id] - v) > worst) worst = fabs(logits[id] - v);
    n++;
  }
  fclose(f);
  CHECK_EQ_INT(n, 512);
  printf("logits at position 0: %d values, largest difference from llama2.c %.2g\n", n, worst);
  free(logits);
}

static void test_prefill_equals_decode(struct mdi_test_model *m) {
  const int prompt[5] = {1, 403, 407, 261, 378}, V = m->hp.vocab_size;
  float *chunk = malloc((size_t)2 * V * sizeof(float)), *step = malloc((size_t)2 * V * sizeof(float));
  /* slot 0: whole prompt as one chunk, batched with a BOS-only sequence in slot 2 */
  struct mdi_span spans[2] = {{0, 0, 5}, {2, 0, 1}};
  int tokens[6] = {1, 403, 407, 261, 378, 1};
  forward(m, spans, 2, tokens, chunk);
  /* slot 1: one token at a time, alone */
  for (int p = 0; p < 5; p++) {
    struct mdi_span s = {1, p, 1};
    forward(m, &s, 1, &prompt[p], step);
  }
  CHECK(memcmp(chunk, step, V * sizeof(float)) == 0);
  /* the reference top-5 at position 4: 432:17.799398 383:14.281259 322:9.709650 */
  CHECK_NEAR(step[432], 17.799398, 1e-4);
  CHECK_NEAR(step[383], 14.281259, 1e-4);
  CHECK_NEAR(step[322], 9.709650, 1e-4);
  /* the BOS-only sequence of the batch equals position 0 alone */
  int bos = 1;
  struct mdi_span s = {3, 0, 1};
  forward(m, &s, 1, &bos, step);
  CHECK(memcmp(chunk + V, step, V * sizeof(float)) == 0);
  free(chunk);
  free(step);
}

/* Two sequences: a 6-token prompt chunk in slot 0 batched with a one-token
 * one in slot 1, then both decode 3 tokens; every logit of every step must
 * not depend on the team's size. */
static void threads_run(struct mdi_test_model *m, int threads, float *logits /* [4][2][V] */) {
  const int V = m->hp.vocab_size;
  m->ws.n_threads = threads;
  struct mdi_span spans[2] = {{0, 0, 6}, {1, 0, 1}};
  int tokens[7] = {1, 5, 9, 17, 33, 65, 1};
  for (int i = 0; i < 7; i++) tokens[i] %= V;
  for (int step = 0; step < 4; step++) {
    forward(m, spans, 2, tokens, logits + (size_t)step * 2 * V);
    spans[0].pos += spans[0].n_tokens, spans[1].pos += spans[1].n_tokens;
    spans[0].n_tokens = spans[1].n_tokens = 1;
    tokens[0] = (7 * step + 3) % V, tokens[1] = (11 * step + 2) % V;
  }
}

static void test_threads(const char *path) {
  struct mdi_test_model m;
  if (mdi_test_model_open(&m, path, 2, 8) != MDI_OK) {
    CHECK(0);
    return;
  }
  mdi_workspace_free(&m.ws); /* a workspace for up to 3 threads */
  CHECK(mdi_workspace_init(&m.ws, &m.hp, 8, m.hp.seq_len, 3) == MDI_OK);
  const size_t n = (size_t)4 * 2 * m.hp.vocab_size;
  float *one = malloc(n * sizeof(float)), *more = malloc(n * sizeof(float));
  threads_run(&m, 1, one);
  for (int t = 2; t <= 3; t++) {
    threads_run(&m, t, more);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) differ += memcmp(&one[i], &more[i], sizeof(float)) != 0;
    printf("%s: %zu of %zu logits differ between 1 and %d threads\n", path, differ, n, t);
    CHECK(differ == 0);
  }
  free(one);
  free(more);
  mdi_test_model_free(&m);
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
    for (int i = 2; i < argc; i++) test_threads(argv[i]);
    return mdi_test_finish("test_model --threads");
  }
  const char *dir = getenv("MDI_BINARY_DIR");
  char path[512];
  snprintf(path, sizeof path, "%s/tests/stories260K.h5", dir ? dir : ".");
  struct mdi_test_model m;
  if (mdi_test_model_open(&m, path, 4, 32) != MDI_OK) return 1;
  test_logits_pos0(&m);
  test_prefill_equals_decode(&m);
  mdi_test_model_free(&m);
  test_threads(path);
  return mdi_test_finish("test_model");
}

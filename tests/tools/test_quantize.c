/* mdi_convert quantize on the shipped stories260K (the fixture's Q8_MODEL,
 * quantized with --type q8_0 from the float32 MDI_BINARY_DIR/tests/stories260K.h5):
 *  - every matrix whose rows are whole blocks is what mdi_quant_quantize_row()
 *    makes of the float32 rows, stored as its rows of blocks with its type;
 *    w2 (172 columns) stays float32, as do the norms; the tokenizer is
 *    copied and the root attribute quantization = "Q8_0" is there;
 *  - every other type picks llama.cpp's fallbacks for these 64-wide rows
 *    (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0) and runs;
 *  - the logits at position 0 (BOS) stay within a tolerance of llama2.c's
 *    float32 logits (models/stories260K.logits_pos0.txt) with the same
 *    argmax, and along "Once upon a time" the argmax is the float model's;
 *  - --type f32 writes the dequantized weights exactly; the model on them
 *    (float activations) differs from the quantized one (8-bit activations)
 *    by the activation rounding only, which is measured and bounded;
 *  - a file with one quantized matrix and no quantization attribute is
 *    refused by quantize and export-llama2c and accepted by info;
 *  - a weight that is NaN makes the conversion fail without an output. */
#include <stdlib.h>

#include "convert.h"
#include "convert_test_util.h"
#include "mdi/model/matmul.h"
#include "mdi/model/model.h"
#include "mdi/model/tokenizer.h"
#include "mdi_test_model.h"

#ifndef Q8_MODEL
#define Q8_MODEL "q8.h5"
#endif

/* Q8_0 against llama2.c's float32 logits at position 0.  The criterion of
 * the quantization is that greedy decoding keeps the float32 tokens (tested
 * by quantize.greedy64.check); the logits move by the weights' rounding and
 * the 8-bit activations' (measured: printed below).  The bound catches a
 * broken layout or scale, which moves logits by whole units. */
#define LOGIT_TOL 0.25
/* 8-bit activations against float ones on the same dequantized weights */
#define ACTIVATION_TOL 0.3

static int64_t n_cols(const struct convert_tensor *t) { return t->ndims == 2 ? t->dims[1] : t->dims[0]; }
static int64_t n_rows(const struct convert_tensor *t) { return t->ndims == 2 ? t->dims[0] : 1; }

/* Read a whole float32 tensor t of f into a new array; NULL on error. */
static float *read_floats(struct mdi_h5 *f, const struct convert_tensor *t) {
  float *w = malloc((size_t)(n_rows(t) * n_cols(t)) * sizeof *w); /* [rows][cols] */
  if (w && mdi_h5_read(f, t->name, MDI_F32, t->ndims, t->dims, w) == MDI_OK) return w;
  fprintf(stderr, "%s\n", mdi_error());
  free(w);
  return NULL;
}

/* Read quantized matrix t of q (type `type`) as its rows of blocks. */
static uint8_t *read_blocks(struct mdi_h5 *q, const struct convert_tensor *t, enum mdi_matrix_type type) {
  const size_t rb = mdi_quant_row_bytes(type, t->dims[1]);
  uint8_t *b = malloc((size_t)t->dims[0] * rb);
  if (b && mdi_h5_read_rows(q, t->name, MDI_U8, t->dims[0], (int64_t)rb, 0, t->dims[0], b) == MDI_OK) return b;
  fprintf(stderr, "%s\n", mdi_error());
  free(b);
  return NULL;
}

/* The file q quantized to `want` from f: each tensor as expected; returns
 * the number of weights stored as blocks. */
static int64_t check_file(struct mdi_h5 *f, struct mdi_h5 *q, enum mdi_matrix_type want) {
  struct mdi_hparams hf, hq;
  CHECK(mdi_h5_read_hparams(f, &hf) == MDI_OK && mdi_h5_read_hparams(q, &hq) == MDI_OK);
  CHECK(memcmp(&hf, &hq, sizeof hf) == 0);
  char value[32] = "";
  CHECK(mdi_h5_attr_string(q, "/", "quantization", value, sizeof value) == MDI_OK);
  CHECK_STR(value, mdi_quant_format(want)->name);
  int64_t n_blocks = 0;
  for (int i = 0; i < convert_tensor_count(&hf); i++) {
    struct convert_tensor t;
    convert_tensor_at(&hf, i, &t);
    float *w = read_floats(f, &t);
    CHECK(w != NULL);
    if (!w) continue;
    /* llama.cpp's fallback for rows that are not whole blocks */
    enum mdi_matrix_type expect = t.ndims == 2 ? want : MDI_MATRIX_F32, stored = MDI_MATRIX_F32;
    if (expect != MDI_MATRIX_F32 && t.dims[1] % mdi_quant_format(expect)->block)
      expect = expect == MDI_MATRIX_Q4_K ? MDI_MATRIX_Q5_0
               : expect == MDI_MATRIX_Q5_K ? MDI_MATRIX_Q5_1
               : expect == MDI_MATRIX_Q6_K ? MDI_MATRIX_Q8_0 : expect;
    if (expect != MDI_MATRIX_F32 && t.dims[1] % mdi_quant_format(expect)->block) expect = MDI_MATRIX_F32;
    if (t.ndims == 2) CHECK(mdi_h5_matrix_type(q, t.name, &stored) == MDI_OK);
    if (stored != expect) fprintf(stderr, "/%s is %s, expected %s\n", t.name, mdi_quant_format(stored)->name, mdi_quant_format(expect)->name);
    CHECK(stored == expect);
    if (stored == MDI_MATRIX_F32 || stored != expect) {
      if (stored == MDI_MATRIX_F32) CHECK(convert_test_same_floats(q, t.name, t.ndims, t.dims, w));
      free(w);
      continue;
    }
    const size_t rb = mdi_quant_row_bytes(stored, t.dims[1]);
    uint8_t *have = read_blocks(q, &t, stored), *mine = malloc(rb);
    CHECK(have && mine);
    int same = have && mine;
    for (int64_t r = 0; same && r < t.dims[0]; r++) {
      mdi_quant_quantize_row(stored, w + r * t.dims[1], mine, (int)t.dims[1]);
      same = memcmp(mine, have + r * rb, rb) == 0;
    }
    if (!same) fprintf(stderr, "/%s is not mdi_quant_quantize_row() of the float32 rows\n", t.name);
    CHECK(same);
    n_blocks += t.dims[0] * t.dims[1];
    free(have);
    free(mine);
    free(w);
  }
  CHECK(!mdi_h5_exists(q, "classifier"));
  return n_blocks;
}

static void test_contents(struct mdi_h5 *f, struct mdi_h5 *q) {
  const int64_t n = check_file(f, q, MDI_MATRIX_Q8_0);
  /* stories260K: per layer wq, wo [64][64], wk, wv [32][64], w1, w3 [172][64]
   * (w2 [64][172] stays float32), and the shared embedding [512][64] */
  CHECK_EQ_INT(n, 5 * (2 * 4096 + 2 * 2048 + 2 * 172 * 64) + 512 * 64);
  struct mdi_tokenizer a, b;
  CHECK(mdi_tokenizer_load(&a, f) == MDI_OK && mdi_tokenizer_load(&b, q) == MDI_OK);
  CHECK_EQ_INT(a.vocab_size, b.vocab_size);
  CHECK(a.bos_id == b.bos_id && a.eos_id == b.eos_id && a.n_stop == b.n_stop &&
        a.max_token_length == b.max_token_length);
  CHECK(memcmp(a.scores, b.scores, (size_t)a.vocab_size * sizeof(float)) == 0);
  for (int i = 0; i < a.vocab_size && i < b.vocab_size; i++)
    CHECK(a.piece_lens[i] == b.piece_lens[i] && memcmp(a.pieces[i], b.pieces[i], (size_t)a.piece_lens[i]) == 0);
  mdi_tokenizer_free(&a);
  mdi_tokenizer_free(&b);
  printf("contents: %lld weights Q8_0, each matrix bit for bit mdi_quant_quantize_row() of the float32 rows; "
         "w2 and the norms float32, tokenizer and hyperparameters unchanged\n", (long long)n);
}

/* ---- logits ------------------------------------------------------------- */

/* one slot, one row per call: token by token */
static int load(struct mdi_test_model *m, struct mdi_h5 *f) { return mdi_test_model_load(m, f, 1, 1); }

/* Logits [vocab] of `token` at position `pos` of slot 0. */
static void step(struct mdi_test_model *m, int token, int pos, float *logits) {
  float x[4096]; /* [dim] */
  MDI_ASSERT(m->hp.dim <= 4096);
  struct mdi_span s = {0, pos, 1};
  mdi_embed(&m->head, &token, &pos, 1, x);
  mdi_block_forward(&m->block, &m->kv, &m->ws, &s, 1, x, 1, NULL, NULL);
  mdi_classify(&m->head, x, 1, logits);
}

static int argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

static double max_diff(const float *a, const float *b, int n) {
  double worst = 0;
  for (int i = 0; i < n; i++)
    if (fabs((double)a[i] - b[i]) > worst) worst = fabs((double)a[i] - b[i]);
  return worst;
}

/* llama2.c's float32 logits at position 0 into ref[V]. */
static void reference_logits(float *ref, int V) {
  char path[512], line[256];
  FILE *in = fopen(mdi_test_source_path("models/stories260K.logits_pos0.txt", path, sizeof path), "r");
  CHECK(in != NULL);
  int n = 0;
  while (in && fgets(line, sizeof line, in)) {
    int id;
    double v;
    if (line[0] == '#' || sscanf(line, "%d %lf", &id, &v) != 2 || id < 0 || id >= V) continue;
    ref[id] = (float)v;
    n++;
  }
  if (in) fclose(in);
  CHECK_EQ_INT(n, V);
}

/* Model q against llama2.c at position 0 (within tol, same argmax unless
 * only `loose`) and against the float model along a prompt. */
static void test_logits(struct mdi_h5 *f, struct mdi_h5 *q, const char *what, double tol, int loose) {
  struct mdi_test_model mf, mq;
  if (load(&mf, f) != MDI_OK || load(&mq, q) != MDI_OK) {
    CHECK(0);
    return;
  }
  const int V = mq.hp.vocab_size;
  float *lf = malloc((size_t)V * sizeof *lf), *lq = malloc((size_t)V * sizeof *lq), *ref = malloc((size_t)V * sizeof *ref);
  reference_logits(ref, V);
  step(&mf, 1, 0, lf);
  step(&mq, 1, 0, lq);
  const double d_ref = max_diff(lq, ref, V), d_float = max_diff(lq, lf, V);
  double mean = 0;
  for (int i = 0; i < V; i++) mean += fabs((double)lq[i] - ref[i]) / V;
  printf("%s logits at position 0 (BOS): - llama2.c float32 max |diff| %.3g (mean %.3g), - this float32 model "
         "%.3g (tolerance %g); argmax %d, float32 %d\n", what, d_ref, mean, d_float, tol, argmax(lq, V), argmax(ref, V));
  CHECK(d_ref <= tol);
  if (!loose) CHECK_EQ_INT(argmax(lq, V), argmax(ref, V));
  const int prompt[5] = {1, 403, 407, 261, 378}; /* BOS "Once upon a time" */
  double worst = 0;
  int same = 0;
  for (int p = 1; p < 5; p++) {
    step(&mf, prompt[p], p, lf);
    step(&mq, prompt[p], p, lq);
    if (max_diff(lf, lq, V) > worst) worst = max_diff(lf, lq, V);
    same += argmax(lq, V) == argmax(lf, V);
  }
  printf("%s logits along \"Once upon a time\" (positions 1-4): - float32 max |diff| %.3g, %d of 4 argmax the same\n",
         what, worst, same);
  if (!loose) CHECK_EQ_INT(same, 4);
  free(lf);
  free(lq);
  free(ref);
  mdi_test_model_free(&mf);
  mdi_test_model_free(&mq);
}

/* Every other type: the fallbacks, and a model that still predicts. */
static void test_types(struct mdi_h5 *f, const char *model, const char *dir) {
  static const char *const names[] = {"q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char out[600];
    snprintf(out, sizeof out, "%s/%s.h5", dir, names[i]);
    char *args[] = {NULL, "quantize", "-q", "--type", (char *)names[i], (char *)model, out, NULL};
    CHECK_EQ_INT(convert_test_run(args), 0);
    struct mdi_h5 *q;
    enum mdi_matrix_type type;
    if (mdi_h5_open(&q, out) != MDI_OK || mdi_quant_parse(names[i], &type) != MDI_OK) {
      CHECK(0);
      continue;
    }
    check_file(f, q, type);
    /* 4-bit weights of a 260K-parameter model: logits move by ~1, the
     * first token is still the float model's */
    test_logits(f, q, names[i], 2.5, 1);
    mdi_h5_close(q);
  }
}

/* --type f32: the dequantized weights, and what 8-bit activations change. */
static void test_dequantized(struct mdi_h5 *q, const char *dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/dequantized.h5", dir);
  char *args[] = {NULL, "quantize", "-q", "--type", "f32", Q8_MODEL, path, NULL};
  CHECK_EQ_INT(convert_test_run(args), 0);
  struct mdi_h5 *d = NULL;
  struct mdi_hparams hp;
  if (mdi_h5_open(&d, path) != MDI_OK || mdi_h5_read_hparams(q, &hp) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    CHECK(0);
    return;
  }
  CHECK(!mdi_h5_attr_exists(d, "/", "quantization"));
  for (int i = 0; i < convert_tensor_count(&hp); i++) {
    struct convert_tensor t;
    enum mdi_matrix_type type = MDI_MATRIX_F32;
    convert_tensor_at(&hp, i, &t);
    if (t.ndims != 2 || mdi_h5_matrix_type(q, t.name, &type) != MDI_OK || type == MDI_MATRIX_F32) continue;
    uint8_t *b = read_blocks(q, &t, type);
    float *want = malloc((size_t)(t.dims[0] * t.dims[1]) * sizeof(float));
    for (int64_t r = 0; b && r < t.dims[0]; r++)
      mdi_quant_dequantize_row(type, b + r * (int64_t)mdi_quant_row_bytes(type, t.dims[1]), want + r * t.dims[1],
                               (int)t.dims[1]);
    CHECK(b && convert_test_same_floats(d, t.name, 2, t.dims, want));
    free(b);
    free(want);
  }
  struct mdi_test_model mq, md;
  if (load(&mq, q) != MDI_OK || load(&md, d) != MDI_OK) {
    CHECK(0);
    mdi_h5_close(d);
    return;
  }
  const int V = mq.hp.vocab_size, prompt[5] = {1, 403, 407, 261, 378};
  float *a = malloc((size_t)V * sizeof *a), *b = malloc((size_t)V * sizeof *b);
  double worst = 0, mean = 0;
  for (int p = 0; p < 5; p++) {
    step(&mq, prompt[p], p, a);
    step(&md, prompt[p], p, b);
    if (max_diff(a, b, V) > worst) worst = max_diff(a, b, V);
    for (int i = 0; i < V; i++) mean += fabs((double)a[i] - b[i]) / (5.0 * V);
  }
  printf("Q8_0 with 8-bit activations - float32 on its dequantized weights, positions 0-4: max |diff| %.3g, "
         "mean %.3g (tolerance %g)\n", worst, mean, ACTIVATION_TOL);
  CHECK(worst <= ACTIVATION_TOL);
  CHECK(worst > 0); /* the activations are quantized: not the float computation */
  free(a);
  free(b);
  mdi_test_model_free(&mq);
  mdi_test_model_free(&md);
  mdi_h5_close(d);
}

/* ---- files that are quantized in part, or not quantizable ------------------ */

/* Copy the float model f to `path` with `edit` applied: a NaN in w1, or
 * layers/002/w3 stored as Q8_0 blocks. */
enum edit { EDIT_NAN, EDIT_ONE_Q8 };
static int write_edited(struct mdi_h5 *f, const char *path, enum edit edit) {
  struct mdi_hparams hp;
  struct mdi_h5w *w;
  struct mdi_tokenizer tok;
  if (mdi_h5_read_hparams(f, &hp) != MDI_OK || mdi_h5w_create(&w, path) != MDI_OK) return MDI_ERR;
  int rc = mdi_h5w_write_hparams(w, &hp);
  for (int i = 0; i < convert_tensor_count(&hp) && rc == MDI_OK; i++) {
    struct convert_tensor t;
    convert_tensor_at(&hp, i, &t);
    float *data = read_floats(f, &t);
    rc = data ? MDI_OK : MDI_ERR;
    if (rc == MDI_OK && edit == EDIT_NAN && strcmp(t.name, "layers/000/w1") == 0) data[3 * n_cols(&t) + 5] = NAN;
    if (rc == MDI_OK && edit == EDIT_ONE_Q8 && strcmp(t.name, "layers/002/w3") == 0) {
      const size_t rb = mdi_quant_row_bytes(MDI_MATRIX_Q8_0, t.dims[1]);
      uint8_t *b = malloc((size_t)t.dims[0] * rb);
      for (int64_t r = 0; r < t.dims[0]; r++)
        mdi_quant_quantize_row(MDI_MATRIX_Q8_0, data + r * t.dims[1], b + r * rb, (int)t.dims[1]);
      rc = mdi_h5w_create_blocks(w, t.name, MDI_MATRIX_Q8_0, t.dims[0], t.dims[1]);
      if (rc == MDI_OK) rc = mdi_h5w_write_rows(w, t.name, MDI_U8, 0, t.dims[0], (int64_t)rb, b);
      free(b);
      free(data);
      continue;
    }
    if (rc == MDI_OK) rc = mdi_h5w_write(w, t.name, MDI_F32, t.ndims, t.dims, data);
    free(data);
  }
  if (rc == MDI_OK && mdi_tokenizer_load(&tok, f) == MDI_OK) {
    rc = mdi_tokenizer_save(&tok, w);
    mdi_tokenizer_free(&tok);
  } else {
    rc = MDI_ERR;
  }
  if (rc != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    mdi_h5w_abandon(w);
    return MDI_ERR;
  }
  return mdi_h5w_close(w);
}

static void test_edge_cases(struct mdi_h5 *f, const char *dir) {
  char src[512], out[600], tmp[640];
  /* one Q8_0 matrix and no quantization attribute: still a quantized model
   * to quantize and export-llama2c (exit 1, no output), valid to info */
  snprintf(src, sizeof src, "%s/mixed.h5", dir);
  snprintf(out, sizeof out, "%s/mixed.out", dir);
  CHECK(write_edited(f, src, EDIT_ONE_Q8) == MDI_OK);
  remove(out);
  char *quantize[] = {NULL, "quantize", "--type", "q4_0", src, out, NULL};
  char *export[] = {NULL, "export-llama2c", src, out, NULL};
  char *info[] = {NULL, "info", src, NULL};
  CHECK_EQ_INT(convert_test_run(quantize), 1);
  CHECK_EQ_INT(convert_test_run(export), 1);
  CHECK_EQ_INT(convert_test_run(info), 0);
  CHECK(access(out, F_OK) != 0);
  /* NaN: exit status 1, and neither the output nor its temporary remains */
  snprintf(src, sizeof src, "%s/nan.h5", dir);
  snprintf(out, sizeof out, "%s/nan.q8.h5", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", out);
  CHECK(write_edited(f, src, EDIT_NAN) == MDI_OK);
  remove(out);
  char *nan_args[] = {NULL, "quantize", "-q", "--type", "q4_k", src, out, NULL};
  CHECK_EQ_INT(convert_test_run(nan_args), 1);
  CHECK(access(out, F_OK) != 0 && access(tmp, F_OK) != 0);
}

int main(void) {
  const char *bin = getenv("MDI_BINARY_DIR");
  char path[512], dir[512];
  snprintf(path, sizeof path, "%s/tests/stories260K.h5", bin ? bin : ".");
  struct mdi_h5 *f, *q;
  if (mdi_h5_open(&f, path) != MDI_OK || mdi_h5_open(&q, Q8_MODEL) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  convert_test_workdir("quantize_types", dir, sizeof dir);
  test_contents(f, q);
  test_logits(f, q, "Q8_0", LOGIT_TOL, 0);
  test_dequantized(q, dir);
  test_types(f, path, dir);
  test_edge_cases(f, dir);
  mdi_h5_close(q);
  mdi_h5_close(f);
  return mdi_test_finish("test_quantize");
}

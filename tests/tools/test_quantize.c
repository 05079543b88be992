/* mdi_convert quantize --q8_0 on the shipped stories260K (the fixture's
 * Q8_MODEL, quantized from the float32 MDI_BINARY_DIR/tests/stories260K.h5):
 *  - every matrix is what mdi_q8_quantize_row() makes of the float32 rows
 *    (int8 [rows][cols] and NAME_scale [rows][ceil(cols/32)], bit for bit),
 *    the norms and the tokenizer are copied unchanged, and the root attribute
 *    quantization = "q8_0" is there;
 *  - the logits at position 0 (BOS) stay within LOGIT_TOL of llama2.c's
 *    float32 logits (models/stories260K.logits_pos0.txt), with the same
 *    argmax, and along "Once upon a time" the argmax is the float model's;
 *  - the Q8_0 model's logits equal those of a float32 model holding its
 *    dequantized weights: the difference above is all quantization error;
 *  - a file with one int8 matrix and no quantization attribute is refused by
 *    quantize and export-llama2c and accepted by info;
 *  - groups too small for a normal float scale are stored as zeros, a partial
 *    last group (cols % 32 != 0) is quantized on its own, and a weight that is
 *    NaN makes the conversion fail without leaving an output. */
#include <float.h>
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
 * by quantize.greedy64.check); the logits themselves move by Q8_0's rounding
 * (measured: 0.164 at most, mean 0.025, on logits of magnitude up to 17),
 * all of it quantization error: test_dequantized() finds the float32 model
 * of the dequantized weights bit for bit equal.  The bound catches a broken
 * layout or scale, which moves logits by whole units. */
#define LOGIT_TOL 0.25

/* The row length and count of a tensor (a vector is one row). */
static int64_t n_cols(const struct convert_tensor *t) { return t->ndims == 2 ? t->dims[1] : t->dims[0]; }
static int64_t n_rows(const struct convert_tensor *t) { return t->ndims == 2 ? t->dims[0] : 1; }

static int is_quantized(const struct mdi_hparams *hp, const struct convert_tensor *t) {
  return t->ndims == 2 && (strcmp(t->name, "embedding") != 0 || hp->shared_classifier);
}

/* The Q8_0 matrix NAME of q as stored: values [rows][cols], scales [rows][groups]. */
static int read_q8(struct mdi_h5 *q, const struct convert_tensor *t, int8_t *values, float *scales) {
  char scale[CONVERT_SCALE_NAME_MAX];
  convert_scale_name(scale, t->name);
  const int64_t groups = (t->dims[1] + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP, sdims[2] = {t->dims[0], groups};
  if (mdi_h5_read(q, t->name, MDI_I8, 2, t->dims, values) != MDI_OK ||
      mdi_h5_read(q, scale, MDI_F32, 2, sdims, scales) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    return MDI_ERR;
  }
  return MDI_OK;
}

/* Tensor t of the float model f against the quantized file q. */
static void check_tensor(struct mdi_h5 *f, struct mdi_h5 *q, const struct mdi_hparams *hp,
                         const struct convert_tensor *t, int64_t *n_q8) {
  const int64_t rows = n_rows(t), cols = n_cols(t), groups = (cols + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP;
  float *w = malloc((size_t)(rows * cols) * sizeof *w); /* [rows][cols] */
  CHECK(w && mdi_h5_read(f, t->name, MDI_F32, t->ndims, t->dims, w) == MDI_OK);
  if (!w) return;
  if (!is_quantized(hp, t)) {
    CHECK(convert_test_same_floats(q, t->name, t->ndims, t->dims, w));
    free(w);
    return;
  }
  int8_t *want_q = malloc((size_t)(rows * cols)), *have_q = malloc((size_t)(rows * cols));
  float *want_s = malloc((size_t)(rows * groups) * sizeof(float)), *have_s = malloc((size_t)(rows * groups) * sizeof(float));
  CHECK(want_q && have_q && want_s && have_s);
  if (want_q && have_q && want_s && have_s && read_q8(q, t, have_q, have_s) == MDI_OK) {
    for (int64_t r = 0; r < rows; r++)
      mdi_q8_quantize_row(w + r * cols, (int)cols, want_q + r * cols, want_s + r * groups);
    int same = memcmp(want_q, have_q, (size_t)(rows * cols)) == 0 &&
               memcmp(want_s, have_s, (size_t)(rows * groups) * sizeof(float)) == 0;
    if (!same) fprintf(stderr, "/%s is not mdi_q8_quantize_row() of the float32 rows\n", t->name);
    CHECK(same);
    for (int64_t i = 0; i < rows * cols; i++) CHECK(have_q[i] >= -127); /* symmetric: never -128 */
    *n_q8 += rows * cols;
  } else {
    CHECK(0);
  }
  free(want_q);
  free(have_q);
  free(want_s);
  free(have_s);
  free(w);
}

static void test_contents(struct mdi_h5 *f, struct mdi_h5 *q) {
  struct mdi_hparams hf, hq;
  CHECK(mdi_h5_read_hparams(f, &hf) == MDI_OK && mdi_h5_read_hparams(q, &hq) == MDI_OK);
  CHECK(memcmp(&hf, &hq, sizeof hf) == 0);
  char value[32] = "";
  CHECK(mdi_h5_attr_string(q, "/", "quantization", value, sizeof value) == MDI_OK);
  CHECK_STR(value, "q8_0");
  int64_t n_q8 = 0;
  for (int i = 0; i < convert_tensor_count(&hf); i++) {
    struct convert_tensor t;
    convert_tensor_at(&hf, i, &t);
    check_tensor(f, q, &hf, &t, &n_q8);
  }
  /* stories260K: 5 layers of 45312 matrix weights, and the shared embedding */
  CHECK_EQ_INT(n_q8, 5 * 45312 + 512 * 64);
  CHECK(!mdi_h5_exists(q, "classifier"));
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
  printf("contents: %lld weights Q8_0, each matrix bit for bit mdi_q8_quantize_row() of the float32 rows; "
         "norms, tokenizer and hyperparameters unchanged\n", (long long)n_q8);
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

static void test_logits(struct mdi_h5 *f, struct mdi_h5 *q) {
  struct mdi_test_model mf, mq;
  if (load(&mf, f) != MDI_OK || load(&mq, q) != MDI_OK) {
    CHECK(0);
    return;
  }
  const int V = mq.hp.vocab_size;
  float *lf = malloc((size_t)V * sizeof *lf), *lq = malloc((size_t)V * sizeof *lq), *ref = malloc((size_t)V * sizeof *ref);
  CHECK(lf && lq && ref);
  if (!lf || !lq || !ref) return;
  /* position 0: llama2.c's float32 logits */
  char path[512];
  FILE *in = fopen(mdi_test_source_path("models/stories260K.logits_pos0.txt", path, sizeof path), "r");
  CHECK(in != NULL);
  int n = 0;
  char line[256];
  while (in && fgets(line, sizeof line, in)) {
    int id;
    double v;
    if (line[0] == '#' || sscanf(line, "%d %lf", &id, &v) != 2 || id < 0 || id >= V) continue;
    ref[id] = (float)v;
    n++;
  }
  if (in) fclose(in);
  CHECK_EQ_INT(n, V);
  step(&mf, 1, 0, lf);
  step(&mq, 1, 0, lq);
  const double d_ref = max_diff(lq, ref, V), d_float = max_diff(lq, lf, V);
  double mean = 0, largest = 0;
  for (int i = 0; i < V; i++) {
    mean += fabs((double)lq[i] - ref[i]) / V;
    if (fabs(ref[i]) > largest) largest = fabs(ref[i]);
  }
  printf("logits at position 0 (BOS): Q8_0 - llama2.c float32 max |diff| %.3g (mean %.3g; largest |logit| "
         "%.3g), Q8_0 - this float32 model %.3g (tolerance %g); argmax %d, float32 %d\n", d_ref, mean, largest,
         d_float, LOGIT_TOL, argmax(lq, V), argmax(ref, V));
  CHECK(d_ref <= LOGIT_TOL);
  CHECK_EQ_INT(argmax(lq, V), argmax(ref, V));
  /* along a prompt: the same next token at every position */
  const int prompt[5] = {1, 403, 407, 261, 378}; /* BOS "Once upon a time" */
  double worst = 0;
  for (int p = 1; p < 5; p++) {
    step(&mf, prompt[p], p, lf);
    step(&mq, prompt[p], p, lq);
    if (max_diff(lf, lq, V) > worst) worst = max_diff(lf, lq, V);
    CHECK_EQ_INT(argmax(lq, V), argmax(lf, V));
  }
  printf("logits along \"Once upon a time\" (positions 1-4): Q8_0 - float32 max |diff| %.3g, same argmax\n", worst);
  free(lf);
  free(lq);
  free(ref);
  mdi_test_model_free(&mf);
  mdi_test_model_free(&mq);
}

/* Write the quantized model q as a float32 model holding its dequantized
 * weights (q * d): what the Q8_0 kernels must compute with.  The matrix
 * named `keep` (when not NULL) stays Q8_0, without the root attribute. */
static int write_dequantized(struct mdi_h5 *q, const char *path, const char *keep) {
  struct mdi_hparams hp;
  struct mdi_h5w *w;
  struct mdi_tokenizer tok;
  if (mdi_h5_read_hparams(q, &hp) != MDI_OK || mdi_h5w_create(&w, path) != MDI_OK) return MDI_ERR;
  int rc = mdi_h5w_write_hparams(w, &hp);
  for (int i = 0; i < convert_tensor_count(&hp) && rc == MDI_OK; i++) {
    struct convert_tensor t;
    convert_tensor_at(&hp, i, &t);
    const int64_t rows = n_rows(&t), cols = n_cols(&t), groups = (cols + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP;
    float *data = malloc((size_t)(rows * cols) * sizeof *data);        /* [rows][cols] */
    int8_t *values = malloc((size_t)(rows * cols));                     /* [rows][cols] */
    float *scales = malloc((size_t)(rows * groups) * sizeof *scales);   /* [rows][groups] */
    rc = data && values && scales ? MDI_OK : MDI_ERR;
    if (rc == MDI_OK && keep && strcmp(t.name, keep) == 0) {
      char scale[CONVERT_SCALE_NAME_MAX];
      const int64_t sdims[2] = {rows, groups};
      convert_scale_name(scale, t.name);
      rc = read_q8(q, &t, values, scales);
      if (rc == MDI_OK) rc = mdi_h5w_write(w, t.name, MDI_I8, 2, t.dims, values);
      if (rc == MDI_OK) rc = mdi_h5w_write(w, scale, MDI_F32, 2, sdims, scales);
      free(data);
      free(values);
      free(scales);
      continue;
    }
    if (rc == MDI_OK && is_quantized(&hp, &t)) {
      rc = read_q8(q, &t, values, scales);
      for (int64_t r = 0; r < rows && rc == MDI_OK; r++)
        for (int64_t k = 0; k < cols; k++)
          data[r * cols + k] = (float)values[r * cols + k] * scales[r * groups + k / MDI_Q8_GROUP];
    } else if (rc == MDI_OK) {
      rc = mdi_h5_read(q, t.name, MDI_F32, t.ndims, t.dims, data);
    }
    if (rc == MDI_OK) rc = mdi_h5w_write(w, t.name, MDI_F32, t.ndims, t.dims, data);
    free(data);
    free(values);
    free(scales);
  }
  if (rc == MDI_OK && mdi_tokenizer_load(&tok, q) == MDI_OK) {
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

/* The Q8_0 model computes what float32 does on its dequantized weights: the
 * whole logit difference to the float32 model is quantization error. */
static void test_dequantized(struct mdi_h5 *q, const char *dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/dequantized.h5", dir);
  struct mdi_h5 *d = NULL;
  struct mdi_test_model mq, md;
  if (write_dequantized(q, path, NULL) != MDI_OK || mdi_h5_open(&d, path) != MDI_OK || load(&mq, q) != MDI_OK ||
      load(&md, d) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    CHECK(0);
    mdi_h5_close(d);
    return;
  }
  const int V = mq.hp.vocab_size, prompt[5] = {1, 403, 407, 261, 378};
  float *a = malloc((size_t)V * sizeof *a), *b = malloc((size_t)V * sizeof *b);
  CHECK(a && b);
  double worst = 0;
  for (int p = 0; p < 5 && a && b; p++) {
    step(&mq, prompt[p], p, a);
    step(&md, prompt[p], p, b);
    if (max_diff(a, b, V) > worst) worst = max_diff(a, b, V);
  }
  printf("Q8_0 model - float32 model of its dequantized weights, positions 0-4: max |diff| %.3g\n", worst);
  CHECK(worst <= 1e-4);
  free(a);
  free(b);
  mdi_test_model_free(&mq);
  mdi_test_model_free(&md);
  mdi_h5_close(d);

  /* one int8 matrix and no quantization attribute: still a quantized model
   * to quantize and export-llama2c (exit 1, no output), valid to info */
  char out[640];
  snprintf(path, sizeof path, "%s/mixed.h5", dir);
  snprintf(out, sizeof out, "%s/mixed.out", dir);
  CHECK(write_dequantized(q, path, "layers/002/w3") == MDI_OK);
  char *quantize[] = {NULL, "quantize", "--q8_0", path, out, NULL};
  char *export[] = {NULL, "export-llama2c", path, out, NULL};
  char *info[] = {NULL, "info", path, NULL};
  CHECK_EQ_INT(convert_test_run(quantize), 1);
  CHECK_EQ_INT(convert_test_run(export), 1);
  CHECK_EQ_INT(convert_test_run(info), 0);
  CHECK(access(out, F_OK) != 0);
}

/* ---- edge cases ----------------------------------------------------------- */

/* Copy the float model f to `path`, changing one element or group of rows
 * of layers/000/w2 ([dim][hidden], hidden = 172: five groups of 32 and a
 * partial group of 12) with `edit`. */
static int write_edited(struct mdi_h5 *f, const char *path, void (*edit)(float *w2, int64_t cols)) {
  struct mdi_hparams hp;
  struct mdi_h5w *w;
  struct mdi_tokenizer tok;
  if (mdi_h5_read_hparams(f, &hp) != MDI_OK || mdi_h5w_create(&w, path) != MDI_OK) return MDI_ERR;
  int rc = mdi_h5w_write_hparams(w, &hp);
  for (int i = 0; i < convert_tensor_count(&hp) && rc == MDI_OK; i++) {
    struct convert_tensor t;
    convert_tensor_at(&hp, i, &t);
    float *data = malloc((size_t)(n_rows(&t) * n_cols(&t)) * sizeof *data);
    rc = data ? mdi_h5_read(f, t.name, MDI_F32, t.ndims, t.dims, data) : MDI_ERR;
    if (rc == MDI_OK && strcmp(t.name, "layers/000/w2") == 0) edit(data, n_cols(&t));
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

/* Row 0: group 0 normal but below 127 * FLT_MIN, group 1 subnormal, the
 * partial group [160, 172) a ramp with its largest magnitude negative. */
static void edit_tiny(float *w2, int64_t cols) {
  for (int k = 0; k < 32; k++) w2[k] = (k % 2 ? -1e-37f : 1e-37f) * (float)(k + 1) / 32.0f;
  for (int k = 32; k < 64; k++) w2[k] = (k % 2 ? -1e-39f : 1e-39f);
  for (int64_t k = 160; k < cols; k++) w2[k] = 0.01f * (float)(k - 170);
}

static void edit_nan(float *w2, int64_t cols) { w2[3 * cols + 5] = NAN; }

static void test_edge_cases(struct mdi_h5 *f, const char *dir) {
  char src[512], out[600], tmp[640];
  struct convert_tensor t = {"layers/000/w2", 0, 2, {64, 172}};
  const int64_t cols = 172, groups = 6;
  snprintf(src, sizeof src, "%s/tiny.h5", dir);
  snprintf(out, sizeof out, "%s/tiny.q8.h5", dir);
  CHECK(write_edited(f, src, edit_tiny) == MDI_OK);
  char *args[] = {NULL, "quantize", "-q", "--q8_0", src, out, NULL};
  CHECK_EQ_INT(convert_test_run(args), 0);
  struct mdi_h5 *q = NULL, *s = NULL;
  int8_t *values = malloc((size_t)(64 * cols));
  float *scales = malloc((size_t)(64 * groups) * sizeof *scales), *row = malloc((size_t)cols * sizeof *row);
  int8_t want_q[172];
  float want_s[6];
  if (values && scales && row && mdi_h5_open(&q, out) == MDI_OK && mdi_h5_open(&s, src) == MDI_OK &&
      read_q8(q, &t, values, scales) == MDI_OK &&
      mdi_h5_read_rows(s, t.name, MDI_F32, 64, cols, 0, 1, row) == MDI_OK) {
    CHECK(scales[0] == 0.0f && scales[1] == 0.0f); /* the two tiny groups: zeros */
    for (int k = 0; k < 64; k++) CHECK_EQ_INT(values[k], 0);
    memset(row, 0, 64 * sizeof *row); /* the rest as mdi_q8_quantize_row() makes it */
    mdi_q8_quantize_row(row, (int)cols, want_q, want_s);
    CHECK(memcmp(values, want_q, (size_t)cols) == 0 && memcmp(scales, want_s, sizeof want_s) == 0);
    /* the partial group: d = |w[160]| / 127 (about 0.1 / 127), the ramp
     * from -127 at k = 160 to round(12.7) = 13 at k = 171 */
    CHECK(scales[5] == fabsf(row[160]) / 127.0f);
    CHECK_EQ_INT(values[160], -127);
    CHECK_EQ_INT(values[170], 0);
    CHECK_EQ_INT(values[171], 13);
    printf("edge cases: two groups below 127*FLT_MIN stored as zeros; partial group [160,172) d = %.9g\n",
           (double)scales[5]);
  } else {
    fprintf(stderr, "%s\n", mdi_error());
    CHECK(0);
  }
  mdi_h5_close(q);
  mdi_h5_close(s);
  free(values);
  free(scales);
  free(row);

  /* NaN: exit status 1, and neither the output nor its temporary remains */
  snprintf(src, sizeof src, "%s/nan.h5", dir);
  snprintf(out, sizeof out, "%s/nan.q8.h5", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", out);
  CHECK(write_edited(f, src, edit_nan) == MDI_OK);
  char *nan_args[] = {NULL, "quantize", "-q", "--q8_0", src, out, NULL};
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
  test_contents(f, q);
  test_logits(f, q);
  convert_test_workdir("quantize_edges", dir, sizeof dir);
  test_dequantized(q, dir);
  test_edge_cases(f, dir);
  mdi_h5_close(q);
  mdi_h5_close(f);
  return mdi_test_finish("test_quantize");
}

/* mdi_convert quantize: a float32 model file -> the same model with its
 * weight matrices in Q8_0 (docs/FORMAT.md, "Quantized weights (Q8_0)").
 *
 * Quantized: every layer matrix (wq, wk, wv, wo, w1, w2, w3) and the
 * classifier, that is /classifier when it is separate (the embedding, looked
 * up one row per token, stays float32) and /embedding itself when shared
 * (the loader keeps one copy, the classifier's, and dequantizes a row for
 * each lookup).  A matrix NAME [rows][cols] becomes NAME int8 [rows][cols]
 * plus NAME_scale float32 [rows][ceil(cols/32)], made by
 * mdi_q8_quantize_row(), the runtime's own function, so the converter and
 * the kernels' tests agree bit for bit.  Norms, the tokenizer and the root
 * attributes are copied; the root attribute quantization = "q8_0" is added.
 *
 * Tensors stream through in chunks of rows (CONVERT_CHUNK_BYTES of float32
 * plus a quarter of that in int8), so memory stays at a few tens of MB
 * whatever the model's size.  The output is written as OUT.tmp and renamed
 * when complete: a failed or interrupted run leaves no partial file and an
 * earlier OUT as it was. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

#define TMP_SUFFIX ".tmp"

/* Below this largest magnitude a group's scale d = amax/127 would be a
 * subnormal float: 1/d overflows or w/d loses so much precision that
 * round(w/d) can leave [-127, 127].  Such a group (|w| < 1.5e-36) is stored
 * as zeros. */
#define Q8_MIN_AMAX (127.0f * FLT_MIN)

/* One quantization in progress. */
struct quant_job {
  struct mdi_h5 *src;
  struct mdi_hparams hp;
  struct mdi_h5w *w;
  int8_t *q;            /* [chunk rows][cols]: one chunk's quantized values */
  float *scales;        /* [chunk rows][ceil(cols/32)] */
  float *row;           /* [cols]: a row with its tiny groups flushed to zero */
  size_t q_cap, s_cap, row_cap; /* elements allocated */
  int64_t n_quantized;  /* weights stored as Q8_0 */
  int64_t n_float;      /* weights kept float32 (norms, a separate embedding) */
  int64_t bytes_out;    /* bytes of the weight datasets written */
  int64_t bytes_q8;     /* of them, the Q8_0 values and their scales */
  int64_t flushed;      /* groups stored as zeros (Q8_MIN_AMAX) */
};

/* Which tensors become Q8_0: the layers' matrices and the classifier, which
 * is /embedding itself when shared (a separate embedding is read as float32
 * by the loader, one row per token, and stays float32). */
static int quantizes(const struct mdi_hparams *hp, const struct convert_tensor *t) {
  static const char *const matrices[] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};
  if (t->layer < 0)
    return strcmp(t->name, "classifier") == 0 || (strcmp(t->name, "embedding") == 0 && hp->shared_classifier);
  const char *base = strrchr(t->name, '/');
  for (size_t i = 0; base && i < sizeof matrices / sizeof matrices[0]; i++)
    if (strcmp(base + 1, matrices[i]) == 0) return 1;
  return 0;
}

/* A buffer of at least `n` elements of `size` bytes: p itself, or a larger
 * one in its place (contents not kept); NULL (message set) when out of memory. */
static void *reserve(void *p, size_t *cap, size_t n, size_t size, const char *what) {
  if (n <= *cap) return p;
  free(p);
  *cap = 0;
  p = mdi_malloc(n * size, what);
  if (p) *cap = n;
  return p;
}

/* The row to quantize: w itself, or a copy in job->row with every group
 * whose largest magnitude is below Q8_MIN_AMAX set to zero.  NULL (message
 * set) when the row holds NaN or Inf, which Q8_0 cannot represent. */
static const float *prepare_row(struct quant_job *job, const struct convert_tensor *t, const float *w,
                                int64_t row, int cols) {
  float *copy = NULL;
  for (int k0 = 0; k0 < cols; k0 += MDI_Q8_GROUP) {
    const int k1 = k0 + MDI_Q8_GROUP < cols ? k0 + MDI_Q8_GROUP : cols;
    float amax = 0.0f;
    for (int k = k0; k < k1; k++) {
      if (!isfinite(w[k])) {
        mdi_fail("%s: /%s[%lld][%d] is %s; a model with non-finite weights cannot be quantized",
                 mdi_h5_path(job->src), t->name, (long long)row, k, isnan(w[k]) ? "NaN" : "infinite");
        return NULL;
      }
      if (fabsf(w[k]) > amax) amax = fabsf(w[k]);
    }
    if (amax == 0.0f || amax >= Q8_MIN_AMAX) continue;
    if (!copy) {
      if (!(job->row = reserve(job->row, &job->row_cap, (size_t)cols, sizeof(float), "row buffer"))) return NULL;
      copy = job->row;
      memcpy(copy, w, (size_t)cols * sizeof(float));
    }
    memset(copy + k0, 0, (size_t)(k1 - k0) * sizeof(float));
    job->flushed++;
  }
  return copy ? copy : w;
}

/* convert_rows_fn: rows [row0, row0+nrows) of tensor t, [nrows][cols]
 * float32.  Written as they are, or quantized into NAME and NAME_scale. */
static int write_rows(void *ctx, const struct convert_tensor *t, const float *rows, int64_t row0,
                      int64_t nrows) {
  struct quant_job *job = ctx;
  const int64_t cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  if (!quantizes(&job->hp, t)) {
    job->n_float += nrows * cols;
    job->bytes_out += nrows * cols * (int64_t)sizeof(float);
    if (t->ndims == 1) return mdi_h5w_write(job->w, t->name, MDI_F32, 1, t->dims, rows);
    if (row0 == 0 && mdi_h5w_create_2d(job->w, t->name, MDI_F32, t->dims[0], cols) != MDI_OK) return MDI_ERR;
    return mdi_h5w_write_rows(job->w, t->name, MDI_F32, row0, nrows, cols, rows);
  }
  const int64_t groups = (cols + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP;
  if (!(job->q = reserve(job->q, &job->q_cap, (size_t)(nrows * cols), 1, "quantized rows")) ||
      !(job->scales = reserve(job->scales, &job->s_cap, (size_t)(nrows * groups), sizeof(float), "scales")))
    return MDI_ERR;
  for (int64_t r = 0; r < nrows; r++) {
    const float *w = prepare_row(job, t, rows + r * cols, row0 + r, (int)cols);
    if (!w) return MDI_ERR;
    mdi_q8_quantize_row(w, (int)cols, job->q + r * cols, job->scales + r * groups);
  }
  char scale[CONVERT_SCALE_NAME_MAX];
  convert_scale_name(scale, t->name);
  if (row0 == 0 && (mdi_h5w_create_2d(job->w, t->name, MDI_I8, t->dims[0], cols) != MDI_OK ||
                    mdi_h5w_create_2d(job->w, scale, MDI_F32, t->dims[0], groups) != MDI_OK))
    return MDI_ERR;
  if (mdi_h5w_write_rows(job->w, t->name, MDI_I8, row0, nrows, cols, job->q) != MDI_OK ||
      mdi_h5w_write_rows(job->w, scale, MDI_F32, row0, nrows, groups, job->scales) != MDI_OK)
    return MDI_ERR;
  job->n_quantized += nrows * cols;
  job->bytes_q8 += nrows * cols + nrows * groups * (int64_t)sizeof(float);
  job->bytes_out += nrows * cols + nrows * groups * (int64_t)sizeof(float);
  return MDI_OK;
}

/* Everything written into the open output. */
static int write_model(struct quant_job *job) {
  if (mdi_h5w_write_hparams(job->w, &job->hp) != MDI_OK ||
      mdi_h5w_attr_string(job->w, "/", CONVERT_QUANT_ATTR, CONVERT_QUANT_Q8_0) != MDI_OK)
    return MDI_ERR;
  const int n = convert_tensor_count(&job->hp);
  for (int i = 0; i < n; i++) {
    struct convert_tensor t;
    convert_tensor_at(&job->hp, i, &t);
    if (convert_read_tensor_rows(job->src, &t, write_rows, job) != MDI_OK) return MDI_ERR;
  }
  struct mdi_tokenizer tok;
  if (mdi_tokenizer_load(&tok, job->src) != MDI_OK) return MDI_ERR;
  int rc = mdi_tokenizer_save(&tok, job->w);
  mdi_tokenizer_free(&tok);
  return rc;
}

/* The input must be one whole float32 model. */
static int check_source(struct quant_job *job, const char *in) {
  if (mdi_h5_read_hparams(job->src, &job->hp) != MDI_OK) return MDI_ERR;
  /* the tensors walked below (convert_tensor_at) are the llama layout's */
  if (strcmp(job->hp.arch, "llama") != 0)
    return mdi_fail("%s: arch \"%s\" cannot be quantized (quantize knows the llama layout only)", in,
                    job->hp.arch);
  if (mdi_rankfile_is_rankfile(job->src))
    return mdi_fail("%s is one rank's part of a split model; quantize the whole model file, then split "
                    "the result", in);
  int quantized;
  char why[MDI_NAME_MAX + 64];
  if (convert_model_quantized(job->src, &job->hp, &quantized, why, sizeof why) != MDI_OK) return MDI_ERR;
  if (quantized)
    return mdi_fail("%s is already quantized (%s); quantize the float32 model it was made from", in, why);
  return MDI_OK;
}

static int quantize_model(const char *in, const char *out) {
  struct quant_job job;
  memset(&job, 0, sizeof job);
  if (mdi_h5_open(&job.src, in) != MDI_OK) return MDI_ERR;
  int rc = MDI_ERR;
  const size_t tmp_size = strlen(out) + sizeof TMP_SUFFIX;
  char *tmp = mdi_malloc(tmp_size, "file name");
  if (!tmp || check_source(&job, in) != MDI_OK) goto done;
  snprintf(tmp, tmp_size, "%s" TMP_SUFFIX, out);
  if (convert_check_output(out, &in, 1) != MDI_OK || convert_check_output(tmp, &in, 1) != MDI_OK) goto done;
  if (mdi_h5w_create(&job.w, tmp) != MDI_OK) goto done;
  convert_remove_on_signal(tmp);
  if (write_model(&job) != MDI_OK) {
    mdi_h5w_abandon(job.w); /* removes tmp */
  } else if (mdi_h5w_close(job.w) == MDI_OK) { /* removes tmp itself on failure */
    if (rename(tmp, out) == 0)
      rc = MDI_OK;
    else {
      mdi_fail("%s: cannot rename %s to it: %s", out, tmp, strerror(errno));
      remove(tmp);
    }
  }
  job.w = NULL;
  convert_remove_on_signal(NULL);
  if (rc != MDI_OK) goto done;
  const int64_t total = job.n_quantized + job.n_float;
  /* bytes per quantized weight as `mdi_convert info` reports them */
  mdi_log_info("wrote %s: Q8_0, %lld of %lld weights quantized (%.3f bytes per weight with the scales); "
               "weights %.2f MiB (float32 %.2f MiB)", out, (long long)job.n_quantized, (long long)total,
               job.n_quantized ? (double)job.bytes_q8 / (double)job.n_quantized : 0.0,
               (double)job.bytes_out / (1024.0 * 1024.0), (double)total * 4.0 / (1024.0 * 1024.0));
  if (job.flushed)
    mdi_log_warn("%s: %lld groups of 32 weights were all smaller than %.3g in magnitude and are stored as "
                 "zeros", in, (long long)job.flushed, (double)Q8_MIN_AMAX);
done:
  free(job.q);
  free(job.scales);
  free(job.row);
  free(tmp);
  mdi_h5_close(job.src);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert quantize --q8_0 IN.h5 OUT.h5\n"
          "\n"
          "Write a copy of a float32 model file with its weight matrices in Q8_0: each\n"
          "row in groups of 32 weights, one float32 scale d = max|w|/127 per group and\n"
          "int8 values round(w/d), 1.125 bytes per weight instead of 4.  The layer\n"
          "matrices (wq, wk, wv, wo, w1, w2, w3) and the classifier are quantized (the\n"
          "embedding itself when the classifier is shared with it); norms and the\n"
          "tokenizer are copied.  For per-rank files, quantize the whole model file,\n"
          "then split the result.\n"
          "\n"
          "options:\n"
          "  --q8_0        the quantization (required; the only one there is)\n"
          "  -q, --quiet   no progress notes\n"
          "  -h, --help    this help\n");
}

int convert_quantize_main(int argc, char **argv) {
  /* --q8_0 takes no value, which convert_parse_args does not know: take it
   * out first (up to a "--", after which everything is a file name) */
  char **args = mdi_malloc((size_t)(argc + 1) * sizeof *args, "arguments");
  if (!args) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  int n_args = 0, q8 = 0, options_done = 0;
  for (int i = 0; i < argc; i++) {
    if (!options_done && i > 0 && strcmp(argv[i], "--q8_0") == 0) {
      q8 = 1;
      continue;
    }
    if (i > 0 && strcmp(argv[i], "--") == 0) options_done = 1;
    args[n_args++] = argv[i];
  }
  args[n_args] = NULL;
  const char *pos[2];
  int help, n_pos;
  int rc = convert_parse_args(n_args, args, NULL, 0, &help, pos, 2, &n_pos);
  free(args);
  if (rc == MDI_OK && help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && n_pos != 2) rc = mdi_fail("expected IN.h5 and OUT.h5");
  if (rc == MDI_OK && !q8) rc = mdi_fail("say which quantization: --q8_0 (the only one there is)");
  if (rc != MDI_OK) {
    mdi_log_error("quantize: %s (see 'mdi_convert quantize --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (quantize_model(pos[0], pos[1]) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}

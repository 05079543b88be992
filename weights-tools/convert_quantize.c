/* mdi_convert quantize: a float32 model file -> the same model with its
 * weight matrices in one of llama.cpp's block types (docs/FORMAT.md,
 * "Quantized weights"), or a quantized file back to float32 (--type f32).
 *
 * Quantized: every 2-D weight matrix, that is each layer's wq, wk, wv, wo,
 * w1, w2, w3, the classifier and the embedding (the classifier itself when
 * shared), in one type (as llama-quantize --pure does), or in one of
 * llama.cpp's K mixes (q4_k_m, q4_k_s, q5_k_m, q5_k_s: the types
 * llama-quantize chooses per tensor for those file types, mix_type()).  Each row goes
 * through mdi_quant_quantize_row(), llama.cpp's reference quantization
 * without an importance matrix, so the blocks equal llama-quantize's for
 * the same weights.  A matrix whose rows are not whole blocks takes
 * llama.cpp's fallback (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0) or, when
 * that does not fit either, stays float32.  Norms, the tokenizer and the
 * root attributes are copied; the root attribute quantization names the
 * type.
 *
 * Tensors stream through in chunks of rows (CONVERT_CHUNK_BYTES of float32
 * plus their blocks), so memory stays at a few tens of MB whatever the
 * model's size.  The output is written as OUT.tmp and renamed when
 * complete: a failed or interrupted run leaves no partial file and an
 * earlier OUT as it was. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/quant.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

/* One quantization in progress. */
struct quant_job {
  struct mdi_h5 *src;
  struct mdi_hparams hp;
  struct mdi_h5w *w;
  enum mdi_matrix_type type;   /* the requested type, the mix's base type (F32: dequantize) */
  char mix;                     /* 0 (one type for all), 'M' or 'S': llama.cpp's *_K_M, *_K_S */
  char name[16];                /* the root attribute: "Q4_K", "Q4_K_M", ... */
  enum mdi_matrix_type current; /* the type of the matrix being written */
  int64_t current_rows;         /* and its rows (dequantizing) */
  uint8_t *blocks;              /* [chunk rows][row bytes] */
  float *values;                /* [chunk rows][cols] (dequantizing) */
  size_t blocks_cap, values_cap;
  int64_t n_weights[MDI_MATRIX_N_TYPES]; /* weights written per type */
  int64_t bytes[MDI_MATRIX_N_TYPES];
  int fallbacks;                /* matrices that took another type */
};

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

/* llama.cpp's use_more_bits(i, n): the layers of a K_M mix whose attn_v and
 * ffn_down get Q6_K. */
static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* The type llama-quantize gives tensor t in a mix (llama.cpp's
 * llama_tensor_get_type_impl for the llama architecture without experts or
 * an importance matrix): the classifier (the embedding when tied) Q6_K, or
 * Q8_0 when its rows are not whole blocks of the base type; attn_v and
 * ffn_down Q6_K where use_more_bits in Q4_K_M and Q5_K_M; Q4_K_S gives the
 * first 4 attn_v and the first n/8 ffn_down Q5_K; the rest the base type. */
static enum mdi_matrix_type mix_type(const struct quant_job *job, const struct convert_tensor *t) {
  const char *kind = convert_tensor_kind(t);
  const int n = job->hp.n_layers, i = t->layer;
  if (!strcmp(kind, "classifier") || (!strcmp(kind, "embedding") && job->hp.shared_classifier))
    return t->dims[1] % mdi_quant_format(job->type)->block ? MDI_MATRIX_Q8_0 : MDI_MATRIX_Q6_K;
  if (job->mix == 'M' && (!strcmp(kind, "wv") || !strcmp(kind, "w2")) && use_more_bits(i, n)) return MDI_MATRIX_Q6_K;
  if (job->mix == 'S' && job->type == MDI_MATRIX_Q4_K &&
      ((!strcmp(kind, "wv") && i < 4) || (!strcmp(kind, "w2") && i < n / 8)))
    return MDI_MATRIX_Q5_K;
  return job->type;
}

/* The type matrix t gets: the requested one (or the mix's choice), then
 * llama.cpp's fallback for a K type whose rows are not whole super-blocks,
 * or F32 when the rows are not whole blocks of that either. */
static enum mdi_matrix_type type_for(struct quant_job *job, const struct convert_tensor *t) {
  if (t->ndims != 2 || job->type == MDI_MATRIX_F32) return MDI_MATRIX_F32;
  const enum mdi_matrix_type want = job->mix ? mix_type(job, t) : job->type;
  enum mdi_matrix_type type = want;
  const int64_t cols = t->dims[1];
  if (cols % mdi_quant_format(type)->block != 0) {
    if (type == MDI_MATRIX_Q4_K) type = MDI_MATRIX_Q5_0;
    else if (type == MDI_MATRIX_Q5_K) type = MDI_MATRIX_Q5_1;
    else if (type == MDI_MATRIX_Q6_K) type = MDI_MATRIX_Q8_0;
    if (cols % mdi_quant_format(type)->block != 0) type = MDI_MATRIX_F32;
    mdi_log_info("note: /%s: rows of %lld weights are not whole %s blocks of %d: %s instead", t->name,
                 (long long)cols, mdi_quant_format(want)->name, mdi_quant_format(want)->block,
                 type == MDI_MATRIX_F32 ? "float32" : mdi_quant_format(type)->name);
    job->fallbacks++;
  }
  return type;
}

static void count(struct quant_job *job, enum mdi_matrix_type type, int64_t weights, int64_t bytes) {
  job->n_weights[type] += weights;
  job->bytes[type] += bytes;
}

/* convert_rows_fn: rows [row0, row0+nrows) of float32 tensor t, written as
 * they are or quantized into job->current. */
static int write_rows(void *ctx, const struct convert_tensor *t, const float *rows, int64_t row0, int64_t nrows) {
  struct quant_job *job = ctx;
  const int64_t cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  if (job->current == MDI_MATRIX_F32) {
    count(job, MDI_MATRIX_F32, nrows * cols, nrows * cols * 4);
    if (t->ndims == 1) return mdi_h5w_write(job->w, t->name, MDI_F32, 1, t->dims, rows);
    if (row0 == 0 && mdi_h5w_create_2d(job->w, t->name, MDI_F32, t->dims[0], cols) != MDI_OK) return MDI_ERR;
    return mdi_h5w_write_rows(job->w, t->name, MDI_F32, row0, nrows, cols, rows);
  }
  const size_t row_bytes = mdi_quant_row_bytes(job->current, cols);
  if (!(job->blocks = reserve(job->blocks, &job->blocks_cap, (size_t)nrows * row_bytes, 1, "quantized rows")))
    return MDI_ERR;
  for (int64_t r = 0; r < nrows; r++) {
    const float *w = rows + r * cols;
    for (int64_t k = 0; k < cols; k++)
      if (!isfinite(w[k]))
        return mdi_fail("%s: /%s[%lld][%lld] is %s; a model with non-finite weights cannot be quantized",
                        mdi_h5_path(job->src), t->name, (long long)(row0 + r), (long long)k,
                        isnan(w[k]) ? "NaN" : "infinite");
    mdi_quant_quantize_row(job->current, w, job->blocks + (size_t)r * row_bytes, (int)cols);
  }
  if (row0 == 0 && mdi_h5w_create_blocks(job->w, t->name, job->current, t->dims[0], cols) != MDI_OK) return MDI_ERR;
  count(job, job->current, nrows * cols, nrows * (int64_t)row_bytes);
  return mdi_h5w_write_rows(job->w, t->name, MDI_U8, row0, nrows, (int64_t)row_bytes, job->blocks);
}

/* convert_raw_rows_fn for --type f32: rows of blocks of job->current,
 * dequantized into the float32 dataset. */
static int dequantize_rows(void *ctx, const char *name, enum mdi_dtype dtype, const void *rows, int64_t row0,
                           int64_t nrows, int64_t row_bytes) {
  struct quant_job *job = ctx;
  (void)dtype;
  const struct mdi_quant_format *f = mdi_quant_format(job->current);
  const int64_t cols = row_bytes / f->bytes * f->block;
  if (!(job->values = reserve(job->values, &job->values_cap, (size_t)(nrows * cols), sizeof(float), "rows")))
    return MDI_ERR;
  for (int64_t r = 0; r < nrows; r++) {
    const uint8_t *blocks = (const uint8_t *)rows + r * row_bytes;
    const int bad = mdi_quant_find_bad_block(job->current, blocks, (int)cols);
    if (bad >= 0)
      return mdi_fail("%s: /%s row %lld, block %d: a %s scale is NaN or infinite (corrupt blocks)",
                      mdi_h5_path(job->src), name, (long long)(row0 + r), bad, f->name);
    mdi_quant_dequantize_row(job->current, blocks, job->values + r * cols, (int)cols);
  }
  if (row0 == 0 && mdi_h5w_create_2d(job->w, name, MDI_F32, job->current_rows, cols) != MDI_OK) return MDI_ERR;
  count(job, MDI_MATRIX_F32, nrows * cols, nrows * cols * 4);
  return mdi_h5w_write_rows(job->w, name, MDI_F32, row0, nrows, cols, job->values);
}

/* --type f32 of a quantized matrix t of type `type`. */
static int dequantize_matrix(struct quant_job *job, const struct convert_tensor *t, enum mdi_matrix_type type) {
  const struct mdi_quant_format *f = mdi_quant_format(type);
  if (t->dims[1] % f->block != 0)
    return mdi_fail("%s: /%s is %s but its rows of %lld weights are not whole blocks of %d", mdi_h5_path(job->src),
                    t->name, f->name, (long long)t->dims[1], f->block);
  job->current = type;
  job->current_rows = t->dims[0];
  return convert_read_dataset_rows(job->src, t->name, MDI_U8, t->dims[0],
                                   (int64_t)mdi_quant_row_bytes(type, t->dims[1]), dequantize_rows, job);
}

/* Everything written into the open output. */
static int write_model(struct quant_job *job) {
  if (mdi_h5w_write_hparams(job->w, &job->hp) != MDI_OK ||
      (job->type != MDI_MATRIX_F32 && mdi_h5w_attr_string(job->w, "/", CONVERT_QUANT_ATTR, job->name) != MDI_OK))
    return MDI_ERR;
  const int n = convert_tensor_count(&job->hp);
  for (int i = 0; i < n; i++) {
    struct convert_tensor t;
    convert_tensor_at(&job->hp, i, &t);
    enum mdi_matrix_type stored = MDI_MATRIX_F32;
    if (t.ndims == 2 && mdi_h5_matrix_type(job->src, t.name, &stored) != MDI_OK) return MDI_ERR;
    if (stored != MDI_MATRIX_F32) {
      if (dequantize_matrix(job, &t, stored) != MDI_OK) return MDI_ERR;
      continue;
    }
    job->current = type_for(job, &t);
    if (convert_read_tensor_rows(job->src, &t, write_rows, job) != MDI_OK) return MDI_ERR;
  }
  struct mdi_tokenizer tok;
  if (mdi_tokenizer_load(&tok, job->src) != MDI_OK) return MDI_ERR;
  int rc = mdi_tokenizer_save(&tok, job->w);
  mdi_tokenizer_free(&tok);
  return rc;
}

/* The input must be one whole model: float32 to quantize, anything to
 * dequantize. */
static int check_source(struct quant_job *job, const char *in) {
  if (mdi_h5_read_hparams(job->src, &job->hp) != MDI_OK) return MDI_ERR;
  /* the tensors walked below (convert_tensor_at) are the llama layout's */
  if (strcmp(job->hp.arch, "llama") != 0)
    return mdi_fail("%s: arch \"%s\" cannot be quantized (quantize knows the llama layout only)", in,
                    job->hp.arch);
  if (mdi_rankfile_is_rankfile(job->src))
    return mdi_fail("%s is one rank's part of a split model; quantize the whole model file, then split "
                    "the result", in);
  if (job->type == MDI_MATRIX_F32) return MDI_OK;
  int quantized;
  char why[MDI_NAME_MAX + 64];
  if (convert_model_quantized(job->src, &job->hp, &quantized, why, sizeof why) != MDI_OK) return MDI_ERR;
  if (quantized)
    return mdi_fail("%s is already quantized (%s); quantize the float32 model it was made from, or dequantize "
                    "it first (--type f32)", in, why);
  return MDI_OK;
}

static void report(const struct quant_job *job, const char *out) {
  int64_t weights = 0, bytes = 0;
  for (int t = 0; t < MDI_MATRIX_N_TYPES; t++) {
    weights += job->n_weights[t];
    bytes += job->bytes[t];
  }
  mdi_log_info("wrote %s: %lld weights in %.2f MiB, %.3f bits per weight (float32: %.2f MiB)", out,
               (long long)weights, (double)bytes / (1024.0 * 1024.0), 8.0 * (double)bytes / (double)weights,
               (double)weights * 4.0 / (1024.0 * 1024.0));
  for (int t = 0; t < MDI_MATRIX_N_TYPES; t++)
    if (job->n_weights[t])
      mdi_log_info("  %-7s %lld weights, %.4f bits per weight", t == MDI_MATRIX_F32 ? "float32" : mdi_quant_format(t)->name,
                   (long long)job->n_weights[t], 8.0 * (double)job->bytes[t] / (double)job->n_weights[t]);
}

static int quantize_model(const char *in, const char *out, enum mdi_matrix_type type, char mix) {
  struct quant_job job;
  memset(&job, 0, sizeof job);
  job.type = type;
  job.mix = mix;
  snprintf(job.name, sizeof job.name, "%s%s", mdi_quant_format(type)->name, mix == 'M' ? "_M" : mix == 'S' ? "_S" : "");
  if (mdi_h5_open(&job.src, in) != MDI_OK) return MDI_ERR;
  int rc = MDI_ERR;
  char *tmp = NULL;
  if (check_source(&job, in) != MDI_OK || convert_tmp_begin(out, &in, 1, &tmp) != MDI_OK) goto done;
  if (mdi_h5w_create(&job.w, tmp) == MDI_OK) {
    if (write_model(&job) != MDI_OK)
      mdi_h5w_abandon(job.w); /* removes tmp */
    else
      rc = mdi_h5w_close(job.w); /* removes tmp itself on failure */
    job.w = NULL;
  }
  rc = convert_tmp_end(tmp, out, rc);
  if (rc == MDI_OK) report(&job, out);
done:
  free(job.blocks);
  free(job.values);
  mdi_h5_close(job.src);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert quantize --type TYPE IN.h5 OUT.h5\n"
          "\n"
          "Write a copy of a float32 model file with its weight matrices (each layer's\n"
          "wq, wk, wv, wo, w1, w2, w3, the embedding and the classifier) in one of\n"
          "llama.cpp's block types, computed as llama-quantize does without an importance\n"
          "matrix (the same blocks for the same weights).  Norms and the tokenizer are\n"
          "copied.  A matrix whose rows are not whole blocks takes llama.cpp's fallback\n"
          "(Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0) or stays float32.  For per-rank\n"
          "files, quantize the whole model file, then split the result.\n"
          "\n"
          "TYPE          bits per weight\n"
          "  q8_0        8.5     (--q8_0 is the same)\n"
          "  q6_k        6.5625\n"
          "  q5_k, q5_1, q5_0    5.5, 6, 5.5\n"
          "  q4_k, q4_1, q4_0    4.5, 5, 4.5\n"
          "  q4_k_m, q5_k_m, q4_k_s, q5_k_s\n"
          "              llama.cpp's mixes: the types llama-quantize gives each tensor for\n"
          "              these file types (the classifier Q6_K; Q4_K_M: attn_v and ffn_down\n"
          "              of a third of the layers Q6_K, the rest Q4_K; ...)\n"
          "  f32         32: a quantized file (mdi_convert gguf or quantize) back to float32\n"
          "\n"
          "options:\n"
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
  const char *pos[2], *type_name = NULL;
  const struct convert_opt opts[] = {{"--type", &type_name}};
  int help, n_pos;
  enum mdi_matrix_type type = MDI_MATRIX_Q8_0;
  int rc = convert_parse_args(n_args, args, opts, 1, &help, pos, 2, &n_pos);
  free(args);
  if (rc == MDI_OK && help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && n_pos != 2) rc = mdi_fail("expected IN.h5 and OUT.h5");
  if (rc == MDI_OK && !q8 && !type_name) rc = mdi_fail("say which type: --type q4_k (or q4_0, q5_k, q6_k, q8_0, ...)");
  if (rc == MDI_OK && q8 && type_name && strcasecmp(type_name, "q8_0") != 0)
    rc = mdi_fail("--q8_0 and --type %s disagree", type_name);
  /* llama.cpp's mixes: the base type and M or S */
  char mix = 0, base[16];
  const size_t tl = type_name ? strlen(type_name) : 0;
  if (rc == MDI_OK && tl == 6 && (type_name[5] == 'm' || type_name[5] == 's' || type_name[5] == 'M' ||
                                  type_name[5] == 'S') && type_name[4] == '_') {
    snprintf(base, sizeof base, "%.4s", type_name);
    mix = (char)(type_name[5] == 'm' || type_name[5] == 'M' ? 'M' : 'S');
  } else if (type_name) {
    snprintf(base, sizeof base, "%s", type_name);
  }
  if (rc == MDI_OK && type_name &&
      (mdi_quant_parse(base, &type) != MDI_OK || (mix && type != MDI_MATRIX_Q4_K && type != MDI_MATRIX_Q5_K)))
    rc = mdi_fail("--type %s: not a type (q8_0, q6_k, q5_k, q5_1, q5_0, q4_k, q4_1, q4_0, q4_k_m, q5_k_m, q4_k_s, "
                  "q5_k_s, f32)", type_name);
  if (rc != MDI_OK) {
    mdi_log_error("quantize: %s (see 'mdi_convert quantize --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (quantize_model(pos[0], pos[1], type, mix) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}

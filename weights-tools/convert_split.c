/* mdi_convert split: one model file -> PREFIX.rank000.h5 .. PREFIX.rank{N-1}.h5,
 * one file per rank of an N-rank mdi_pipeline job (docs/FORMAT.md, "Per-rank
 * files"), for nodes that do not share storage.
 *
 * The split is mdi_split_plan()'s, so `--ranks 3` gives the layers that
 * `mpirun -np 3 mdi_pipeline --split auto` would use.  Every file gets the
 * model's root hyperparameters, the split attributes (rankfiles.h) and only
 * its rank's datasets: rank 0 the embedding, final_norm, classifier (when not
 * shared), /tokenizer and its layers; rank r > 0 its layers.  The split
 * weighs layers and classifier by their bytes as stored, as mdi_pipeline
 * does (a quantized model's types).
 *
 * One pass over the source: the N files are open together and every tensor,
 * read in chunks in canonical order (convert_tensor_at), is hashed into the
 * model fingerprint and written to its owner's file.  A quantized matrix
 * (rows of blocks) is copied as stored, with its type.  The files are written
 * under temporary names (PREFIX.rankNNN.h5.tmp) and renamed only when all of
 * them are complete, so a failure leaves neither partial files nor a set that
 * mixes old and new files. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi/model/model.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/split.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

#define MAX_RANKS 1024 /* the size of mdi_rankfile_info.split */

/* One split in progress. */
struct split_job {
  struct mdi_h5 *src;
  struct mdi_hparams hp;
  int n_ranks;
  int counts[MAX_RANKS];  /* layers per rank */
  int first[MAX_RANKS];   /* first layer of each rank */
  char **final_paths;     /* [n_ranks] PREFIX.rankNNN.h5 */
  char **tmp_paths;       /* [n_ranks] the same + ".tmp", written first */
  struct mdi_h5w **w;     /* [n_ranks] open writers (NULL once closed) */
  uint64_t fingerprint;   /* FNV-1a over every tensor's bytes, canonical order */
  int current_owner;      /* the rank of the quantized matrix being copied */
  enum mdi_matrix_type current_type; /* its type */
  int64_t current_rows, current_cols; /* and its shape in weights */
};

/* The rank whose file holds tensor t. */
static int owner(const struct split_job *job, const struct convert_tensor *t) {
  if (t->layer < 0) return 0;
  int r = job->n_ranks - 1;
  while (job->first[r] > t->layer) r--;
  return r;
}

/* convert_rows_fn: hash the rows, then write them to the owner's file. */
static int hash_and_write(void *ctx, const struct convert_tensor *t, const float *rows, int64_t row0,
                          int64_t nrows) {
  struct split_job *job = ctx;
  const int64_t cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  job->fingerprint = mdi_fingerprint_update(job->fingerprint, rows, (size_t)(nrows * cols) * sizeof(float));
  struct mdi_h5w *w = job->w[owner(job, t)];
  if (t->ndims == 1) return mdi_h5w_write(w, t->name, MDI_F32, 1, t->dims, rows);
  if (row0 == 0 && mdi_h5w_create_2d(w, t->name, MDI_F32, t->dims[0], cols) != MDI_OK) return MDI_ERR;
  return mdi_h5w_write_rows(w, t->name, MDI_F32, row0, nrows, cols, rows);
}

/* convert_raw_rows_fn for a quantized matrix: its rows of blocks, hashed
 * as stored and written to the owner's file. */
static int hash_and_write_raw(void *ctx, const char *name, enum mdi_dtype type, const void *rows,
                              int64_t row0, int64_t nrows, int64_t cols) {
  struct split_job *job = ctx;
  job->fingerprint = mdi_fingerprint_update(job->fingerprint, rows,
                                            (size_t)(nrows * cols) * convert_dtype_size(type));
  struct mdi_h5w *w = job->w[job->current_owner];
  if (row0 == 0 && mdi_h5w_create_blocks(w, name, job->current_type, job->current_rows, job->current_cols) != MDI_OK)
    return MDI_ERR;
  return mdi_h5w_write_rows(w, name, type, row0, nrows, cols, rows);
}

/* One weight tensor into its owner's file: float32 as floats, a quantized
 * matrix as its rows of blocks. */
static int copy_tensor(struct split_job *job, const struct convert_tensor *t) {
  enum mdi_matrix_type type = MDI_MATRIX_F32;
  if (t->ndims == 2 && mdi_h5_matrix_type(job->src, t->name, &type) != MDI_OK) return MDI_ERR;
  if (type == MDI_MATRIX_F32) return convert_read_tensor_rows(job->src, t, hash_and_write, job);
  const struct mdi_quant_format *f = mdi_quant_format(type);
  if (t->dims[1] % f->block != 0)
    return mdi_fail("%s: /%s is %s but its rows of %lld weights are not whole blocks of %d", mdi_h5_path(job->src),
                    t->name, f->name, (long long)t->dims[1], f->block);
  job->current_owner = owner(job, t);
  job->current_type = type;
  job->current_rows = t->dims[0];
  job->current_cols = t->dims[1];
  return convert_read_dataset_rows(job->src, t->name, MDI_U8, t->dims[0],
                                   (int64_t)mdi_quant_row_bytes(type, t->dims[1]), hash_and_write_raw, job);
}

/* Root attributes of every file: the model's hyperparameters and the split. */
static int write_rank_info(struct split_job *job) {
  struct mdi_rankfile_info *info = mdi_malloc(sizeof *info, "rank file attributes");
  if (!info) return MDI_ERR;
  memset(info, 0, sizeof *info);
  info->n_ranks = job->n_ranks;
  memcpy(info->split, job->counts, (size_t)job->n_ranks * sizeof(int));
  snprintf(info->fingerprint, sizeof info->fingerprint, "%016" PRIx64, job->fingerprint);
  int rc = MDI_OK;
  for (int r = 0; r < job->n_ranks && rc == MDI_OK; r++) {
    info->rank = r;
    info->layer_first = job->first[r];
    info->layer_last = job->first[r] + job->counts[r];
    rc = mdi_rankfile_write_info(job->w[r], info);
  }
  free(info);
  return rc;
}

/* Everything between creating the files and closing them. */
static int write_files(struct split_job *job) {
  /* a quantized model's files say so, as the whole file does */
  char quant[64] = "";
  if (mdi_h5_attr_exists(job->src, "/", CONVERT_QUANT_ATTR) &&
      mdi_h5_attr_string(job->src, "/", CONVERT_QUANT_ATTR, quant, sizeof quant) != MDI_OK)
    return MDI_ERR;
  for (int r = 0; r < job->n_ranks; r++)
    if (mdi_h5w_create(&job->w[r], job->tmp_paths[r]) != MDI_OK ||
        mdi_h5w_write_hparams(job->w[r], &job->hp) != MDI_OK ||
        (quant[0] && mdi_h5w_attr_string(job->w[r], "/", CONVERT_QUANT_ATTR, quant) != MDI_OK))
      return MDI_ERR;
  job->fingerprint = MDI_FINGERPRINT_INIT;
  const int n = convert_tensor_count(&job->hp);
  for (int i = 0; i < n; i++) {
    struct convert_tensor t;
    convert_tensor_at(&job->hp, i, &t);
    if (copy_tensor(job, &t) != MDI_OK) return MDI_ERR;
  }
  struct mdi_tokenizer tok;
  if (mdi_tokenizer_load(&tok, job->src) != MDI_OK) return MDI_ERR;
  int rc = mdi_tokenizer_save(&tok, job->w[0]);
  mdi_tokenizer_free(&tok);
  if (rc != MDI_OK) return MDI_ERR;
  return write_rank_info(job);
}

/* Close every writer; on failure (or when `failed`) remove every temporary file. */
static int close_files(struct split_job *job, int failed) {
  for (int r = 0; r < job->n_ranks; r++) {
    if (!job->w[r]) continue;
    if (failed) {
      mdi_h5w_abandon(job->w[r]);
    } else if (mdi_h5w_close(job->w[r]) != MDI_OK) { /* removes its own file */
      failed = 1;
    }
    job->w[r] = NULL;
  }
  if (failed)
    for (int r = 0; r < job->n_ranks; r++) remove(job->tmp_paths[r]);
  return failed ? MDI_ERR : MDI_OK;
}

/* Give the complete files their names.  A failed rename removes the set. */
static int rename_files(struct split_job *job) {
  for (int r = 0; r < job->n_ranks; r++) {
    if (rename(job->tmp_paths[r], job->final_paths[r]) == 0) continue;
    int e = errno;
    for (int k = 0; k < job->n_ranks; k++) remove(k < r ? job->final_paths[k] : job->tmp_paths[k]);
    return mdi_fail("%s: cannot rename %s to it: %s", job->final_paths[r], job->tmp_paths[r], strerror(e));
  }
  return MDI_OK;
}

/* PREFIX.rankNNN.h5 and its temporary name for every rank; the outputs must
 * not be the input. */
static int make_paths(struct split_job *job, const char *model, const char *prefix) {
  const size_t size = strlen(prefix) + MDI_RANKFILE_SUFFIX_MAX;
  job->final_paths = mdi_calloc((size_t)job->n_ranks, sizeof(char *), "file names");
  job->tmp_paths = mdi_calloc((size_t)job->n_ranks, sizeof(char *), "file names");
  job->w = mdi_calloc((size_t)job->n_ranks, sizeof *job->w, "writers");
  if (!job->final_paths || !job->tmp_paths || !job->w) return MDI_ERR;
  for (int r = 0; r < job->n_ranks; r++) {
    job->final_paths[r] = mdi_malloc(size, "file name");
    if (!job->final_paths[r]) return MDI_ERR;
    mdi_rankfile_path(job->final_paths[r], size, prefix, r);
    if (convert_tmp_name(job->final_paths[r], &model, 1, &job->tmp_paths[r]) != MDI_OK) return MDI_ERR;
  }
  return MDI_OK;
}

static void free_job(struct split_job *job) {
  for (int r = 0; r < job->n_ranks; r++) {
    if (job->final_paths) free(job->final_paths[r]);
    if (job->tmp_paths) free(job->tmp_paths[r]);
  }
  free(job->final_paths);
  free(job->tmp_paths);
  free(job->w);
  mdi_h5_close(job->src);
}

/* Notes after success: what each file holds, and a stale file of an earlier,
 * larger split that mdi_pipeline with more ranks would find. */
static void report(const struct split_job *job, const char *prefix) {
  char split[4096];
  mdi_split_format(job->counts, job->n_ranks, split, sizeof split);
  mdi_log_info("wrote %d per-rank files %s.rank*.h5: split %s, model fingerprint %016" PRIx64,
               job->n_ranks, prefix, split, job->fingerprint);
  for (int r = 0; r < job->n_ranks; r++)
    mdi_log_info("  %s: layers [%d,%d)%s", job->final_paths[r], job->first[r], job->first[r] + job->counts[r],
                 r == 0 ? (job->hp.shared_classifier ? " + embedding, final_norm, tokenizer"
                                                     : " + embedding, final_norm, classifier, tokenizer")
                        : "");
  char stale[4096 + MDI_RANKFILE_SUFFIX_MAX];
  struct stat st;
  mdi_rankfile_path(stale, sizeof stale, prefix, job->n_ranks);
  if (stat(stale, &st) == 0)
    mdi_log_warn("%s is left from an earlier split into more ranks; mdi_pipeline with %d or more "
                 "ranks would refuse it (remove it)", stale, job->n_ranks + 1);
}

static int split_model(const char *model, const char *prefix, int n_ranks, const char *spec,
                       int rank0_layers) {
  struct split_job job;
  memset(&job, 0, sizeof job);
  if (mdi_h5_open(&job.src, model) != MDI_OK) return MDI_ERR;
  int rc = MDI_ERR;
  if (mdi_h5_read_hparams(job.src, &job.hp) != MDI_OK) goto done;
  if (mdi_rankfile_is_rankfile(job.src)) {
    mdi_fail("%s is one rank's part of a split model; split the whole model file", model);
    goto done;
  }
  struct mdi_model_bytes bytes;
  if (mdi_model_bytes_read(job.src, &job.hp, &bytes) != MDI_OK ||
      mdi_split_plan_bytes(&job.hp, bytes.layer_mean, bytes.classifier, n_ranks, spec, rank0_layers, job.counts) !=
          MDI_OK)
    goto done;
  job.n_ranks = n_ranks;
  for (int r = 1; r < n_ranks; r++) job.first[r] = job.first[r - 1] + job.counts[r - 1];
  if (make_paths(&job, model, prefix) != MDI_OK) goto done;
  convert_remove_on_signal_list(job.tmp_paths, n_ranks);
  int failed = write_files(&job) != MDI_OK;
  if (close_files(&job, failed) == MDI_OK && rename_files(&job) == MDI_OK) rc = MDI_OK;
  convert_remove_on_signal_list(NULL, 0);
  if (rc == MDI_OK) report(&job, prefix);
done:
  free_job(&job);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert split MODEL.h5 --ranks N [--split a,b,...] [--rank0-layers K] PREFIX\n"
          "\n"
          "Write PREFIX.rank000.h5 .. PREFIX.rank{N-1}.h5, one file per rank of an N-rank\n"
          "mdi_pipeline job, for nodes without shared storage: rank 0's file holds the\n"
          "embedding, final norm, classifier, tokenizer and its layers; every other file\n"
          "only its rank's layers.  Run them with 'mpirun -np N mdi_pipeline -m PREFIX'.\n"
          "The split is the one mdi_pipeline plans with the same options.\n"
          "\n"
          "options:\n"
          "  --ranks N          number of ranks (required)\n"
          "  --split SPEC       'auto' (default: balance weights read per token) or the\n"
          "                     layers per rank, rank 0 first, e.g. 1,2,2\n"
          "  --rank0-layers K   with --split auto: rank 0 owns K layers\n"
          "  -q, --quiet        no progress notes\n"
          "  -h, --help         this help\n");
}

int convert_split_main(int argc, char **argv) {
  const char *ranks = NULL, *spec = "auto", *rank0 = NULL, *pos[2];
  const struct convert_opt opts[] = {{"--ranks", &ranks}, {"--split", &spec}, {"--rank0-layers", &rank0}};
  int help, n_pos, n_ranks = 0, rank0_layers = -1;
  int rc = convert_parse_args(argc, argv, opts, 3, &help, pos, 2, &n_pos);
  if (rc == MDI_OK && help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && n_pos != 2) rc = mdi_fail("expected MODEL.h5 and PREFIX");
  if (rc == MDI_OK && !ranks) rc = mdi_fail("--ranks N is required");
  if (rc == MDI_OK) rc = convert_parse_int("--ranks", ranks, 1, MAX_RANKS, &n_ranks);
  if (rc == MDI_OK && rank0) rc = convert_parse_int("--rank0-layers", rank0, 0, 1 << 20, &rank0_layers);
  if (rc == MDI_OK && rank0 && strcmp(spec, "auto") != 0)
    rc = mdi_fail("--rank0-layers applies to --split auto only");
  if (rc != MDI_OK) {
    mdi_log_error("split: %s (see 'mdi_convert split --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (split_model(pos[0], pos[1], n_ranks, spec, rank0_layers) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}

/* make_bad_models GOOD.h5 DIR
 *
 * Writes damaged copies of a good model file into DIR for the robustness
 * tests of mdi_pipeline (tests/bad/CMakeLists.txt).  Each copy carries every
 * dataset and attribute of the original except for one defect:
 *
 *   wrong_format.h5     root attribute format = "gguf-ish"
 *   wrong_version.h5    root attribute format_version = 99
 *   shape_mismatch.h5   layers/002/wq with half its columns ([64][32] for stories260K)
 *   missing_dataset.h5  no layers/003/w2
 *   wrong_dtype.h5      embedding stored as int32
 *   bad_hparams.h5      n_heads = 7, which does not divide dim
 *   no_tokenizer.h5     no /tokenizer group
 *   missing_attr.h5     no root attribute n_layers
 *   nan_weight.h5       layers/003/w1[5][7] = NaN
 *   inf_norm.h5         final_norm[9] = -infinity
 *   truncated.h5        the first 20000 bytes of GOOD.h5
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/hparams.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

#define TRUNCATED_BYTES 20000

/* One dataset of the good file, held in memory (the test model is ~1 MB). */
struct tensor {
  char name[MDI_NAME_MAX]; /* e.g. "layers/002/wq" */
  enum mdi_dtype type;
  int ndims;
  int64_t dims[MDI_MAX_DIMS];
  void *data;              /* product(dims) elements of `type` */
};

struct model {
  struct mdi_hparams hp;
  struct mdi_tokenizer tok;
  struct tensor *tensors;  /* [n] every dataset outside /tokenizer */
  int n, cap;
};

enum defect {
  WRONG_FORMAT,
  WRONG_VERSION,
  SHAPE_MISMATCH,
  MISSING_DATASET,
  WRONG_DTYPE,
  BAD_HPARAMS,
  NO_TOKENIZER,
  MISSING_ATTR,
  NAN_WEIGHT,
  INF_NORM,
};

static const struct variant {
  const char *file;
  enum defect defect;
} variants[] = {
    {"wrong_format.h5", WRONG_FORMAT},     {"wrong_version.h5", WRONG_VERSION},
    {"shape_mismatch.h5", SHAPE_MISMATCH}, {"missing_dataset.h5", MISSING_DATASET},
    {"wrong_dtype.h5", WRONG_DTYPE},       {"bad_hparams.h5", BAD_HPARAMS},
    {"no_tokenizer.h5", NO_TOKENIZER},     {"missing_attr.h5", MISSING_ATTR},
    {"nan_weight.h5", NAN_WEIGHT},         {"inf_norm.h5", INF_NORM},
};

static int dtype_from_name(const char *name, enum mdi_dtype *out) {
  static const struct {
    const char *name;
    enum mdi_dtype type;
  } types[] = {{"float32", MDI_F32}, {"int32", MDI_I32}, {"int64", MDI_I64}, {"uint8", MDI_U8}, {"int8", MDI_I8}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(name, types[i].name)) {
      *out = types[i].type;
      return MDI_OK;
    }
  return mdi_fail("dtype %s is not one the model format uses", name);
}

static int64_t element_count(const struct tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndims; i++) n *= t->dims[i];
  return n;
}

/* mdi_h5_list callback: remember every dataset outside /tokenizer (the
 * tokenizer is copied whole with mdi_tokenizer_load / mdi_tokenizer_save). */
static int collect(const struct mdi_h5_dataset_info *d, void *ctx) {
  struct model *m = ctx;
  if (!strncmp(d->name, "tokenizer/", 10)) return 0;
  if (strlen(d->name) >= MDI_NAME_MAX) return mdi_fail("dataset name /%s is too long", d->name);
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 64;
    m->tensors = realloc(m->tensors, (size_t)m->cap * sizeof *m->tensors);
    if (!m->tensors) MDI_PANIC("out of memory listing datasets");
  }
  struct tensor *t = &m->tensors[m->n];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", d->name);
  if (dtype_from_name(d->dtype, &t->type) != MDI_OK) return mdi_fail_context("/%s", d->name);
  t->ndims = d->ndims;
  memcpy(t->dims, d->dims, sizeof t->dims);
  m->n++;
  return 0;
}

static int model_read(struct model *m, const char *path) {
  struct mdi_h5 *f;
  memset(m, 0, sizeof *m);
  if (mdi_h5_open(&f, path) != MDI_OK) return MDI_ERR;
  int rc = MDI_ERR;
  if (mdi_h5_read_hparams(f, &m->hp) != MDI_OK || mdi_tokenizer_load(&m->tok, f) != MDI_OK ||
      mdi_h5_list(f, collect, m) != MDI_OK)
    goto done;
  for (int i = 0; i < m->n; i++) {
    struct tensor *t = &m->tensors[i];
    size_t bytes = (size_t)element_count(t) * 8; /* 8 >= the size of every dtype */
    t->data = mdi_xmalloc(bytes ? bytes : 1, t->name);
    if (mdi_h5_read(f, t->name, t->type, t->ndims, t->dims, t->data) != MDI_OK) goto done;
  }
  rc = MDI_OK;
done:
  mdi_h5_close(f);
  return rc;
}

static void model_free(struct model *m) {
  for (int i = 0; i < m->n; i++) free(m->tensors[i].data);
  free(m->tensors);
  mdi_tokenizer_free(&m->tok);
}

/* The root hyperparameter attributes (as mdi_h5w_write_hparams writes them)
 * without the one named `skip`. */
static int write_hparams_without(struct mdi_h5w *w, const struct mdi_hparams *hp, const char *skip) {
  const struct {
    const char *name;
    int64_t value;
  } ints[] = {{"dim", hp->dim},         {"hidden_dim", hp->hidden_dim}, {"n_layers", hp->n_layers},
              {"n_heads", hp->n_heads}, {"n_kv_heads", hp->n_kv_heads}, {"vocab_size", hp->vocab_size},
              {"seq_len", hp->seq_len}, {"shared_classifier", hp->shared_classifier}};
  const struct {
    const char *name;
    double value;
  } floats[] = {{"norm_eps", hp->norm_eps}, {"rope_theta", hp->rope_theta}};
  if (strcmp(skip, "arch") != 0 && mdi_h5w_attr_string(w, "/", "arch", hp->arch) != MDI_OK) return MDI_ERR;
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (strcmp(skip, ints[i].name) != 0 && mdi_h5w_attr_int(w, "/", ints[i].name, ints[i].value) != MDI_OK)
      return MDI_ERR;
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
    if (strcmp(skip, floats[i].name) != 0 &&
        mdi_h5w_attr_float(w, "/", floats[i].name, floats[i].value) != MDI_OK)
      return MDI_ERR;
  return MDI_OK;
}

static int write_tensor(struct mdi_h5w *w, const struct tensor *t, enum defect defect) {
  if (defect == MISSING_DATASET && !strcmp(t->name, "layers/003/w2")) return MDI_OK;
  if (defect == SHAPE_MISMATCH && !strcmp(t->name, "layers/002/wq")) {
    /* the first half of the elements, stored as [rows][cols/2] */
    const int64_t dims[2] = {t->dims[0], t->dims[1] / 2};
    return mdi_h5w_write(w, t->name, t->type, 2, dims, t->data);
  }
  if (defect == WRONG_DTYPE && !strcmp(t->name, "embedding")) {
    const int64_t n = element_count(t);
    int32_t *ints = mdi_xmalloc((size_t)n * sizeof *ints, "int32 embedding"); /* [vocab][dim] */
    for (int64_t i = 0; i < n; i++) ints[i] = (int32_t)lrintf(((const float *)t->data)[i] * 1000.0f);
    int rc = mdi_h5w_write(w, t->name, MDI_I32, t->ndims, t->dims, ints);
    free(ints);
    return rc;
  }
  if ((defect == NAN_WEIGHT && !strcmp(t->name, "layers/003/w1")) ||
      (defect == INF_NORM && !strcmp(t->name, "final_norm"))) {
    const int64_t n = element_count(t);
    float *x = mdi_xmalloc((size_t)n * sizeof *x, "damaged copy");
    memcpy(x, t->data, (size_t)n * sizeof *x);
    if (defect == NAN_WEIGHT) x[5 * t->dims[1] + 7] = NAN;
    else x[9] = -INFINITY;
    int rc = mdi_h5w_write(w, t->name, t->type, t->ndims, t->dims, x);
    free(x);
    return rc;
  }
  return mdi_h5w_write(w, t->name, t->type, t->ndims, t->dims, t->data);
}

static int write_variant(const struct model *m, const char *dir, const struct variant *v) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", dir, v->file) >= (int)sizeof path)
    return mdi_fail("%s: the output path is too long", dir);
  struct mdi_h5w *w;
  if (mdi_h5w_create(&w, path) != MDI_OK) return MDI_ERR;
  struct mdi_hparams hp = m->hp;
  if (v->defect == BAD_HPARAMS) hp.n_heads = 7;
  int rc = MDI_OK;
  if (v->defect == WRONG_FORMAT) rc = mdi_h5w_attr_string(w, "/", "format", "gguf-ish");
  if (v->defect == WRONG_VERSION) rc = mdi_h5w_attr_int(w, "/", "format_version", 99);
  if (rc == MDI_OK)
    rc = v->defect == MISSING_ATTR ? write_hparams_without(w, &hp, "n_layers") : mdi_h5w_write_hparams(w, &hp);
  for (int i = 0; rc == MDI_OK && i < m->n; i++) rc = write_tensor(w, &m->tensors[i], v->defect);
  if (rc == MDI_OK && v->defect != NO_TOKENIZER) rc = mdi_tokenizer_save(&m->tok, w);
  if (rc != MDI_OK) {
    mdi_h5w_abandon(w);
    return MDI_ERR;
  }
  return mdi_h5w_close(w);
}

/* A copy of the first `bytes` bytes of `src`: an HDF5 file cut short. */
static int write_truncated(const char *src, const char *dir, size_t bytes) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/truncated.h5", dir) >= (int)sizeof path)
    return mdi_fail("%s: the output path is too long", dir);
  FILE *in = fopen(src, "rb");
  if (!in) return mdi_fail("%s: cannot open", src);
  char *buf = mdi_xmalloc(bytes, "file head");
  size_t got = fread(buf, 1, bytes, in);
  fclose(in);
  if (got != bytes) {
    free(buf);
    return mdi_fail("%s: shorter than %zu bytes", src, bytes);
  }
  FILE *out = fopen(path, "wb");
  int ok = out && fwrite(buf, 1, bytes, out) == bytes;
  if (out && fclose(out) != 0) ok = 0;
  free(buf);
  return ok ? MDI_OK : mdi_fail("%s: cannot write", path);
}

int main(int argc, char **argv) {
  mdi_log_set_program("make_bad_models");
  if (argc != 3) {
    fprintf(stderr, "usage: make_bad_models GOOD.h5 DIR\n");
    return 2;
  }
  struct model m;
  int rc = model_read(&m, argv[1]);
  for (size_t i = 0; rc == MDI_OK && i < sizeof variants / sizeof variants[0]; i++)
    rc = write_variant(&m, argv[2], &variants[i]);
  if (rc == MDI_OK) rc = write_truncated(argv[1], argv[2], TRUNCATED_BYTES);
  model_free(&m);
  if (rc != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return 1;
  }
  return 0;
}

/* The HDF5 model file (docs/FORMAT.md).  The implementation, weights_h5.c,
 * is the only file that includes hdf5.h; everything else sees these calls
 * (hparams_h5.c reads and writes the hyperparameter attributes with them).
 *
 * Reading: every read validates the dataset's dtype and shape against what
 * the caller expects and, on mismatch, records an error naming the file and
 * the dataset.  Writing: datasets are created with their parent groups.
 *
 * Dataset names are HDF5 paths relative to the root, e.g. "layers/003/wq".
 */
#ifndef MDI_WEIGHTS_H
#define MDI_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/model/hparams.h"
#include "mdi/model/quant.h"

#define MDI_FORMAT_NAME "mdi-llm"
/* Version 2 adds the llama options (docs/FORMAT.md); files without them are
 * still written as version 1, and both are read. */
#define MDI_FORMAT_VERSION 2
#define MDI_MAX_DIMS 4

enum mdi_dtype { MDI_F32 = 0, MDI_I32, MDI_I64, MDI_U8, MDI_I8 };

/* ---- reading ---------------------------------------------------------- */

struct mdi_h5; /* an open model file (read-only) */

/* Open read-only and check the root attributes `format` and `format_version`. */
int mdi_h5_open(struct mdi_h5 **out, const char *path);
void mdi_h5_close(struct mdi_h5 *f);
const char *mdi_h5_path(const struct mdi_h5 *f);

/* Root hyperparameter attributes, validated with mdi_hparams_validate. */
int mdi_h5_read_hparams(struct mdi_h5 *f, struct mdi_hparams *hp);

/* 1 when the dataset or group exists, 0 when not. */
int mdi_h5_exists(struct mdi_h5 *f, const char *name);

/* Stored dtype of a dataset (an error names a dtype this format does not use). */
int mdi_h5_dtype(struct mdi_h5 *f, const char *name, enum mdi_dtype *out);

/* Shape of a dataset: fills dims[0..*ndims-1]. */
int mdi_h5_shape(struct mdi_h5 *f, const char *name, int *ndims, int64_t dims[MDI_MAX_DIMS]);

/* Read a whole dataset whose dtype must be `type` and whose shape must be
 * exactly dims[0..ndims-1] into `out`. */
int mdi_h5_read(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int ndims,
                const int64_t *dims, void *out);

/* How the weight matrix `name` is stored: float32, or rows of GGUF blocks
 * of a quantized type (uint8 [rows][row bytes] with the string attribute
 * MDI_QUANT_TYPE_ATTR; docs/FORMAT.md).  Anything else is an error naming
 * the dataset. */
#define MDI_QUANT_TYPE_ATTR "quant_type"
int mdi_h5_matrix_type(struct mdi_h5 *f, const char *name, enum mdi_matrix_type *out);

/* Read rows [row0, row0+nrows) of a 2-D dataset of shape [rows][cols]. */
int mdi_h5_read_rows(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int64_t rows,
                     int64_t cols, int64_t row0, int64_t nrows, void *out);

/* The sum (mod 2^64) of a hash of every dataset row read through f so far,
 * each row hashed with its dataset's name and index.  Reading in other
 * chunks gives the same sum, and the sums of the ranks that each read part
 * of a model add up to the same value whatever the split or the files (one
 * model file or its per-rank files): the run's model digest, which --resume
 * compares with the journal's. */
uint64_t mdi_h5_digest(const struct mdi_h5 *f);

/* Scalar attributes of an object ("/" for the root, or a group path).
 * A missing attribute is an error naming it. */
int mdi_h5_attr_int(struct mdi_h5 *f, const char *obj, const char *attr, int64_t *out);
int mdi_h5_attr_float(struct mdi_h5 *f, const char *obj, const char *attr, double *out);
/* String attribute, copied into buf (NUL-terminated, truncation is an error). */
int mdi_h5_attr_string(struct mdi_h5 *f, const char *obj, const char *attr, char *buf, size_t size);
/* 1-D integer attribute: n is in/out (capacity in, count out). */
int mdi_h5_attr_int_array(struct mdi_h5 *f, const char *obj, const char *attr, int64_t *out, int *n);
int mdi_h5_attr_float_array(struct mdi_h5 *f, const char *obj, const char *attr, double *out, int *n);
int mdi_h5_attr_exists(struct mdi_h5 *f, const char *obj, const char *attr);

/* Every dataset of the file, for listings (mdi_convert info). */
struct mdi_h5_dataset_info {
  const char *name;           /* path below the root, e.g. "layers/003/wq" */
  char dtype[16];             /* "float32", "int64", "uint8", ... */
  size_t elem_size;           /* bytes per element */
  int ndims;
  int64_t dims[MDI_MAX_DIMS];
};
/* Call fn for each dataset in name order (groups recursively).  A non-zero
 * return of fn stops the walk and is returned; MDI_ERR on an HDF5 error. */
int mdi_h5_list(struct mdi_h5 *f, int (*fn)(const struct mdi_h5_dataset_info *d, void *ctx),
                void *ctx);

/* ---- writing ---------------------------------------------------------- */

struct mdi_h5w; /* a model file being written */

/* Create (truncate) the file and write format, format_version. */
int mdi_h5w_create(struct mdi_h5w **out, const char *path);
/* Flush and close; returns MDI_ERR if anything failed (the file is then
 * removed, so a half-written model never looks valid). */
int mdi_h5w_close(struct mdi_h5w *w);
/* Close and delete the file after an error elsewhere. */
void mdi_h5w_abandon(struct mdi_h5w *w);

/* Root attributes for every field of hp. */
int mdi_h5w_write_hparams(struct mdi_h5w *w, const struct mdi_hparams *hp);

/* Write a whole dataset (parent groups are created). */
int mdi_h5w_write(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int ndims,
                  const int64_t *dims, const void *data);

/* Streaming a large 2-D dataset: create it, then write row ranges. */
int mdi_h5w_create_2d(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int64_t rows,
                      int64_t cols);
int mdi_h5w_write_rows(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int64_t row0,
                       int64_t nrows, int64_t cols, const void *data);

/* A quantized matrix [rows][cols] of type t: the uint8 dataset [rows][row
 * bytes] with its MDI_QUANT_TYPE_ATTR; rows then go in with
 * mdi_h5w_write_rows(w, name, MDI_U8, row0, nrows, row bytes, blocks). */
int mdi_h5w_create_blocks(struct mdi_h5w *w, const char *name, enum mdi_matrix_type t, int64_t rows, int64_t cols);

int mdi_h5w_attr_int(struct mdi_h5w *w, const char *obj, const char *attr, int64_t value);
int mdi_h5w_attr_float(struct mdi_h5w *w, const char *obj, const char *attr, double value);
int mdi_h5w_attr_string(struct mdi_h5w *w, const char *obj, const char *attr, const char *value);
int mdi_h5w_attr_int_array(struct mdi_h5w *w, const char *obj, const char *attr,
                           const int64_t *values, int n);
int mdi_h5w_attr_float_array(struct mdi_h5w *w, const char *obj, const char *attr, const double *values,
                             int n);

/* Dataset names of the model (docs/FORMAT.md); buf must hold MDI_NAME_MAX. */
#define MDI_NAME_MAX 64
void mdi_weights_layer_name(char *buf, int layer, const char *tensor);

#endif

/* Reader of safetensors checkpoints (Hugging Face), one file or several
 * shards listed by an index, seen as one set of named tensors.
 *
 * A safetensors file is: uint64 little-endian N, N bytes of JSON header
 * {"__metadata__": {...}, "NAME": {"dtype": "F32", "shape": [d0, ...],
 * "data_offsets": [begin, end]}, ...}, then the data; offsets count from the
 * first byte after the header.  Everything is checked before use: the header
 * length (at most SAFETENSORS_MAX_HEADER, inside the file), the JSON, each
 * dtype (known), shape and offsets (end - begin = elements x dtype size), and
 * that the tensors cover the data exactly: sorted by offset, each starts
 * where the previous ends (no overlap, no hole) and the last ends at the end
 * of the file, as the format requires.  Errors name the file and the tensor.
 * Tensors are read in element ranges, never whole files. */
#ifndef MDI_SAFETENSORS_H
#define MDI_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "convert.h"

#define SAFETENSORS_MAX_HEADER ((int64_t)100 << 20) /* bytes of JSON header accepted */
#define SAFETENSORS_MAX_DIMS 8

/* Element types this converter reads (widened to float32); the format knows
 * more (F64, I8, BOOL, ...), which are accepted in the header but refused
 * when such a tensor is read. */
enum safetensors_dtype { SAFETENSORS_F32, SAFETENSORS_F16, SAFETENSORS_BF16, SAFETENSORS_OTHER };

struct safetensors_tensor {
  char *name;
  char dtype_name[12];          /* as in the header: "F32", "BF16", "I64", ... */
  enum safetensors_dtype dtype;
  int elem_size;                /* bytes per element */
  int ndims;
  int64_t dims[SAFETENSORS_MAX_DIMS];
  int64_t elems;                /* product of dims */
  int64_t offset;               /* byte offset of the first element in its file */
  int file;                     /* index into the model's files */
};

struct safetensors_model {
  int n_files;
  struct convert_input *files;  /* [n_files] open shard files */
  char **paths;                 /* [n_files] */
  int n_tensors;
  struct safetensors_tensor *tensors; /* [n_tensors] sorted by name */
  void *scratch;                /* conversion buffer of read_floats */
  size_t scratch_bytes;
};

/* Open DIR/model.safetensors, or the shards that DIR/model.safetensors.index.json
 * lists ({"weight_map": {"NAME": "model-00001-of-00002.safetensors", ...}}):
 * every tensor of the map must be in the shard it names, and no tensor may
 * be in two shards. */
int safetensors_open_dir(struct safetensors_model *m, const char *dir);
/* One file alone. */
int safetensors_open_file(struct safetensors_model *m, const char *path);
void safetensors_close(struct safetensors_model *m);

/* The tensor called name, or NULL. */
const struct safetensors_tensor *safetensors_find(const struct safetensors_model *m, const char *name);
/* The path of the file holding t, for messages. */
const char *safetensors_path(const struct safetensors_model *m, const struct safetensors_tensor *t);

/* Read elements [first, first + count) of t (row-major) as float32 into out:
 * F32 as is, F16 exactly widened, BF16 as the upper half of a float32.
 * Other dtypes are refused with the tensor's name. */
int safetensors_read_floats(struct safetensors_model *m, const struct safetensors_tensor *t, int64_t first,
                            size_t count, float *out);

/* "[768, 2304]" for messages. */
void safetensors_format_shape(char *buf, size_t size, int ndims, const int64_t *dims);

#endif

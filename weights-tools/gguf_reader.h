/* A reader of GGUF containers (versions 2 and 3, little-endian), for
 * untrusted files: gguf_open walks the whole header once, checks every
 * count, length, type and offset against the file, and keeps an index of the
 * metadata (where each value lies) and of the tensors.  Values are read on
 * demand, so large arrays (the vocabulary) are never held twice.
 *
 * File layout: "GGUF", uint32 version, uint64 n_tensors, uint64 n_kv; n_kv
 * times {string key, uint32 value type, value}; n_tensors times {string
 * name, uint32 n_dims, uint64 dims[n_dims] (innermost first), uint32 ggml
 * type, uint64 offset}; padding to general.alignment (default 32); tensor
 * data, each tensor at data_start + offset.  A string is uint64 length + bytes.
 */
#ifndef MDI_GGUF_READER_H
#define MDI_GGUF_READER_H

#include <stddef.h>
#include <stdint.h>

#include "convert.h"
#include "mdi/model/quant.h"

enum gguf_value_type {
  GGUF_U8 = 0,
  GGUF_I8 = 1,
  GGUF_U16 = 2,
  GGUF_I16 = 3,
  GGUF_U32 = 4,
  GGUF_I32 = 5,
  GGUF_F32 = 6,
  GGUF_BOOL = 7,
  GGUF_STRING = 8,
  GGUF_ARRAY = 9,
  GGUF_U64 = 10,
  GGUF_I64 = 11,
  GGUF_F64 = 12,
  GGUF_N_VALUE_TYPES
};

/* ggml tensor types read as floats; the quantized ones mdi-llm runs are
 * kept as blocks (quant.h), any other is rejected by name. */
#define GGML_TYPE_F32 0
#define GGML_TYPE_F16 1
#define GGML_TYPE_BF16 30


#define GGUF_MAX_DIMS 4

struct gguf_kv {
  char *key;
  uint32_t type;      /* enum gguf_value_type */
  uint32_t elem_type; /* arrays: type of the elements */
  int64_t count;      /* arrays: number of elements */
  int64_t value_off;  /* file offset of the value (arrays: of the first element) */
};

struct gguf_tensor {
  char *name;
  int n_dims;
  int64_t dims[GGUF_MAX_DIMS]; /* GGUF order: dims[0] is the contiguous one */
  uint32_t type;               /* ggml type */
  enum mdi_matrix_type qtype;  /* MDI_MATRIX_F32 for F32 and F16 tensors, else their block type */
  uint64_t data_offset;        /* as stored: relative to the data section */
  int64_t off;                 /* absolute file offset of the data */
  int64_t bytes;
};

struct gguf_file {
  struct convert_input in;
  uint32_t version;
  int64_t n_kv, n_tensors;
  struct gguf_kv *kv;          /* [n_kv], file order */
  struct gguf_tensor *tensors; /* [n_tensors], file order */
  int64_t alignment;           /* general.alignment, default 32 */
  int64_t data_start;          /* absolute offset of the tensor data */
  const struct gguf_tensor **tensor_sorted; /* [n_tensors] sorted by name */
  const struct gguf_kv **kv_sorted;         /* [n_kv] sorted by key */
};

int gguf_open(struct gguf_file *g, const char *path);
void gguf_close(struct gguf_file *g);

/* NULL when absent. */
const struct gguf_kv *gguf_find_kv(const struct gguf_file *g, const char *key);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *g, const char *name);

/* Scalar values: 1 when found, 0 when absent, MDI_ERR (message names the
 * file and key) when the value has another type or does not fit. */
int gguf_get_int(struct gguf_file *g, const char *key, int64_t *out);     /* any integer */
int gguf_get_float(struct gguf_file *g, const char *key, double *out);    /* F32, F64 */
int gguf_get_string(struct gguf_file *g, const char *key, char *buf, size_t size);

/* Arrays: the kv must be an array of the stated element type. */
int gguf_read_f32_array(struct gguf_file *g, const struct gguf_kv *kv, float *out);
/* Calls fn(ctx, i, bytes, len) for each string; fn's non-zero return stops. */
int gguf_read_string_array(struct gguf_file *g, const struct gguf_kv *kv,
                           int (*fn)(void *ctx, int64_t i, const char *s, size_t len), void *ctx);

/* Where and how tensor t lies (F32, F16 or blocks): the converters' view. */
void gguf_tensor_src(const struct gguf_tensor *t, struct convert_tensor_src *src);
/* The name of the file's quantization for the root attribute: llama.cpp's
 * general.file_type ("Q4_K_M") or the block types present ("Q4_K+Q6_K");
 * "" when every tensor is F32 or F16. */
int gguf_quantization_name(struct gguf_file *g, char *buf, size_t size);

/* "F32", "Q8_0", ... or "unknown". */
const char *gguf_ggml_type_name(uint32_t type);

#endif

/* GGUF container reader (gguf_reader.h).  Every count and length is checked
 * against the bytes left in the file before anything is allocated, so a
 * corrupt header gives one message and never a huge allocation. */
#include "gguf_reader.h"

#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

#define MAX_COUNT ((int64_t)1 << 20)        /* tensors, metadata keys */
#define MAX_NAME_LEN ((int64_t)1 << 16)     /* keys and tensor names */
#define MAX_STRING_LEN ((int64_t)1 << 20)   /* string values */
#define MAX_ELEMENTS ((int64_t)1 << 42)     /* elements of one tensor */
#define MAX_ALIGNMENT ((int64_t)1 << 20)
#define DEFAULT_ALIGNMENT 32
/* Smallest encodings, to reject counts the file cannot hold. */
#define MIN_KV_BYTES 13     /* key length 8, type 4, 1-byte value */
#define MIN_TENSOR_BYTES 29 /* name length 8 + 1 byte, n_dims 4, one dim 8, type 4, offset 8 */

/* Bytes of a scalar value type; 0 for strings and arrays. */
static size_t scalar_size(uint32_t t) {
  static const size_t sizes[GGUF_N_VALUE_TYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return t < GGUF_N_VALUE_TYPES ? sizes[t] : 0;
}

const char *gguf_ggml_type_name(uint32_t type) {
  /* ggml's type ids (retired ids are empty) */
  static const char *const names[] = {
      "F32",     "F16",    "Q4_0",    "Q4_1",  "",      "",      "Q5_0",   "Q5_1",
      "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",  "Q5_K",  "Q6_K",   "Q8_K",
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",  "IQ4_XS",
      "I8",      "I16",    "I32",     "I64",   "F64",   "IQ1_M", "BF16",   "",
      "",        "",       "TQ1_0",   "TQ2_0", "",      "",      "",       "MXFP4",
      "NVFP4",   "Q1_0",   "Q2_0"};
  if (type < sizeof names / sizeof names[0] && names[type][0]) return names[type];
  return "unknown";
}

/* The one place that knows ggml's tensor types: how tensor t (dims set) of
 * ggml type `type` is stored, and its bytes.  F32, F16 and BF16 are read
 * as floats; the quantized types mdi-llm runs (quant.h) are kept as blocks,
 * whose size needs the row (dims[0]) to be whole blocks; anything else is
 * refused naming the tensor and the type. */
static int tensor_layout(struct gguf_file *g, struct gguf_tensor *t, uint32_t type, int64_t count,
                         const char *what) {
  t->type = type;
  if (type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16) {
    t->qtype = MDI_MATRIX_F32;
    t->bytes = count * (type == GGML_TYPE_F32 ? 4 : 2);
    return MDI_OK;
  }
  if (mdi_quant_from_ggml((int)type, &t->qtype) != MDI_OK || t->qtype == MDI_MATRIX_F32)
    return mdi_fail("%s: %s has type %u (%s), which mdi-llm does not run (it reads F32, F16, BF16, Q8_0, "
                    "Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K)", g->in.path, what, type, gguf_ggml_type_name(type));
  const struct mdi_quant_format *f = mdi_quant_format(t->qtype);
  if (t->dims[0] % f->block != 0)
    return mdi_fail("%s: %s is %s but its rows of %lld weights are not whole blocks of %d", g->in.path, what,
                    f->name, (long long)t->dims[0], f->block);
  t->bytes = (int64_t)mdi_quant_row_bytes(t->qtype, t->dims[0]) * (count / t->dims[0]);
  return MDI_OK;
}

void gguf_tensor_src(const struct gguf_tensor *t, struct convert_tensor_src *src) {
  src->off = t->off;
  src->qtype = t->qtype;
  src->type = t->type == GGML_TYPE_F32    ? CONVERT_SRC_F32
              : t->type == GGML_TYPE_F16  ? CONVERT_SRC_F16
              : t->type == GGML_TYPE_BF16 ? CONVERT_SRC_BF16
                                          : CONVERT_SRC_BLOCKS;
  src->rope_head_size = src->rope_dim = 0;
  src->name = t->name;
}

int gguf_quantization_name(struct gguf_file *g, char *buf, size_t size) {
  /* llama.cpp's file types (llama_ftype) of the mixes of the types we run */
  static const struct {
    int ftype;
    const char *name;
  } ftypes[] = {{2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},    {9, "Q5_1"},
                {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"}};
  buf[0] = '\0';
  int seen[MDI_MATRIX_N_TYPES] = {0}, any = 0;
  for (int64_t i = 0; i < g->n_tensors; i++) {
    seen[g->tensors[i].qtype] = 1;
    any |= g->tensors[i].qtype != MDI_MATRIX_F32;
  }
  if (!any) return MDI_OK;
  int64_t ftype;
  const int found = gguf_get_int(g, "general.file_type", &ftype);
  if (found < 0) return MDI_ERR;
  for (size_t i = 0; found && i < sizeof ftypes / sizeof ftypes[0]; i++)
    if (ftypes[i].ftype == ftype) {
      snprintf(buf, size, "%s", ftypes[i].name);
      return MDI_OK;
    }
  /* no known file type: the types present, "Q4_K+Q6_K" */
  size_t used = 0;
  for (int t = MDI_MATRIX_F32 + 1; t < MDI_MATRIX_N_TYPES && used < size; t++)
    if (seen[t]) used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "+" : "", mdi_quant_format(t)->name);
  return MDI_OK;
}

static int read_u32(struct gguf_file *g, uint32_t *v, const char *what) {
  return convert_input_read(&g->in, v, 4, what);
}

static int read_u64(struct gguf_file *g, uint64_t *v, const char *what) {
  return convert_input_read(&g->in, v, 8, what);
}

/* Read a string's length, check it against `max` and the file end; the
 * cursor is left at the string's bytes. */
static int string_len(struct gguf_file *g, int64_t max, int64_t *len, const char *what) {
  uint64_t n;
  int64_t at = g->in.pos;
  if (read_u64(g, &n, what) != MDI_OK) return MDI_ERR;
  if (n > (uint64_t)max)
    return mdi_fail("%s: %s: absurd string length %llu at offset %lld (at most %lld)", g->in.path,
                    what, (unsigned long long)n, (long long)at, (long long)max);
  if ((int64_t)n > convert_input_left(&g->in))
    return mdi_fail("%s: %s: string of %llu bytes at offset %lld runs past the end of the file "
                    "(%lld bytes)", g->in.path, what, (unsigned long long)n, (long long)at,
                    (long long)g->in.size);
  *len = (int64_t)n;
  return MDI_OK;
}

/* A key or tensor name as a new NUL-terminated string. */
static int read_name(struct gguf_file *g, char **out, const char *what) {
  int64_t len = 0;
  *out = NULL;
  if (string_len(g, MAX_NAME_LEN, &len, what) != MDI_OK) return MDI_ERR;
  char *s = mdi_malloc((size_t)len + 1, what);
  if (!s) return MDI_ERR;
  if (convert_input_read(&g->in, s, (size_t)len, what) != MDI_OK) {
    free(s);
    return MDI_ERR;
  }
  s[len] = '\0';
  if (strlen(s) != (size_t)len) {
    free(s);
    return mdi_fail("%s: %s contains a NUL byte", g->in.path, what);
  }
  *out = s;
  return MDI_OK;
}

/* Skip a value of type t (the cursor is at the value), recording where it
 * lies in kv when kv is not NULL. */
static int skip_value(struct gguf_file *g, uint32_t t, struct gguf_kv *kv, const char *what) {
  if (t >= GGUF_N_VALUE_TYPES)
    return mdi_fail("%s: %s has unknown value type %u", g->in.path, what, t);
  if (kv) kv->value_off = g->in.pos;
  if (t == GGUF_STRING) {
    int64_t len = 0;
    if (string_len(g, MAX_STRING_LEN, &len, what) != MDI_OK) return MDI_ERR;
    return convert_input_skip(&g->in, len, what);
  }
  if (t != GGUF_ARRAY) return convert_input_skip(&g->in, (int64_t)scalar_size(t), what);
  uint32_t et;
  uint64_t count;
  if (read_u32(g, &et, what) != MDI_OK || read_u64(g, &count, what) != MDI_OK) return MDI_ERR;
  if (et == GGUF_ARRAY)
    return mdi_fail("%s: %s is an array of arrays, which is not supported", g->in.path, what);
  if (et >= GGUF_N_VALUE_TYPES)
    return mdi_fail("%s: %s is an array of unknown value type %u", g->in.path, what, et);
  /* strings take at least their 8-byte length */
  uint64_t min_size = et == GGUF_STRING ? 8 : scalar_size(et);
  if (count > (uint64_t)convert_input_left(&g->in) / min_size)
    return mdi_fail("%s: %s: absurd array length %llu (the file has %lld bytes left)", g->in.path,
                    what, (unsigned long long)count, (long long)convert_input_left(&g->in));
  if (kv) {
    kv->elem_type = et;
    kv->count = (int64_t)count;
    kv->value_off = g->in.pos;
  }
  if (et != GGUF_STRING) return convert_input_skip(&g->in, (int64_t)(count * min_size), what);
  for (uint64_t i = 0; i < count; i++) {
    int64_t len = 0;
    if (string_len(g, MAX_STRING_LEN, &len, what) != MDI_OK ||
        convert_input_skip(&g->in, len, what) != MDI_OK)
      return MDI_ERR;
  }
  return MDI_OK;
}

static int read_header(struct gguf_file *g) {
  struct convert_input *in = &g->in;
  if (in->size < 24)
    return mdi_fail("%s: file is %lld bytes, too short for a GGUF header (24 bytes)", in->path,
                    (long long)in->size);
  unsigned char magic[4];
  uint64_t n_tensors, n_kv;
  if (convert_input_read(in, magic, 4, "magic") != MDI_OK) return MDI_ERR;
  if (memcmp(magic, "GGUF", 4) != 0)
    return mdi_fail("%s: not a GGUF file (it starts with bytes %02x %02x %02x %02x, not \"GGUF\")",
                    in->path, magic[0], magic[1], magic[2], magic[3]);
  if (read_u32(g, &g->version, "version") != MDI_OK) return MDI_ERR;
  if (g->version == 0x02000000u || g->version == 0x03000000u)
    return mdi_fail("%s: big-endian GGUF files are not supported", in->path);
  if (g->version != 2 && g->version != 3)
    return mdi_fail("%s: GGUF version %u is not supported (versions 2 and 3 are)", in->path,
                    g->version);
  if (read_u64(g, &n_tensors, "tensor count") != MDI_OK || read_u64(g, &n_kv, "key count") != MDI_OK)
    return MDI_ERR;
  int64_t left = convert_input_left(in);
  if (n_tensors > (uint64_t)MAX_COUNT || n_tensors * MIN_TENSOR_BYTES > (uint64_t)left)
    return mdi_fail("%s: absurd tensor count %llu (at most %lld, and the file has %lld bytes)",
                    in->path, (unsigned long long)n_tensors, (long long)MAX_COUNT,
                    (long long)in->size);
  if (n_kv > (uint64_t)MAX_COUNT || n_kv * MIN_KV_BYTES > (uint64_t)left)
    return mdi_fail("%s: absurd metadata key count %llu (at most %lld, and the file has %lld bytes)",
                    in->path, (unsigned long long)n_kv, (long long)MAX_COUNT, (long long)in->size);
  g->n_tensors = (int64_t)n_tensors;
  g->n_kv = (int64_t)n_kv;
  return MDI_OK;
}

static int read_metadata(struct gguf_file *g) {
  g->kv = mdi_calloc((size_t)g->n_kv, sizeof *g->kv, "GGUF metadata index");
  if (!g->kv) return MDI_ERR;
  for (int64_t i = 0; i < g->n_kv; i++) {
    struct gguf_kv *kv = &g->kv[i];
    char what[160];
    snprintf(what, sizeof what, "metadata key %lld", (long long)i);
    if (read_name(g, &kv->key, what) != MDI_OK) return MDI_ERR;
    snprintf(what, sizeof what, "metadata key '%.100s'", kv->key);
    if (read_u32(g, &kv->type, what) != MDI_OK || skip_value(g, kv->type, kv, what) != MDI_OK)
      return MDI_ERR;
  }
  return MDI_OK;
}

/* Element count of dims[0..n), or -1 when absurd. */
static int64_t element_count(const int64_t *dims, int n) {
  int64_t count = 1;
  for (int i = 0; i < n; i++) {
    if (dims[i] < 1 || dims[i] > MAX_ELEMENTS || count > MAX_ELEMENTS / dims[i]) return -1;
    count *= dims[i];
  }
  return count;
}

static int read_tensor_info(struct gguf_file *g, int64_t i) {
  struct gguf_tensor *t = &g->tensors[i];
  char what[160];
  snprintf(what, sizeof what, "tensor info %lld", (long long)i);
  if (read_name(g, &t->name, what) != MDI_OK) return MDI_ERR;
  snprintf(what, sizeof what, "tensor %.100s", t->name);
  uint32_t n_dims, type;
  uint64_t dims[GGUF_MAX_DIMS], off;
  if (read_u32(g, &n_dims, what) != MDI_OK) return MDI_ERR;
  if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
    return mdi_fail("%s: %s has %u dimensions (1 to %d allowed)", g->in.path, what, n_dims,
                    GGUF_MAX_DIMS);
  for (uint32_t d = 0; d < n_dims; d++) {
    if (read_u64(g, &dims[d], what) != MDI_OK) return MDI_ERR;
    t->dims[d] = dims[d] > (uint64_t)MAX_ELEMENTS ? 0 : (int64_t)dims[d];
  }
  t->n_dims = (int)n_dims;
  if (read_u32(g, &type, what) != MDI_OK || read_u64(g, &off, what) != MDI_OK) return MDI_ERR;
  int64_t count = element_count(t->dims, t->n_dims);
  if (count < 0)
    return mdi_fail("%s: %s has absurd dimensions (%llu x %llu x ...)", g->in.path, what,
                    (unsigned long long)dims[0],
                    (unsigned long long)(n_dims > 1 ? dims[1] : 1));
  if (tensor_layout(g, t, type, count, what) != MDI_OK) return MDI_ERR;
  t->data_offset = off; /* checked once the data section is placed */
  return MDI_OK;
}

/* general.alignment: a power of two (default 32). */
static int read_alignment(struct gguf_file *g) {
  int64_t a = DEFAULT_ALIGNMENT;
  int found = gguf_get_int(g, "general.alignment", &a);
  if (found < 0) return MDI_ERR;
  if (a < 1 || a > MAX_ALIGNMENT || (a & (a - 1)) != 0)
    return mdi_fail("%s: general.alignment = %lld is not a power of two in [1, %lld]", g->in.path,
                    (long long)a, (long long)MAX_ALIGNMENT);
  g->alignment = a;
  return MDI_OK;
}

/* Place the tensors: aligned, inside the file. */
static int place_tensors(struct gguf_file *g) {
  g->data_start = (g->in.pos + g->alignment - 1) / g->alignment * g->alignment;
  for (int64_t i = 0; i < g->n_tensors; i++) {
    struct gguf_tensor *t = &g->tensors[i];
    if (t->data_offset % (uint64_t)g->alignment != 0)
      return mdi_fail("%s: tensor %s: data offset %llu is not a multiple of the alignment %lld",
                      g->in.path, t->name, (unsigned long long)t->data_offset,
                      (long long)g->alignment);
    /* unsigned: a sum that wrapped around is caught by the first test */
    uint64_t at = t->data_offset + (uint64_t)g->data_start;
    if (t->data_offset > (uint64_t)g->in.size || at > (uint64_t)g->in.size ||
        (uint64_t)t->bytes > (uint64_t)g->in.size - at)
      return mdi_fail("%s: tensor %s: data (%lld bytes at offset %llu) lies beyond the end of the "
                      "file (%lld bytes; truncated?)", g->in.path, t->name, (long long)t->bytes,
                      (unsigned long long)at, (long long)g->in.size);
    t->off = (int64_t)at;
  }
  return MDI_OK;
}

static int cmp_tensor(const void *a, const void *b) {
  return strcmp((*(const struct gguf_tensor *const *)a)->name,
                (*(const struct gguf_tensor *const *)b)->name);
}

static int cmp_kv(const void *a, const void *b) {
  return strcmp((*(const struct gguf_kv *const *)a)->key, (*(const struct gguf_kv *const *)b)->key);
}

/* Sorted indexes for lookups; duplicated names are an error (which of the
 * two would be meant?). */
static int build_indexes(struct gguf_file *g) {
  g->kv_sorted = mdi_calloc((size_t)g->n_kv, sizeof *g->kv_sorted, "GGUF key index");
  g->tensor_sorted = mdi_calloc((size_t)g->n_tensors, sizeof *g->tensor_sorted, "GGUF tensor index");
  if (!g->kv_sorted || !g->tensor_sorted) return MDI_ERR;
  for (int64_t i = 0; i < g->n_kv; i++) g->kv_sorted[i] = &g->kv[i];
  for (int64_t i = 0; i < g->n_tensors; i++) g->tensor_sorted[i] = &g->tensors[i];
  qsort(g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv);
  qsort(g->tensor_sorted, (size_t)g->n_tensors, sizeof *g->tensor_sorted, cmp_tensor);
  for (int64_t i = 1; i < g->n_kv; i++)
    if (strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key) == 0)
      return mdi_fail("%s: metadata key '%s' appears twice", g->in.path, g->kv_sorted[i]->key);
  for (int64_t i = 1; i < g->n_tensors; i++)
    if (strcmp(g->tensor_sorted[i - 1]->name, g->tensor_sorted[i]->name) == 0)
      return mdi_fail("%s: tensor '%s' appears twice", g->in.path, g->tensor_sorted[i]->name);
  return MDI_OK;
}

int gguf_open(struct gguf_file *g, const char *path) {
  memset(g, 0, sizeof *g);
  if (convert_input_open(&g->in, path) != MDI_OK) return MDI_ERR;
  if (read_header(g) != MDI_OK || read_metadata(g) != MDI_OK) goto fail;
  g->tensors = mdi_calloc((size_t)g->n_tensors, sizeof *g->tensors, "GGUF tensor index");
  if (!g->tensors) goto fail;
  for (int64_t i = 0; i < g->n_tensors; i++)
    if (read_tensor_info(g, i) != MDI_OK) goto fail;
  /* general.alignment is looked up through the index, and places the tensors */
  if (build_indexes(g) != MDI_OK || read_alignment(g) != MDI_OK || place_tensors(g) != MDI_OK)
    goto fail;
  return MDI_OK;
fail:
  gguf_close(g);
  return MDI_ERR;
}

void gguf_close(struct gguf_file *g) {
  for (int64_t i = 0; g->kv && i < g->n_kv; i++) free(g->kv[i].key);
  for (int64_t i = 0; g->tensors && i < g->n_tensors; i++) free(g->tensors[i].name);
  free(g->kv);
  free(g->tensors);
  free((void *)g->kv_sorted);
  free((void *)g->tensor_sorted);
  convert_input_close(&g->in);
  memset(g, 0, sizeof *g);
}

const struct gguf_kv *gguf_find_kv(const struct gguf_file *g, const char *key) {
  if (!g->kv_sorted) return NULL;
  struct gguf_kv probe = {.key = (char *)key};
  const struct gguf_kv *p = &probe;
  const struct gguf_kv *const *hit =
      bsearch(&p, g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv);
  return hit ? *hit : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *g, const char *name) {
  if (!g->tensor_sorted) return NULL;
  struct gguf_tensor probe = {.name = (char *)name};
  const struct gguf_tensor *p = &probe;
  const struct gguf_tensor *const *hit =
      bsearch(&p, g->tensor_sorted, (size_t)g->n_tensors, sizeof *g->tensor_sorted, cmp_tensor);
  return hit ? *hit : NULL;
}

int gguf_get_int(struct gguf_file *g, const char *key, int64_t *out) {
  const struct gguf_kv *kv = gguf_find_kv(g, key);
  if (!kv) return 0;
  union {
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
  } v;
  size_t size = scalar_size(kv->type);
  if (kv->type == GGUF_F32 || kv->type == GGUF_F64 || kv->type == GGUF_BOOL || size == 0)
    return mdi_fail("%s: metadata %s should be an integer", g->in.path, key);
  if (convert_input_read_at(&g->in, kv->value_off, &v, size, key) != MDI_OK) return MDI_ERR;
  switch (kv->type) {
    case GGUF_U8: *out = v.u8; break;
    case GGUF_I8: *out = v.i8; break;
    case GGUF_U16: *out = v.u16; break;
    case GGUF_I16: *out = v.i16; break;
    case GGUF_U32: *out = v.u32; break;
    case GGUF_I32: *out = v.i32; break;
    case GGUF_I64: *out = v.i64; break;
    default: /* GGUF_U64 */
      if (v.u64 > (uint64_t)INT64_MAX)
        return mdi_fail("%s: metadata %s = %llu is out of range", g->in.path, key,
                        (unsigned long long)v.u64);
      *out = (int64_t)v.u64;
  }
  return 1;
}

int gguf_get_float(struct gguf_file *g, const char *key, double *out) {
  const struct gguf_kv *kv = gguf_find_kv(g, key);
  if (!kv) return 0;
  if (kv->type == GGUF_F32) {
    float f;
    if (convert_input_read_at(&g->in, kv->value_off, &f, 4, key) != MDI_OK) return MDI_ERR;
    *out = f;
  } else if (kv->type == GGUF_F64) {
    if (convert_input_read_at(&g->in, kv->value_off, out, 8, key) != MDI_OK) return MDI_ERR;
  } else {
    return mdi_fail("%s: metadata %s should be a float32 or float64", g->in.path, key);
  }
  return 1;
}

int gguf_get_string(struct gguf_file *g, const char *key, char *buf, size_t size) {
  const struct gguf_kv *kv = gguf_find_kv(g, key);
  if (!kv) return 0;
  if (kv->type != GGUF_STRING) return mdi_fail("%s: metadata %s should be a string", g->in.path, key);
  uint64_t len;
  if (convert_input_read_at(&g->in, kv->value_off, &len, 8, key) != MDI_OK) return MDI_ERR;
  if (len >= size)
    return mdi_fail("%s: metadata %s is %llu bytes long (at most %zu expected)", g->in.path, key,
                    (unsigned long long)len, size - 1);
  if (convert_input_read_at(&g->in, kv->value_off + 8, buf, (size_t)len, key) != MDI_OK)
    return MDI_ERR;
  buf[len] = '\0';
  return 1;
}

int gguf_read_f32_array(struct gguf_file *g, const struct gguf_kv *kv, float *out) {
  if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_F32)
    return mdi_fail("%s: metadata %s should be an array of float32", g->in.path, kv->key);
  return convert_input_read_at(&g->in, kv->value_off, out, (size_t)kv->count * 4, kv->key);
}

int gguf_read_string_array(struct gguf_file *g, const struct gguf_kv *kv,
                           int (*fn)(void *ctx, int64_t i, const char *s, size_t len), void *ctx) {
  if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING)
    return mdi_fail("%s: metadata %s should be an array of strings", g->in.path, kv->key);
  char *buf = mdi_malloc((size_t)MAX_STRING_LEN, kv->key);
  if (!buf) return MDI_ERR;
  int rc = MDI_OK;
  g->in.pos = kv->value_off;
  for (int64_t i = 0; i < kv->count && rc == MDI_OK; i++) {
    int64_t len = 0;
    rc = string_len(g, MAX_STRING_LEN, &len, kv->key);
    if (rc == MDI_OK) rc = convert_input_read(&g->in, buf, (size_t)len, kv->key);
    if (rc == MDI_OK && fn(ctx, i, buf, (size_t)len) != 0) rc = MDI_ERR;
  }
  free(buf);
  return rc;
}

/* Reader of safetensors files and sharded checkpoints (see safetensors.h). */
#define _POSIX_C_SOURCE 200809L

#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"

#define MAX_INDEX_BYTES ((size_t)64 << 20) /* model.safetensors.index.json */
#define MAX_ELEMS ((int64_t)1 << 50)       /* far above any tensor; keeps byte counts below 2^63 */

/* The dtypes of the format and their sizes (unknown names are an error). */
static const struct {
  const char *name;
  int size;
  enum safetensors_dtype dtype;
} dtypes[] = {
    {"F32", 4, SAFETENSORS_F32},   {"F16", 2, SAFETENSORS_F16},     {"BF16", 2, SAFETENSORS_BF16},
    {"F64", 8, SAFETENSORS_OTHER}, {"I64", 8, SAFETENSORS_OTHER},   {"U64", 8, SAFETENSORS_OTHER},
    {"I32", 4, SAFETENSORS_OTHER}, {"U32", 4, SAFETENSORS_OTHER},   {"I16", 2, SAFETENSORS_OTHER},
    {"U16", 2, SAFETENSORS_OTHER}, {"I8", 1, SAFETENSORS_OTHER},    {"U8", 1, SAFETENSORS_OTHER},
    {"BOOL", 1, SAFETENSORS_OTHER}, {"F8_E5M2", 1, SAFETENSORS_OTHER}, {"F8_E4M3", 1, SAFETENSORS_OTHER},
};

void safetensors_format_shape(char *buf, size_t size, int ndims, const int64_t *dims) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndims && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
  if (used < size) snprintf(buf + used, size - used, "]");
}

/* ---- one file's header ----------------------------------------------------- */

/* Growing list of tensors while files are parsed. */
struct tensor_list {
  struct safetensors_tensor *t;
  int n, cap;
};

static struct safetensors_tensor *push_tensor(struct tensor_list *l) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 256;
    struct safetensors_tensor *p = realloc(l->t, (size_t)cap * sizeof *p);
    if (!p) return mdi_fail("out of memory: cannot list %d tensors", cap), NULL;
    l->t = p;
    l->cap = cap;
  }
  struct safetensors_tensor *t = &l->t[l->n++];
  memset(t, 0, sizeof *t);
  return t;
}

/* Fill t from one header entry {"dtype", "shape", "data_offsets"}; begin/end
 * are the data offsets as written. */
static int parse_entry(const char *path, const char *name, const struct mdi_json *v,
                       struct safetensors_tensor *t, int64_t *begin, int64_t *end) {
  if (mdi_json_type(v) != MDI_JSON_OBJECT)
    return mdi_fail("%s: tensor %s: the header entry is a JSON %s, not an object", path, name,
                    mdi_json_type_name(v));
  const char *dtype = mdi_json_string(mdi_json_get(v, "dtype"));
  const struct mdi_json *shape = mdi_json_get(v, "shape"), *offsets = mdi_json_get(v, "data_offsets");
  if (!dtype) return mdi_fail("%s: tensor %s has no string \"dtype\"", path, name);
  if (!shape || mdi_json_type(shape) != MDI_JSON_ARRAY)
    return mdi_fail("%s: tensor %s has no array \"shape\"", path, name);
  if (!offsets || mdi_json_type(offsets) != MDI_JSON_ARRAY || mdi_json_count(offsets) != 2)
    return mdi_fail("%s: tensor %s has no \"data_offsets\" [begin, end]", path, name);
  size_t k = 0;
  while (k < sizeof dtypes / sizeof dtypes[0] && strcmp(dtypes[k].name, dtype) != 0) k++;
  if (k == sizeof dtypes / sizeof dtypes[0]) return mdi_fail("%s: tensor %s has unknown dtype \"%.16s\"", path, name, dtype);
  snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dtypes[k].name);
  t->dtype = dtypes[k].dtype;
  t->elem_size = dtypes[k].size;
  t->ndims = mdi_json_count(shape);
  if (t->ndims > SAFETENSORS_MAX_DIMS)
    return mdi_fail("%s: tensor %s has %d dimensions (at most %d supported)", path, name, t->ndims,
                    SAFETENSORS_MAX_DIMS);
  t->elems = 1;
  int i = 0;
  for (const struct mdi_json *d = mdi_json_first(shape); d; d = mdi_json_next(d), i++) {
    if (!mdi_json_int(d, 0, MAX_ELEMS, &t->dims[i]))
      return mdi_fail("%s: tensor %s: shape entry %d is not an integer in [0, 2^50]", path, name, i);
    if (t->dims[i] > 0 && t->elems > MAX_ELEMS / t->dims[i])
      return mdi_fail("%s: tensor %s: the shape has more than 2^50 elements", path, name);
    t->elems *= t->dims[i];
  }
  const struct mdi_json *b = mdi_json_first(offsets), *e = mdi_json_next(b);
  if (!mdi_json_int(b, 0, INT64_C(1) << 62, begin) || !mdi_json_int(e, 0, INT64_C(1) << 62, end) || *end < *begin)
    return mdi_fail("%s: tensor %s: data_offsets must be integers 0 <= begin <= end", path, name);
  if (*end - *begin != t->elems * t->elem_size) {
    char s[160];
    safetensors_format_shape(s, sizeof s, t->ndims, t->dims);
    return mdi_fail("%s: tensor %s: data_offsets [%lld, %lld] hold %lld bytes but %s %s needs %lld", path, name,
                    (long long)*begin, (long long)*end, (long long)(*end - *begin), t->dtype_name, s,
                    (long long)(t->elems * t->elem_size));
  }
  return MDI_OK;
}

/* A tensor's data range, for the coverage check. */
struct span {
  int64_t begin, end;
  const char *name;
};

static int span_cmp(const void *a, const void *b) {
  const struct span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return (x->end > y->end) - (x->end < y->end);
}

/* The tensors must tile the data: sorted by offset, each begins where the
 * previous ended, and the last ends at the end of the file. */
static int check_coverage(const char *path, struct span *s, int n, int64_t data_bytes) {
  qsort(s, (size_t)n, sizeof *s, span_cmp);
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (s[i].begin < at)
      return mdi_fail("%s: tensor %s (data bytes [%lld, %lld)) overlaps tensor %s, which ends at %lld", path,
                      s[i].name, (long long)s[i].begin, (long long)s[i].end, s[i - 1].name, (long long)at);
    if (s[i].begin > at)
      return mdi_fail("%s: %lld bytes before tensor %s (data offset %lld) belong to no tensor (the data must "
                      "be contiguous)", path, (long long)(s[i].begin - at), s[i].name, (long long)s[i].begin);
    at = s[i].end;
  }
  if (at > data_bytes)
    return mdi_fail("%s: truncated: tensor %s ends at data byte %lld but the file holds %lld bytes of data", path,
                    s[n - 1].name, (long long)at, (long long)data_bytes);
  if (at < data_bytes)
    return mdi_fail("%s: %lld bytes after the last tensor belong to no tensor", path, (long long)(data_bytes - at));
  return MDI_OK;
}

/* The header of the open file `in` (file index `file`): its tensors are
 * appended to l, checked. */
static int parse_header(struct convert_input *in, int file, struct tensor_list *l) {
  const char *path = in->path;
  uint64_t n;
  if (in->size < 8)
    return mdi_fail("%s: file is %lld bytes, too short for a safetensors header", path, (long long)in->size);
  if (convert_input_read_at(in, 0, &n, 8, "header length") != MDI_OK) return MDI_ERR;
  if (n > (uint64_t)SAFETENSORS_MAX_HEADER)
    return mdi_fail("%s: header length %llu exceeds the limit of %lld bytes (not a safetensors file?)", path,
                    (unsigned long long)n, (long long)SAFETENSORS_MAX_HEADER);
  if ((int64_t)n > in->size - 8)
    return mdi_fail("%s: header length %llu lies beyond the end of the file (%lld bytes): truncated?", path,
                    (unsigned long long)n, (long long)in->size);
  char *text = mdi_malloc((size_t)n + 1, "safetensors header");
  if (!text) return MDI_ERR;
  struct mdi_json_doc *doc = NULL;
  struct span *spans = NULL;
  int rc = MDI_ERR, first = l->n;
  char source[4200];
  snprintf(source, sizeof source, "%s: header", path);
  if (convert_input_read_at(in, 8, text, (size_t)n, "header") != MDI_OK ||
      mdi_json_parse(&doc, text, (size_t)n, source) != MDI_OK)
    goto done;
  const struct mdi_json *root = mdi_json_root(doc);
  if (mdi_json_type(root) != MDI_JSON_OBJECT) {
    mdi_fail("%s: the header is a JSON %s, not an object", path, mdi_json_type_name(root));
    goto done;
  }
  int count = mdi_json_count(root);
  spans = mdi_malloc((size_t)(count > 0 ? count : 1) * sizeof *spans, "safetensors offsets");
  if (!spans) goto done;
  int n_spans = 0;
  for (const struct mdi_json *e = mdi_json_first(root); e; e = mdi_json_next(e)) {
    const char *name = mdi_json_key(e);
    if (strcmp(name, "__metadata__") == 0) {
      int ok = mdi_json_type(e) == MDI_JSON_OBJECT;
      for (const struct mdi_json *m = mdi_json_first(e); ok && m; m = mdi_json_next(m))
        ok = mdi_json_type(m) == MDI_JSON_STRING;
      if (!ok) {
        mdi_fail("%s: __metadata__ must map names to strings", path);
        goto done;
      }
      continue;
    }
    struct safetensors_tensor *t = push_tensor(l);
    if (!t) goto done;
    int64_t begin, end;
    if (parse_entry(path, name, e, t, &begin, &end) != MDI_OK) {
      l->n--;
      goto done;
    }
    t->name = mdi_xstrdup(name);
    t->offset = 8 + (int64_t)n + begin;
    t->file = file;
    spans[n_spans++] = (struct span){begin, end, t->name};
  }
  rc = check_coverage(path, spans, n_spans, in->size - 8 - (int64_t)n);
done:
  if (rc != MDI_OK)
    for (int i = first; i < l->n; i++) free(l->t[i].name);
  if (rc != MDI_OK) l->n = first;
  free(spans);
  mdi_json_free(doc);
  free(text);
  return rc;
}

/* ---- the model: files and tensors --------------------------------------------- */

static int name_cmp(const void *a, const void *b) {
  return strcmp(((const struct safetensors_tensor *)a)->name, ((const struct safetensors_tensor *)b)->name);
}

/* Open path as file number m->n_files and append its tensors to l. */
static int add_file(struct safetensors_model *m, const char *path, struct tensor_list *l) {
  const int k = m->n_files;
  char **paths = realloc(m->paths, (size_t)(k + 1) * sizeof *paths);
  if (paths) m->paths = paths;
  struct convert_input *files = paths ? realloc(m->files, (size_t)(k + 1) * sizeof *files) : NULL;
  if (!files) return mdi_fail("out of memory opening %s", path);
  m->files = files;
  m->paths[k] = mdi_xstrdup(path);
  if (convert_input_open(&m->files[k], m->paths[k]) != MDI_OK) {
    free(m->paths[k]);
    return MDI_ERR;
  }
  m->n_files = k + 1;
  return parse_header(&m->files[k], k, l);
}

/* Sort the tensors by name and refuse a name given twice. */
static int finish(struct safetensors_model *m, struct tensor_list *l) {
  m->tensors = l->t;
  m->n_tensors = l->n;
  qsort(m->tensors, (size_t)m->n_tensors, sizeof *m->tensors, name_cmp);
  for (int i = 1; i < m->n_tensors; i++) {
    const struct safetensors_tensor *a = &m->tensors[i - 1], *b = &m->tensors[i];
    if (strcmp(a->name, b->name) == 0)
      return mdi_fail("%s: tensor %s appears twice%s%s", m->paths[b->file], b->name, a->file != b->file ? " (also in " : "",
                      a->file != b->file ? m->paths[a->file] : "");
  }
  return MDI_OK;
}

int safetensors_open_file(struct safetensors_model *m, const char *path) {
  memset(m, 0, sizeof *m);
  struct tensor_list l = {0};
  int rc = add_file(m, path, &l);
  if (rc == MDI_OK) return finish(m, &l) == MDI_OK ? MDI_OK : (safetensors_close(m), MDI_ERR);
  m->tensors = l.t;
  m->n_tensors = l.n;
  safetensors_close(m);
  return MDI_ERR;
}

/* A shard name of the index must be a plain file name in DIR. */
static int plain_name(const char *s) {
  return s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* The shards of DIR/model.safetensors.index.json. */
static int open_index(struct safetensors_model *m, const char *dir, const char *index, struct tensor_list *l,
                      struct mdi_json_doc **doc) {
  if (mdi_json_parse_file(doc, index, MAX_INDEX_BYTES) != MDI_OK) return MDI_ERR;
  const struct mdi_json *map = mdi_json_get(mdi_json_root(*doc), "weight_map");
  if (!map || mdi_json_type(map) != MDI_JSON_OBJECT || !mdi_json_first(map))
    return mdi_fail("%s: no \"weight_map\" object with the tensors' files", index);
  for (const struct mdi_json *e = mdi_json_first(map); e; e = mdi_json_next(e)) {
    const char *file = mdi_json_string(e);
    if (!file || !plain_name(file))
      return mdi_fail("%s: weight_map gives tensor %s the file %s%s%s, not a file name in %s", index, mdi_json_key(e),
                      file ? "\"" : "a JSON ", file ? file : mdi_json_type_name(e), file ? "\"" : "", dir);
    int seen = 0;
    for (int i = 0; i < m->n_files && !seen; i++) seen = strcmp(strrchr(m->paths[i], '/') + 1, file) == 0;
    if (seen) continue;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) return mdi_fail("%s/%s: path too long", dir, file);
    if (add_file(m, path, l) != MDI_OK) return MDI_ERR;
  }
  const int rc = finish(m, l);
  l->t = NULL; /* owned by m now */
  l->n = 0;
  if (rc != MDI_OK) return MDI_ERR;
  for (const struct mdi_json *e = mdi_json_first(map); e; e = mdi_json_next(e)) {
    const struct safetensors_tensor *t = safetensors_find(m, mdi_json_key(e));
    const char *file = mdi_json_string(e), *have = t ? strrchr(m->paths[t->file], '/') + 1 : NULL;
    if (!t) return mdi_fail("%s: tensor %s is listed in weight_map but not in %s", index, mdi_json_key(e), file);
    if (strcmp(have, file) != 0)
      return mdi_fail("%s: weight_map puts tensor %s in %s, but it is in %s", index, t->name, file, have);
  }
  return MDI_OK;
}

int safetensors_open_dir(struct safetensors_model *m, const char *dir) {
  memset(m, 0, sizeof *m);
  char single[4096], index[4096];
  struct stat st;
  if ((size_t)snprintf(single, sizeof single, "%s/model.safetensors", dir) >= sizeof single ||
      (size_t)snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir) >= sizeof index)
    return mdi_fail("%s: path too long", dir);
  if (stat(single, &st) == 0) return safetensors_open_file(m, single);
  if (stat(index, &st) != 0)
    return mdi_fail("%s: neither model.safetensors nor model.safetensors.index.json is there", dir);
  struct tensor_list l = {0};
  struct mdi_json_doc *doc = NULL;
  int rc = open_index(m, dir, index, &l, &doc);
  mdi_json_free(doc);
  if (rc == MDI_OK) return MDI_OK;
  if (l.t) { /* not handed over to m */
    for (int i = 0; i < l.n; i++) free(l.t[i].name);
    free(l.t);
  }
  safetensors_close(m);
  return MDI_ERR;
}

void safetensors_close(struct safetensors_model *m) {
  for (int i = 0; i < m->n_files; i++) {
    convert_input_close(&m->files[i]);
    free(m->paths[i]);
  }
  for (int i = 0; i < m->n_tensors; i++) free(m->tensors[i].name);
  free(m->files);
  free(m->paths);
  free(m->tensors);
  free(m->scratch);
  memset(m, 0, sizeof *m);
}

const struct safetensors_tensor *safetensors_find(const struct safetensors_model *m, const char *name) {
  int lo = 0, hi = m->n_tensors;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    const int c = strcmp(m->tensors[mid].name, name);
    if (c == 0) return &m->tensors[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const char *safetensors_path(const struct safetensors_model *m, const struct safetensors_tensor *t) {
  return m->paths[t->file];
}

/* ---- reading ------------------------------------------------------------------- */

static float bf16_to_f32(uint16_t h) {
  const uint32_t bits = (uint32_t)h << 16; /* bfloat16 is the upper half of a float32 */
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

int safetensors_read_floats(struct safetensors_model *m, const struct safetensors_tensor *t, int64_t first,
                            size_t count, float *out) {
  MDI_ASSERT(first >= 0 && (int64_t)count <= t->elems - first);
  if (t->dtype == SAFETENSORS_OTHER)
    return mdi_fail("%s: tensor %s has dtype %s (only F32, F16 and BF16 are converted)", safetensors_path(m, t),
                    t->name, t->dtype_name);
  char what[256];
  snprintf(what, sizeof what, "tensor %s", t->name);
  struct convert_input *in = &m->files[t->file];
  const int64_t at = t->offset + first * t->elem_size;
  if (t->dtype == SAFETENSORS_F32) return convert_input_read_at(in, at, out, count * 4, what);
  if (m->scratch_bytes < count * 2) {
    void *p = realloc(m->scratch, count * 2);
    if (!p) return mdi_fail("out of memory: cannot allocate %zu bytes to convert %s", count * 2, t->name);
    m->scratch = p;
    m->scratch_bytes = count * 2;
  }
  uint16_t *h = m->scratch;
  if (convert_input_read_at(in, at, h, count * 2, what) != MDI_OK) return MDI_ERR;
  for (size_t i = 0; i < count; i++) out[i] = t->dtype == SAFETENSORS_F16 ? mdi_f16_to_f32(h[i]) : bf16_to_f32(h[i]);
  return MDI_OK;
}

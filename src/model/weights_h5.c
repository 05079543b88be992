/* The HDF5 model file: the only file that includes hdf5.h.
 * Every HDF5 call is checked; errors name the file and the dataset. */
#include "mdi/model/weights.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/base/path.h"
#include "mdi/base/progress.h"

struct mdi_h5 {
  hid_t file;
  char *path;
  uint64_t digest; /* sum of the hashes of every dataset row read */
};

struct mdi_h5w {
  hid_t file;
  char *path;
  int failed;
};

/* HDF5 prints its own error stack by default; we report one message. */
static void silence_hdf5(void) {
  static int done = 0;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
  }
}

static hid_t mem_type(enum mdi_dtype t) {
  switch (t) {
    case MDI_F32: return H5T_NATIVE_FLOAT;
    case MDI_I32: return H5T_NATIVE_INT32;
    case MDI_I64: return H5T_NATIVE_INT64;
    case MDI_U8: return H5T_NATIVE_UINT8;
    case MDI_I8: return H5T_NATIVE_INT8;
  }
  MDI_PANIC("unknown dtype %d", (int)t);
}

/* File type: little-endian, fixed size, as docs/FORMAT.md says. */
static hid_t file_type(enum mdi_dtype t) {
  switch (t) {
    case MDI_F32: return H5T_IEEE_F32LE;
    case MDI_I32: return H5T_STD_I32LE;
    case MDI_I64: return H5T_STD_I64LE;
    case MDI_U8: return H5T_STD_U8LE;
    case MDI_I8: return H5T_STD_I8LE;
  }
  MDI_PANIC("unknown dtype %d", (int)t);
}

static const char *dtype_name(enum mdi_dtype t) {
  switch (t) {
    case MDI_F32: return "float32";
    case MDI_I32: return "int32";
    case MDI_I64: return "int64";
    case MDI_U8: return "uint8";
    case MDI_I8: return "int8";
  }
  return "?";
}

/* Does the dataset's stored type match the expected dtype (class, size, sign)? */
static int type_matches(hid_t dtype, enum mdi_dtype t) {
  H5T_class_t cls = H5Tget_class(dtype);
  size_t size = H5Tget_size(dtype);
  if (t == MDI_F32) return cls == H5T_FLOAT && size == 4;
  if (cls != H5T_INTEGER) return 0;
  H5T_sign_t sign = H5Tget_sign(dtype);
  switch (t) {
    case MDI_I32: return size == 4 && sign == H5T_SGN_2;
    case MDI_I64: return size == 8 && sign == H5T_SGN_2;
    case MDI_U8: return size == 1 && sign == H5T_SGN_NONE;
    case MDI_I8: return size == 1 && sign == H5T_SGN_2;
    default: return 0;
  }
}

static void describe_type(hid_t dtype, char *buf, size_t n) {
  H5T_class_t cls = H5Tget_class(dtype);
  size_t size = H5Tget_size(dtype);
  const char *kind = cls == H5T_FLOAT     ? "float"
                     : cls == H5T_INTEGER ? (H5Tget_sign(dtype) == H5T_SGN_NONE ? "uint" : "int")
                     : cls == H5T_STRING  ? "string"
                                          : "non-numeric";
  snprintf(buf, n, "%s%zu", kind, size * 8);
}

static void format_dims(char *buf, size_t n, int ndims, const int64_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndims && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "[%lld]", (long long)dims[i]);
  if (ndims == 0) snprintf(buf, n, "scalar");
}

/* Read or write rows [row0, row0+nrows) of a 2-D dataset through a hyperslab. */
static herr_t rows_io(hid_t ds, hid_t memtype, int64_t row0, int64_t nrows, int64_t cols, void *buf, int write) {
  herr_t rc = -1;
  hid_t fspace = H5Dget_space(ds);
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)cols};
  hid_t mspace = H5Screate_simple(2, count, NULL);
  if (fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
    rc = write ? H5Dwrite(ds, memtype, mspace, fspace, H5P_DEFAULT, buf)
               : H5Dread(ds, memtype, mspace, fspace, H5P_DEFAULT, buf);
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  return rc;
}

/* ---- the digest of what was read ---------------------------------------- */

static uint64_t mix64(uint64_t x) { /* splitmix64's finalizer */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Hash of one row, seeded by the dataset name and the row index: four
 * independent multiply chains (each step a bijection of its lane, so no
 * difference in the bytes hashed is lost before the final mix).  Rows of
 * 256 bytes or more are sampled: one 32-byte block in eight, at a stride
 * that visits every column of a row over 8 rows, so the digest costs an
 * eighth of a pass over the weights.  It tells models apart (another
 * checkpoint, fine-tune or quantization changes nearly every weight); it is
 * not a checksum of every byte. */
static uint64_t row_hash(uint64_t seed, int64_t row, const unsigned char *b, size_t n) {
  const uint64_t P = 0x9e3779b97f4a7c15ull;
  uint64_t a[4] = {seed, seed ^ 0x1234567u, seed ^ 0x89abcdefu, ~seed};
  const size_t step = n >= 256 ? 256 : 32;
  size_t i = n >= 256 ? (size_t)(row & 7) * 32 : 0;
  for (; i + 32 <= n; i += step) {
    uint64_t w[4];
    memcpy(w, b + i, sizeof w);
    for (int k = 0; k < 4; k++) a[k] = (a[k] ^ w[k]) * P;
  }
  for (size_t j = n & ~(size_t)31, k = 0; j < n; j++, k = (k + 1) & 3) a[k] = (a[k] ^ b[j]) * P; /* the tail */
  return mix64(mix64(a[0] ^ mix64(a[1])) ^ mix64(a[2] ^ mix64(a[3] ^ n)));
}

static void digest_rows(struct mdi_h5 *f, const char *name, int64_t row0, int64_t nrows, size_t row_bytes,
                        const void *data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
  for (int64_t r = 0; r < nrows; r++)
    f->digest += row_hash(mix64(h + (uint64_t)(row0 + r)), row0 + r,
                          (const unsigned char *)data + (size_t)r * row_bytes, row_bytes);
}

uint64_t mdi_h5_digest(const struct mdi_h5 *f) { return f->digest; }

static size_t dtype_size(enum mdi_dtype t) { return H5Tget_size(mem_type(t)); }

/* ---- reading ---------------------------------------------------------- */

static int read_root_string(hid_t file, const char *attr, char *buf, size_t size,
                            const char *path);

/* HDF5 (1.10+) takes a flock on the files it opens, exclusive for a writer:
 * when another process is writing the file, opening it fails. */
static int locked_by_writer(const char *path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const int busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return busy;
}

int mdi_h5_open(struct mdi_h5 **out, const char *path) {
  silence_hdf5();
  *out = NULL;
  /* a FIFO or a device would block or never end: only regular files */
  const int kind = mdi_path_input(path, "the model file");
  if (kind < 0) return MDI_ERR;
  FILE *probe = kind ? fopen(path, "rb") : NULL;
  if (!probe) return mdi_fail("%s: cannot open model file: %s", path, kind ? strerror(errno) : strerror(ENOENT));
  fclose(probe);
  htri_t is = H5Fis_hdf5(path);
  if (is <= 0 && locked_by_writer(path))
    return mdi_fail("%s: another process is writing this file (its HDF5 file lock is held); wait until it is done", path);
  if (is <= 0) return mdi_fail("%s: not an HDF5 file (expected an mdi-llm model; convert with mdi_convert)", path);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0 && locked_by_writer(path))
    return mdi_fail("%s: another process is writing this file (its HDF5 file lock is held); wait until it is done", path);
  if (file < 0) return mdi_fail("%s: cannot open HDF5 file (truncated or damaged?)", path);
  char fmt[32];
  if (read_root_string(file, "format", fmt, sizeof fmt, path) != MDI_OK) {
    H5Fclose(file);
    return mdi_fail_context("%s: not an mdi-llm model", path);
  }
  if (strcmp(fmt, MDI_FORMAT_NAME) != 0) {
    H5Fclose(file);
    return mdi_fail("%s: root attribute format = \"%s\", expected \"%s\"", path, fmt, MDI_FORMAT_NAME);
  }
  struct mdi_h5 *f = mdi_calloc(1, sizeof *f, "model file handle");
  if (!f) {
    H5Fclose(file);
    return MDI_ERR;
  }
  f->file = file;
  f->path = mdi_xstrdup(path);
  int64_t version;
  if (mdi_h5_attr_int(f, "/", "format_version", &version) != MDI_OK) {
    mdi_h5_close(f);
    return MDI_ERR;
  }
  if (version < 1 || version > MDI_FORMAT_VERSION) {
    mdi_h5_close(f);
    return mdi_fail("%s: format_version = %lld is not supported (this program reads versions 1 to %d)", path,
                    (long long)version, MDI_FORMAT_VERSION);
  }
  *out = f;
  return MDI_OK;
}

void mdi_h5_close(struct mdi_h5 *f) {
  if (!f) return;
  if (f->file >= 0) H5Fclose(f->file);
  free(f->path);
  free(f);
}

const char *mdi_h5_path(const struct mdi_h5 *f) { return f->path; }

int mdi_h5_exists(struct mdi_h5 *f, const char *name) {
  /* check each component so a missing parent group is not an HDF5 error */
  char buf[512];
  if (snprintf(buf, sizeof buf, "%s", name) >= (int)sizeof buf) return 0;
  for (char *p = buf; *p; p++) {
    if (*p == '/' && p != buf) {
      *p = '\0';
      htri_t e = H5Lexists(f->file, buf, H5P_DEFAULT);
      *p = '/';
      if (e <= 0) return 0;
    }
  }
  return H5Lexists(f->file, buf, H5P_DEFAULT) > 0;
}

static hid_t open_dataset(struct mdi_h5 *f, const char *name) {
  if (!mdi_h5_exists(f, name)) {
    mdi_fail("%s: dataset /%s is missing", f->path, name);
    return -1;
  }
  hid_t ds = H5Dopen2(f->file, name, H5P_DEFAULT);
  if (ds < 0) mdi_fail("%s: /%s is not a readable dataset", f->path, name);
  return ds;
}

static int dataset_shape(struct mdi_h5 *f, hid_t ds, const char *name, int *ndims,
                         int64_t dims[MDI_MAX_DIMS]) {
  hid_t space = H5Dget_space(ds);
  if (space < 0) return mdi_fail("%s: /%s: cannot read its shape", f->path, name);
  int n = H5Sget_simple_extent_ndims(space);
  if (n < 0 || n > MDI_MAX_DIMS) {
    H5Sclose(space);
    return mdi_fail("%s: /%s has %d dimensions (at most %d expected)", f->path, name, n, MDI_MAX_DIMS);
  }
  hsize_t h[MDI_MAX_DIMS];
  if (H5Sget_simple_extent_dims(space, h, NULL) < 0) {
    H5Sclose(space);
    return mdi_fail("%s: /%s: cannot read its shape", f->path, name);
  }
  H5Sclose(space);
  *ndims = n;
  for (int i = 0; i < n; i++) dims[i] = (int64_t)h[i];
  return MDI_OK;
}

int mdi_h5_dtype(struct mdi_h5 *f, const char *name, enum mdi_dtype *out) {
  hid_t ds = open_dataset(f, name);
  if (ds < 0) return MDI_ERR;
  hid_t dt = H5Dget_type(ds);
  int rc = MDI_ERR;
  const enum mdi_dtype all[] = {MDI_F32, MDI_I32, MDI_I64, MDI_U8, MDI_I8};
  for (size_t i = 0; dt >= 0 && i < sizeof all / sizeof all[0] && rc != MDI_OK; i++)
    if (type_matches(dt, all[i])) {
      *out = all[i];
      rc = MDI_OK;
    }
  if (rc != MDI_OK) {
    char have[32] = "unknown";
    if (dt >= 0) describe_type(dt, have, sizeof have);
    mdi_fail("%s: /%s has dtype %s, which this format does not use", f->path, name, have);
  }
  if (dt >= 0) H5Tclose(dt);
  H5Dclose(ds);
  return rc;
}

int mdi_h5_shape(struct mdi_h5 *f, const char *name, int *ndims, int64_t dims[MDI_MAX_DIMS]) {
  hid_t ds = open_dataset(f, name);
  if (ds < 0) return MDI_ERR;
  int rc = dataset_shape(f, ds, name, ndims, dims);
  H5Dclose(ds);
  return rc;
}

/* Open a dataset and check its dtype and exact shape. */
static hid_t open_checked(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int ndims,
                          const int64_t *dims) {
  hid_t ds = open_dataset(f, name);
  if (ds < 0) return -1;
  hid_t dt = H5Dget_type(ds);
  if (dt < 0) {
    H5Dclose(ds);
    mdi_fail("%s: /%s: cannot read its dtype", f->path, name);
    return -1;
  }
  if (!type_matches(dt, type)) {
    char have[32];
    describe_type(dt, have, sizeof have);
    H5Tclose(dt);
    H5Dclose(ds);
    mdi_fail("%s: /%s has dtype %s, expected %s", f->path, name, have, dtype_name(type));
    return -1;
  }
  H5Tclose(dt);
  int n;
  int64_t have[MDI_MAX_DIMS];
  if (dataset_shape(f, ds, name, &n, have) != MDI_OK) {
    H5Dclose(ds);
    return -1;
  }
  int same = n == ndims;
  for (int i = 0; same && i < n; i++) same = have[i] == dims[i];
  if (!same) {
    char hs[96], ws[96];
    format_dims(hs, sizeof hs, n, have);
    format_dims(ws, sizeof ws, ndims, dims);
    H5Dclose(ds);
    mdi_fail("%s: /%s has shape %s, expected %s", f->path, name, hs, ws);
    return -1;
  }
  return ds;
}

int mdi_h5_read(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int ndims,
                const int64_t *dims, void *out) {
  hid_t ds = open_checked(f, name, type, ndims, dims);
  if (ds < 0) return MDI_ERR;
  int64_t count = 1;
  for (int i = 0; i < ndims; i++) count *= dims[i];
  herr_t rc = count == 0 ? 0 : H5Dread(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
  H5Dclose(ds);
  if (rc < 0) return mdi_fail("%s: /%s: read failed (file truncated or damaged?)", f->path, name);
  /* rows as mdi_h5_read_rows would read them: the same digest either way */
  const int64_t rows = ndims >= 2 ? dims[0] : 1;
  if (count > 0) digest_rows(f, name, 0, rows, (size_t)(count / rows) * dtype_size(type), out);
  return mdi_progress();
}

int mdi_h5_read_rows(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int64_t rows,
                     int64_t cols, int64_t row0, int64_t nrows, void *out) {
  const int64_t dims[2] = {rows, cols};
  MDI_ASSERT(row0 >= 0 && nrows >= 0 && row0 + nrows <= rows);
  hid_t ds = open_checked(f, name, type, 2, dims);
  if (ds < 0) return MDI_ERR;
  herr_t rc = nrows == 0 ? 0 : rows_io(ds, mem_type(type), row0, nrows, cols, out, 0);
  H5Dclose(ds);
  if (rc < 0)
    return mdi_fail("%s: /%s: reading rows %lld..%lld failed (file truncated or damaged?)", f->path,
                    name, (long long)row0, (long long)(row0 + nrows));
  digest_rows(f, name, row0, nrows, (size_t)cols * dtype_size(type), out);
  return mdi_progress(); /* alive (the start-up timeout), or interrupted */
}

int mdi_h5_matrix_type(struct mdi_h5 *f, const char *name, enum mdi_matrix_type *out) {
  enum mdi_dtype dtype;
  if (mdi_h5_dtype(f, name, &dtype) != MDI_OK) return MDI_ERR;
  if (dtype == MDI_F32) {
    *out = MDI_MATRIX_F32;
    return MDI_OK;
  }
  if (dtype == MDI_I8)
    return mdi_fail("%s: /%s is int8 with its scales in /%s_scale, the Q8_0 layout of earlier mdi-llm versions; "
                    "quantize the float32 model again ('mdi_convert quantize --type q8_0')", f->path, name, name);
  if (dtype != MDI_U8)
    return mdi_fail("%s: /%s has dtype %s, expected float32 or uint8 blocks of a quantized type", f->path, name,
                    dtype_name(dtype));
  char type[16];
  if (!mdi_h5_attr_exists(f, name, MDI_QUANT_TYPE_ATTR))
    return mdi_fail("%s: /%s is uint8 but has no attribute %s naming its block type", f->path, name,
                    MDI_QUANT_TYPE_ATTR);
  if (mdi_h5_attr_string(f, name, MDI_QUANT_TYPE_ATTR, type, sizeof type) != MDI_OK) return MDI_ERR;
  if (mdi_quant_parse(type, out) != MDI_OK || *out == MDI_MATRIX_F32)
    return mdi_fail("%s: /%s has %s = \"%s\", not a block type this program runs (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
                    "Q4_K, Q5_K, Q6_K)", f->path, name, MDI_QUANT_TYPE_ATTR, type);
  return MDI_OK;
}

/* Open attribute `attr` of object `obj`, or record an error naming both. */
static hid_t open_attr(hid_t file, const char *path, const char *obj, const char *attr) {
  htri_t e = H5Aexists_by_name(file, obj, attr, H5P_DEFAULT);
  if (e <= 0) {
    if (strcmp(obj, "/") == 0)
      mdi_fail("%s: root attribute %s is missing", path, attr);
    else
      mdi_fail("%s: attribute %s of %s is missing", path, attr, obj);
    return -1;
  }
  hid_t a = H5Aopen_by_name(file, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) mdi_fail("%s: attribute %s:%s cannot be opened", path, obj, attr);
  return a;
}

int mdi_h5_attr_exists(struct mdi_h5 *f, const char *obj, const char *attr) {
  if (strcmp(obj, "/") != 0 && !mdi_h5_exists(f, obj[0] == '/' ? obj + 1 : obj)) return 0;
  return H5Aexists_by_name(f->file, obj, attr, H5P_DEFAULT) > 0;
}

/* Read a numeric attribute with `count` elements (scalar: 1) converting to
 * the memory type; the stored class must match (integer vs float). */
static int read_attr_numeric(hid_t file, const char *path, const char *obj, const char *attr,
                             hid_t memtype, H5T_class_t want, void *out, int *count,
                             int capacity) {
  hid_t a = open_attr(file, path, obj, attr);
  if (a < 0) return MDI_ERR;
  int rc = MDI_ERR;
  hid_t t = H5Aget_type(a), s = H5Aget_space(a);
  if (t < 0 || s < 0) {
    mdi_fail("%s: attribute %s:%s is unreadable", path, obj, attr);
    goto done;
  }
  H5T_class_t cls = H5Tget_class(t);
  if (cls != want && !(want == H5T_FLOAT && cls == H5T_INTEGER)) {
    mdi_fail("%s: attribute %s:%s has the wrong type (expected %s)", path, obj, attr,
             want == H5T_FLOAT ? "a number" : "an integer");
    goto done;
  }
  hssize_t n = H5Sget_simple_extent_npoints(s);
  if (n < 1 || n > capacity || (count == NULL && n != 1)) {
    mdi_fail("%s: attribute %s:%s has %lld values (expected %s%d)", path, obj, attr, (long long)n,
             count ? "at most " : "", count ? capacity : 1);
    goto done;
  }
  if (H5Aread(a, memtype, out) < 0) {
    mdi_fail("%s: attribute %s:%s cannot be read", path, obj, attr);
    goto done;
  }
  if (count) *count = (int)n;
  rc = MDI_OK;
done:
  if (t >= 0) H5Tclose(t);
  if (s >= 0) H5Sclose(s);
  H5Aclose(a);
  return rc;
}

int mdi_h5_attr_int(struct mdi_h5 *f, const char *obj, const char *attr, int64_t *out) {
  return read_attr_numeric(f->file, f->path, obj, attr, H5T_NATIVE_INT64, H5T_INTEGER, out, NULL, 1);
}

int mdi_h5_attr_float(struct mdi_h5 *f, const char *obj, const char *attr, double *out) {
  return read_attr_numeric(f->file, f->path, obj, attr, H5T_NATIVE_DOUBLE, H5T_FLOAT, out, NULL, 1);
}

int mdi_h5_attr_int_array(struct mdi_h5 *f, const char *obj, const char *attr, int64_t *out, int *n) {
  return read_attr_numeric(f->file, f->path, obj, attr, H5T_NATIVE_INT64, H5T_INTEGER, out, n, *n);
}

int mdi_h5_attr_float_array(struct mdi_h5 *f, const char *obj, const char *attr, double *out, int *n) {
  return read_attr_numeric(f->file, f->path, obj, attr, H5T_NATIVE_DOUBLE, H5T_FLOAT, out, n, *n);
}

static int read_string_attr(hid_t file, const char *path, const char *obj, const char *attr,
                            char *buf, size_t size) {
  hid_t a = open_attr(file, path, obj, attr);
  if (a < 0) return MDI_ERR;
  int rc = MDI_ERR;
  hid_t t = H5Aget_type(a);
  if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0) {
    mdi_fail("%s: attribute %s:%s is not a fixed-length string", path, obj, attr);
    goto done;
  }
  size_t len = H5Tget_size(t);
  if (len == 0 || len >= size) {
    mdi_fail("%s: attribute %s:%s is too long (%zu bytes, at most %zu)", path, obj, attr, len, size - 1);
    goto done;
  }
  hid_t mt = H5Tcopy(H5T_C_S1);
  if (mt < 0 || H5Tset_size(mt, len + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
      H5Aread(a, mt, buf) < 0) {
    if (mt >= 0) H5Tclose(mt);
    mdi_fail("%s: attribute %s:%s cannot be read", path, obj, attr);
    goto done;
  }
  H5Tclose(mt);
  buf[len] = '\0';
  rc = MDI_OK;
done:
  if (t >= 0) H5Tclose(t);
  H5Aclose(a);
  return rc;
}

static int read_root_string(hid_t file, const char *attr, char *buf, size_t size, const char *path) {
  return read_string_attr(file, path, "/", attr, buf, size);
}

int mdi_h5_attr_string(struct mdi_h5 *f, const char *obj, const char *attr, char *buf, size_t size) {
  return read_string_attr(f->file, f->path, obj, attr, buf, size);
}

/* ---- listing ---------------------------------------------------------- */

struct list_ctx {
  struct mdi_h5 *f;
  int (*fn)(const struct mdi_h5_dataset_info *d, void *ctx);
  void *ctx;
  int rc; /* fn's non-zero return, or MDI_ERR */
};

/* H5Lvisit callback: report hard links that lead to datasets. */
static herr_t list_visit(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  struct list_ctx *c = data;
  if (info->type != H5L_TYPE_HARD) return 0;
  hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) {
    c->rc = mdi_fail("%s: /%s cannot be opened", c->f->path, name);
    return 1;
  }
  if (H5Iget_type(obj) != H5I_DATASET) {
    H5Oclose(obj);
    return 0;
  }
  struct mdi_h5_dataset_info d;
  memset(&d, 0, sizeof d);
  d.name = name;
  hid_t dt = H5Dget_type(obj);
  if (dt < 0 || dataset_shape(c->f, obj, name, &d.ndims, d.dims) != MDI_OK) {
    if (dt >= 0) H5Tclose(dt);
    H5Oclose(obj);
    c->rc = mdi_fail("%s: /%s: cannot read its dtype or shape", c->f->path, name);
    return 1;
  }
  describe_type(dt, d.dtype, sizeof d.dtype);
  d.elem_size = H5Tget_size(dt);
  H5Tclose(dt);
  H5Oclose(obj);
  c->rc = c->fn(&d, c->ctx);
  return c->rc != 0;
}

int mdi_h5_list(struct mdi_h5 *f, int (*fn)(const struct mdi_h5_dataset_info *d, void *ctx),
                void *ctx) {
  struct list_ctx c = {f, fn, ctx, 0};
  herr_t rc = H5Lvisit(f->file, H5_INDEX_NAME, H5_ITER_INC, list_visit, &c);
  if (c.rc != 0) return c.rc;
  if (rc < 0) return mdi_fail("%s: cannot list the datasets (file damaged?)", f->path);
  return MDI_OK;
}

/* ---- writing ---------------------------------------------------------- */

static int wfail(struct mdi_h5w *w, const char *what, const char *name) {
  w->failed = 1;
  return mdi_fail("%s: cannot write %s %s", w->path, what, name);
}

int mdi_h5w_create(struct mdi_h5w **out, const char *path) {
  silence_hdf5();
  *out = NULL;
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) return mdi_fail("%s: cannot create HDF5 file (directory missing or not writable?)", path);
  struct mdi_h5w *w = mdi_xcalloc(1, sizeof *w, "model writer");
  w->file = file;
  w->path = mdi_xstrdup(path);
  if (mdi_h5w_attr_string(w, "/", "format", MDI_FORMAT_NAME) != MDI_OK ||
      mdi_h5w_attr_int(w, "/", "format_version", 1 /* 2 once write_hparams sees an option */) != MDI_OK) {
    mdi_h5w_abandon(w);
    return MDI_ERR;
  }
  *out = w;
  return MDI_OK;
}

int mdi_h5w_close(struct mdi_h5w *w) {
  if (!w) return MDI_OK;
  int failed = w->failed;
  if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 || H5Fclose(w->file) < 0) {
    failed = 1;
    mdi_fail("%s: flushing the file failed (disk full?)", w->path);
  }
  if (failed) remove(w->path);
  free(w->path);
  free(w);
  return failed ? MDI_ERR : MDI_OK;
}

void mdi_h5w_abandon(struct mdi_h5w *w) {
  if (!w) return;
  H5Fclose(w->file);
  remove(w->path);
  free(w->path);
  free(w);
}

/* Create every missing group on the way to `name` (exclusive of the last
 * component unless `include_last`). */
static int make_groups(struct mdi_h5w *w, const char *name, int include_last) {
  char buf[512];
  if (snprintf(buf, sizeof buf, "%s", name) >= (int)sizeof buf) return wfail(w, "path", name);
  size_t n = strlen(buf);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && !(include_last && buf[i] == '\0')) continue;
    char saved = buf[i];
    buf[i] = '\0';
    htri_t e = H5Lexists(w->file, buf, H5P_DEFAULT);
    if (e < 0) return wfail(w, "group", buf);
    if (e == 0) {
      hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
      if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0) {
        if (gcpl >= 0) H5Pclose(gcpl);
        return wfail(w, "group", buf);
      }
      hid_t g = H5Gcreate2(w->file, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT);
      H5Pclose(gcpl);
      if (g < 0) return wfail(w, "group", buf);
      H5Gclose(g);
    }
    buf[i] = saved;
  }
  return MDI_OK;
}


static hid_t create_dataset(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int ndims,
                            const int64_t *dims) {
  if (make_groups(w, name, 0) != MDI_OK) return -1;
  hsize_t h[MDI_MAX_DIMS];
  MDI_ASSERT(ndims >= 1 && ndims <= MDI_MAX_DIMS);
  for (int i = 0; i < ndims; i++) h[i] = (hsize_t)dims[i];
  hid_t space = H5Screate_simple(ndims, h, NULL);
  if (space < 0) {
    wfail(w, "dataspace for", name);
    return -1;
  }
  /* no modification times: the same model gives the same bytes */
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Sclose(space);
    wfail(w, "dataset", name);
    return -1;
  }
  hid_t ds = H5Dcreate2(w->file, name, file_type(type), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  if (ds < 0) wfail(w, "dataset", name);
  return ds;
}

int mdi_h5w_write(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int ndims,
                  const int64_t *dims, const void *data) {
  hid_t ds = create_dataset(w, name, type, ndims, dims);
  if (ds < 0) return MDI_ERR;
  int64_t count = 1;
  for (int i = 0; i < ndims; i++) count *= dims[i];
  herr_t rc = count == 0 ? 0 : H5Dwrite(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dclose(ds);
  if (rc < 0) return wfail(w, "dataset", name);
  return MDI_OK;
}

int mdi_h5w_create_2d(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int64_t rows,
                      int64_t cols) {
  const int64_t dims[2] = {rows, cols};
  hid_t ds = create_dataset(w, name, type, 2, dims);
  if (ds < 0) return MDI_ERR;
  H5Dclose(ds);
  return MDI_OK;
}

int mdi_h5w_write_rows(struct mdi_h5w *w, const char *name, enum mdi_dtype type, int64_t row0,
                       int64_t nrows, int64_t cols, const void *data) {
  if (nrows == 0) return MDI_OK;
  hid_t ds = H5Dopen2(w->file, name, H5P_DEFAULT);
  if (ds < 0) return wfail(w, "dataset", name);
  herr_t rc = rows_io(ds, mem_type(type), row0, nrows, cols, (void *)data, 1);
  H5Dclose(ds);
  if (rc < 0) return wfail(w, "rows of", name);
  return MDI_OK;
}

static int write_attr(struct mdi_h5w *w, const char *obj, const char *attr, hid_t ftype,
                      hid_t mtype, int n, const void *value) {
  if (strcmp(obj, "/") != 0 && make_groups(w, obj, 1) != MDI_OK) return MDI_ERR;
  hsize_t dim = (hsize_t)n;
  hid_t space = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
  if (space < 0) return wfail(w, "attribute", attr);
  if (H5Aexists_by_name(w->file, obj, attr, H5P_DEFAULT) > 0) H5Adelete_by_name(w->file, obj, attr, H5P_DEFAULT);
  hid_t a = H5Acreate_by_name(w->file, obj, attr, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  if (a < 0) return wfail(w, "attribute", attr);
  herr_t rc = H5Awrite(a, mtype, value);
  H5Aclose(a);
  if (rc < 0) return wfail(w, "attribute", attr);
  return MDI_OK;
}

int mdi_h5w_create_blocks(struct mdi_h5w *w, const char *name, enum mdi_matrix_type t, int64_t rows, int64_t cols) {
  MDI_ASSERT(t != MDI_MATRIX_F32);
  if (mdi_h5w_create_2d(w, name, MDI_U8, rows, (int64_t)mdi_quant_row_bytes(t, cols)) != MDI_OK) return MDI_ERR;
  return mdi_h5w_attr_string(w, name, MDI_QUANT_TYPE_ATTR, mdi_quant_format(t)->name);
}

int mdi_h5w_attr_int(struct mdi_h5w *w, const char *obj, const char *attr, int64_t value) {
  return write_attr(w, obj, attr, H5T_STD_I64LE, H5T_NATIVE_INT64, -1, &value);
}

int mdi_h5w_attr_float(struct mdi_h5w *w, const char *obj, const char *attr, double value) {
  return write_attr(w, obj, attr, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, -1, &value);
}

int mdi_h5w_attr_int_array(struct mdi_h5w *w, const char *obj, const char *attr,
                           const int64_t *values, int n) {
  MDI_ASSERT(n >= 1);
  return write_attr(w, obj, attr, H5T_STD_I64LE, H5T_NATIVE_INT64, n, values);
}

int mdi_h5w_attr_float_array(struct mdi_h5w *w, const char *obj, const char *attr, const double *values,
                             int n) {
  MDI_ASSERT(n >= 1);
  return write_attr(w, obj, attr, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, values);
}

int mdi_h5w_attr_string(struct mdi_h5w *w, const char *obj, const char *attr, const char *value) {
  size_t len = strlen(value);
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0 || H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0) {
    if (t >= 0) H5Tclose(t);
    return wfail(w, "attribute", attr);
  }
  int rc = write_attr(w, obj, attr, t, t, -1, value);
  H5Tclose(t);
  return rc;
}

void mdi_weights_layer_name(char *buf, int layer, const char *tensor) {
  snprintf(buf, MDI_NAME_MAX, "layers/%03d/%s", layer, tensor);
}

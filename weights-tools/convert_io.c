/* Checked reads of untrusted input files and chunked tensor copies into the
 * HDF5 model (see convert.h). */
#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/weights.h"

/* Every input format here is little-endian and the tensors are copied as
 * they are: a big-endian host would need byte swapping that nothing tests. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mdi_convert reads little-endian files and supports little-endian hosts only"
#endif

int convert_input_open(struct convert_input *in, const char *path) {
  memset(in, 0, sizeof *in);
  in->path = path;
  FILE *f = fopen(path, "rb");
  if (!f) return mdi_fail("%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    return mdi_fail("%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    return mdi_fail("%s: not a regular file", path);
  }
  in->f = f;
  in->size = (int64_t)st.st_size;
  return MDI_OK;
}

void convert_input_close(struct convert_input *in) {
  if (in->f) fclose(in->f);
  in->f = NULL;
}

int convert_input_read_at(struct convert_input *in, int64_t off, void *buf, size_t n,
                          const char *what) {
  if (off < 0 || (uint64_t)n > (uint64_t)in->size || off > in->size - (int64_t)n)
    return mdi_fail("%s: %s (%zu bytes at offset %lld) lies beyond the end of the file (%lld bytes)",
                    in->path, what, n, (long long)off, (long long)in->size);
  if (n == 0) return MDI_OK;
  /* Seek every time: callers mix offsets freely, and glibc keeps its buffer
   * when the target lies inside it, so sequential reads stay cheap. */
  if (fseeko(in->f, (off_t)off, SEEK_SET) != 0)
    return mdi_fail("%s: cannot seek to offset %lld for %s: %s", in->path, (long long)off, what,
                    strerror(errno));
  size_t got = fread(buf, 1, n, in->f);
  if (got != n) {
    if (ferror(in->f))
      return mdi_fail("%s: reading %s at offset %lld failed: %s", in->path, what, (long long)off,
                      strerror(errno));
    return mdi_fail("%s: %s at offset %lld: file ended after %zu of %zu bytes (changed while "
                    "reading?)", in->path, what, (long long)off, got, n);
  }
  return MDI_OK;
}

int convert_input_read(struct convert_input *in, void *buf, size_t n, const char *what) {
  if (convert_input_read_at(in, in->pos, buf, n, what) != MDI_OK) return MDI_ERR;
  in->pos += (int64_t)n;
  return MDI_OK;
}

int convert_input_skip(struct convert_input *in, int64_t n, const char *what) {
  if (n < 0 || n > convert_input_left(in))
    return mdi_fail("%s: %s (%lld bytes at offset %lld) lies beyond the end of the file (%lld bytes)",
                    in->path, what, (long long)n, (long long)in->pos, (long long)in->size);
  in->pos += n;
  return MDI_OK;
}

size_t convert_src_size(enum convert_src_type type) {
  return type == CONVERT_SRC_F16 || type == CONVERT_SRC_BF16 ? 2 : 4;
}

/* bfloat16 bits to float: exact, the upper half of a float32. */
static float bf16_to_f32(uint16_t h) {
  const uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* Read `count` elements at `off` as float32 into out (scratch holds the
 * 16-bit source values when converting). */
static int read_floats(struct convert_input *in, int64_t off, enum convert_src_type type,
                       size_t count, float *out, uint16_t *scratch, const char *what) {
  if (type == CONVERT_SRC_F32) return convert_input_read_at(in, off, out, count * 4, what);
  if (convert_input_read_at(in, off, scratch, count * 2, what) != MDI_OK) return MDI_ERR;
  for (size_t i = 0; i < count; i++)
    out[i] = type == CONVERT_SRC_F16 ? mdi_f16_to_f32(scratch[i]) : bf16_to_f32(scratch[i]);
  return MDI_OK;
}

/* A little-endian float tensor stored contiguously at byte offset `off` into
 * the float32 dataset `name` of shape dims[0..ndims) (ndims 1 or 2). */
static int copy_floats(struct convert_input *in, int64_t off, enum convert_src_type type, struct mdi_h5w *w,
                       const char *name, int ndims, const int64_t *dims, const char *what) {
  MDI_ASSERT(ndims == 1 || ndims == 2);
  int64_t rows = ndims == 2 ? dims[0] : 1, cols = ndims == 2 ? dims[1] : dims[0];
  MDI_ASSERT(rows > 0 && cols > 0);
  size_t esize = convert_src_size(type);
  /* rows per chunk: at least one row, at most CONVERT_CHUNK_BYTES of output */
  int64_t chunk_rows = (int64_t)(CONVERT_CHUNK_BYTES / ((size_t)cols * sizeof(float)));
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  size_t chunk_count = (size_t)chunk_rows * (size_t)cols;
  float *buf = mdi_malloc(chunk_count * sizeof(float), name);
  uint16_t *scratch = type != CONVERT_SRC_F32 ? mdi_malloc(chunk_count * 2, name) : NULL;
  int rc = MDI_ERR;
  if (!buf || (type != CONVERT_SRC_F32 && !scratch)) goto done;
  if (chunk_rows == rows) { /* the whole tensor in one piece */
    if (read_floats(in, off, type, chunk_count, buf, scratch, what) != MDI_OK ||
        mdi_h5w_write(w, name, MDI_F32, ndims, dims, buf) != MDI_OK)
      goto done;
  } else {
    if (mdi_h5w_create_2d(w, name, MDI_F32, rows, cols) != MDI_OK) goto done;
    for (int64_t r = 0; r < rows; r += chunk_rows) {
      int64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
      int64_t at = off + r * cols * (int64_t)esize;
      if (read_floats(in, at, type, (size_t)(n * cols), buf, scratch, what) != MDI_OK ||
          mdi_h5w_write_rows(w, name, MDI_F32, r, n, cols, buf) != MDI_OK)
        goto done;
    }
  }
  rc = MDI_OK;
done:
  free(scratch);
  free(buf);
  return rc;
}

/* Rows [r, r + n) of a row-major tensor of `row_bytes`-byte rows at `off`
 * into buf: one read, or row by row from their rotate-half sources when
 * head_size > 0 (convert_rope_source_row). */
static int read_rows(struct convert_input *in, int64_t off, size_t row_bytes, int64_t r, int64_t n, int head_size,
                     int rope_dim, void *buf, const char *what) {
  if (head_size <= 0) return convert_input_read_at(in, off + r * (int64_t)row_bytes, buf, (size_t)n * row_bytes, what);
  for (int64_t k = 0; k < n; k++) {
    const int64_t from = convert_rope_source_row(r + k, head_size, rope_dim);
    if (convert_input_read_at(in, off + from * (int64_t)row_bytes, (uint8_t *)buf + (size_t)k * row_bytes, row_bytes,
                              what) != MDI_OK)
      return MDI_ERR;
  }
  return MDI_OK;
}

/* A matrix of blocks of type t, rows x cols weights at byte offset `off`,
 * its rows permuted when head_size > 0. */
static int copy_blocks(struct convert_input *in, int64_t off, enum mdi_matrix_type t, struct mdi_h5w *w,
                       const char *name, int64_t rows, int64_t cols, int head_size, int rope_dim, const char *what) {
  const struct mdi_quant_format *f = mdi_quant_format(t);
  MDI_ASSERT(t != MDI_MATRIX_F32 && rows > 0 && cols > 0 && cols % f->block == 0);
  const size_t row_bytes = mdi_quant_row_bytes(t, cols);
  int64_t chunk_rows = (int64_t)(CONVERT_CHUNK_BYTES / row_bytes);
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  uint8_t *buf = mdi_malloc((size_t)chunk_rows * row_bytes, name);
  if (!buf || mdi_h5w_create_blocks(w, name, t, rows, cols) != MDI_OK) {
    free(buf);
    return MDI_ERR;
  }
  int rc = MDI_OK;
  for (int64_t r = 0; r < rows && rc == MDI_OK; r += chunk_rows) {
    const int64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
    rc = read_rows(in, off, row_bytes, r, n, head_size, rope_dim, buf, what);
    for (int64_t i = 0; i < n && rc == MDI_OK; i++) {
      const int bad = mdi_quant_find_bad_block(t, buf + (size_t)i * row_bytes, (int)cols);
      if (bad >= 0)
        rc = mdi_fail("%s: %s, row %lld, block %d: a %s scale is NaN or infinite (corrupt blocks)", in->path, what,
                      (long long)(r + i), bad, f->name);
    }
    if (rc == MDI_OK) rc = mdi_h5w_write_rows(w, name, MDI_U8, r, n, (int64_t)row_bytes, buf);
  }
  free(buf);
  return rc;
}

/* A float tensor whose rows (a vector: its elements) are in rotate-half
 * order: read row by row from their sources, widened to float32. */
static int copy_permuted_floats(struct convert_input *in, const struct convert_tensor_src *src, struct mdi_h5w *w,
                                const char *name, int ndims, const int64_t *dims, const char *what) {
  const int64_t rows = dims[0], cols = ndims == 2 ? dims[1] : 1;
  MDI_ASSERT(rows > 0 && cols > 0 && rows % src->rope_head_size == 0);
  const size_t esize = convert_src_size(src->type);
  int64_t chunk_rows = (int64_t)(CONVERT_CHUNK_BYTES / ((size_t)cols * sizeof(float)));
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  float *buf = mdi_malloc((size_t)chunk_rows * (size_t)cols * sizeof(float), name); /* [chunk_rows][cols] */
  uint16_t *scratch = src->type != CONVERT_SRC_F32 ? mdi_malloc((size_t)cols * 2, name) : NULL;
  int rc = buf && (src->type == CONVERT_SRC_F32 || scratch) ? MDI_OK : MDI_ERR;
  if (rc == MDI_OK && chunk_rows < rows) rc = mdi_h5w_create_2d(w, name, MDI_F32, rows, cols);
  for (int64_t r = 0; r < rows && rc == MDI_OK; r += chunk_rows) {
    const int64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
    for (int64_t k = 0; k < n && rc == MDI_OK; k++) {
      const int64_t from = convert_rope_source_row(r + k, src->rope_head_size, src->rope_dim);
      rc = read_floats(in, src->off + from * cols * (int64_t)esize, src->type, (size_t)cols, buf + k * cols, scratch,
                       what);
    }
    if (rc == MDI_OK)
      rc = chunk_rows == rows ? mdi_h5w_write(w, name, MDI_F32, ndims, dims, buf)
                              : mdi_h5w_write_rows(w, name, MDI_F32, r, n, cols, buf);
  }
  free(scratch);
  free(buf);
  return rc;
}

int64_t convert_src_bytes(const struct convert_tensor_src *src, int64_t rows, int64_t cols) {
  if (src->type == CONVERT_SRC_BLOCKS) return rows * (int64_t)mdi_quant_row_bytes(src->qtype, cols);
  return rows * cols * (int64_t)convert_src_size(src->type);
}

/* A vector of blocks (llama.cpp quantizes matrices only; a file may still
 * hold one) becomes float32. */
static int copy_dequantized(struct convert_input *in, const struct convert_tensor_src *src, struct mdi_h5w *w,
                            const char *name, const int64_t *dims, const char *what) {
  const size_t bytes = mdi_quant_row_bytes(src->qtype, dims[0]);
  uint8_t *blocks = mdi_malloc(bytes, name);
  float *values = mdi_malloc((size_t)dims[0] * sizeof(float), name);
  int rc = blocks && values ? convert_input_read_at(in, src->off, blocks, bytes, what) : MDI_ERR;
  if (rc == MDI_OK && mdi_quant_find_bad_block(src->qtype, blocks, (int)dims[0]) >= 0)
    rc = mdi_fail("%s: %s: a %s scale is NaN or infinite (corrupt blocks)", in->path, what,
                  mdi_quant_format(src->qtype)->name);
  if (rc == MDI_OK) {
    mdi_quant_dequantize_row(src->qtype, blocks, values, (int)dims[0]);
    rc = mdi_h5w_write(w, name, MDI_F32, 1, dims, values);
  }
  free(blocks);
  free(values);
  return rc;
}

int convert_write_src(struct convert_input *in, const struct convert_tensor_src *src, struct mdi_h5w *w,
                      const char *name, int ndims, const int64_t *dims) {
  const int permuted = src->rope_head_size > 0;
  char what[2 * MDI_NAME_MAX + 32]; /* how messages name the tensor */
  if (src->name) snprintf(what, sizeof what, "tensor %s (for /%s)", src->name, name);
  else snprintf(what, sizeof what, "tensor for /%s", name);
  if (src->type != CONVERT_SRC_BLOCKS)
    return permuted ? copy_permuted_floats(in, src, w, name, ndims, dims, what)
                    : copy_floats(in, src->off, src->type, w, name, ndims, dims, what);
  if (ndims == 1) {
    if (permuted) /* llama.cpp never quantizes vectors; a norm or bias of blocks would need its own order */
      return mdi_fail("%s: %s: a quantized vector in rotate-half order is not supported", in->path, what);
    return copy_dequantized(in, src, w, name, dims, what);
  }
  return copy_blocks(in, src->off, src->qtype, w, name, dims[0], dims[1], src->rope_head_size, src->rope_dim, what);
}

int convert_same_bytes(struct convert_input *in, int64_t a, int64_t b, int64_t bytes,
                       const char *what, int *same) {
  size_t chunk = CONVERT_CHUNK_BYTES / 2;
  unsigned char *pa = mdi_malloc(chunk, what), *pb = mdi_malloc(chunk, what);
  int rc = MDI_ERR;
  if (!pa || !pb) goto done;
  *same = 1;
  for (int64_t pos = 0; pos < bytes && *same; pos += (int64_t)chunk) {
    size_t n = bytes - pos < (int64_t)chunk ? (size_t)(bytes - pos) : chunk;
    if (convert_input_read_at(in, a + pos, pa, n, what) != MDI_OK ||
        convert_input_read_at(in, b + pos, pb, n, what) != MDI_OK)
      goto done;
    *same = memcmp(pa, pb, n) == 0;
  }
  rc = MDI_OK;
done:
  free(pa);
  free(pb);
  return rc;
}

int convert_read_tensor_rows(struct mdi_h5 *f, const struct convert_tensor *t, convert_rows_fn fn,
                             void *ctx) {
  const int64_t rows = t->ndims == 2 ? t->dims[0] : 1, cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  int64_t chunk_rows = (int64_t)(CONVERT_CHUNK_BYTES / ((size_t)cols * sizeof(float)));
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  float *buf = mdi_malloc((size_t)chunk_rows * (size_t)cols * sizeof(float), t->name); /* [chunk_rows][cols] */
  if (!buf) return MDI_ERR;
  int rc = MDI_OK;
  if (t->ndims == 1) {
    rc = mdi_h5_read(f, t->name, MDI_F32, 1, t->dims, buf);
    if (rc == MDI_OK) rc = fn(ctx, t, buf, 0, 1);
  } else {
    for (int64_t r = 0; r < rows && rc == MDI_OK; r += chunk_rows) {
      int64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
      rc = mdi_h5_read_rows(f, t->name, MDI_F32, rows, cols, r, n, buf);
      if (rc == MDI_OK) rc = fn(ctx, t, buf, r, n);
    }
  }
  free(buf);
  return rc;
}

size_t convert_dtype_size(enum mdi_dtype type) {
  switch (type) {
    case MDI_F32: return 4;
    case MDI_I32: return 4;
    case MDI_I64: return 8;
    case MDI_U8: return 1;
    case MDI_I8: return 1;
  }
  MDI_PANIC("unknown dtype %d", (int)type);
}

int convert_read_dataset_rows(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int64_t rows,
                              int64_t cols, convert_raw_rows_fn fn, void *ctx) {
  MDI_ASSERT(rows > 0 && cols > 0);
  const size_t esize = convert_dtype_size(type);
  int64_t chunk_rows = (int64_t)(CONVERT_CHUNK_BYTES / ((size_t)cols * esize));
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  void *buf = mdi_malloc((size_t)chunk_rows * (size_t)cols * esize, name); /* [chunk_rows][cols] */
  if (!buf) return MDI_ERR;
  int rc = MDI_OK;
  for (int64_t r = 0; r < rows && rc == MDI_OK; r += chunk_rows) {
    int64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
    rc = mdi_h5_read_rows(f, name, type, rows, cols, r, n, buf); /* checks dtype and shape */
    if (rc == MDI_OK) rc = fn(ctx, name, type, buf, r, n, cols);
  }
  free(buf);
  return rc;
}

int convert_output_write(struct convert_output *o, const void *data, size_t n, const char *what) {
  if (n && fwrite(data, 1, n, o->f) != n)
    return mdi_fail("%s: writing %s failed: %s", o->path, what, strerror(errno));
  return MDI_OK;
}

int convert_output_open(struct convert_output *o, const char *path) {
  o->path = path;
  o->f = fopen(path, "wb");
  if (!o->f) return mdi_fail("%s: cannot create: %s", path, strerror(errno));
  return MDI_OK;
}

int convert_output_close(struct convert_output *o, int failed) {
  if (!o->f) return failed ? MDI_ERR : MDI_OK;
  int ok = !failed;
  if (ok && (fflush(o->f) != 0 || ferror(o->f))) {
    mdi_fail("%s: writing failed: %s", o->path, strerror(errno));
    ok = 0;
  }
  if (fclose(o->f) != 0 && ok) {
    mdi_fail("%s: closing failed: %s", o->path, strerror(errno));
    ok = 0;
  }
  o->f = NULL;
  if (!ok) remove(o->path);
  return ok ? MDI_OK : MDI_ERR;
}

/* JSON read (a cJSON tree behind opaque values) and written (see json.h);
 * the only file that includes cJSON.h. */
#include "mdi/base/json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

/* ---- reading a JSON document as a tree (json.h) ------------------------- */

/* A document is its cJSON tree; a value is a cJSON node seen through the
 * opaque struct mdi_json, so no other file sees cJSON's types. */
struct mdi_json_doc {
  cJSON *root;
};

static const cJSON *node(const struct mdi_json *v) { return (const cJSON *)v; }
static const struct mdi_json *value(const cJSON *c) { return (const struct mdi_json *)c; }

/* Offset of the first "\u0000" escape in text[0..len), or len. */
static size_t nul_escape(const char *text, size_t len) {
  for (size_t i = 0; i + 6 <= len; i++)
    if (text[i] == '\\' && (text[i + 1] == 'u' || text[i + 1] == 'U') && memcmp(text + i + 2, "0000", 4) == 0)
      return i;
  return len;
}

/* Line (from 1) of byte offset off in text. */
static long line_of(const char *text, size_t off) {
  long line = 1;
  for (size_t i = 0; i < off; i++) line += text[i] == '\n';
  return line;
}

int mdi_json_parse(struct mdi_json_doc **out, const char *text, size_t len, const char *source) {
  *out = NULL;
  const size_t bad = nul_escape(text, len);
  if (bad < len)
    return mdi_fail("%s:%ld: the string escape \\u0000 (byte offset %zu) is not supported", source,
                    line_of(text, bad), bad);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root) {
    /* cJSON leaves end at the point where parsing stopped (or NULL when out of memory) */
    const size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
    return mdi_fail("%s:%ld: not valid JSON (parsing stopped at byte offset %zu of %zu)", source,
                    line_of(text, at), at, len);
  }
  /* only white space may follow the value */
  for (const char *p = end; p && p < text + len; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      const size_t at = (size_t)(p - text);
      cJSON_Delete(root);
      return mdi_fail("%s:%ld: unexpected text after the JSON value (byte offset %zu)", source,
                      line_of(text, at), at);
    }
  struct mdi_json_doc *d = mdi_malloc(sizeof *d, "JSON document");
  if (!d) {
    cJSON_Delete(root);
    return MDI_ERR;
  }
  d->root = root;
  *out = d;
  return MDI_OK;
}

int mdi_json_parse_file(struct mdi_json_doc **out, const char *path, size_t max_bytes) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return mdi_fail("%s: cannot open: %s", path, strerror(errno));
  int rc = MDI_ERR;
  char *text = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    mdi_fail("%s: cannot determine the file size: %s", path, strerror(errno));
  } else if ((unsigned long)size > max_bytes) {
    mdi_fail("%s: the file is %ld bytes, more than the %zu accepted for this JSON file", path, size, max_bytes);
  } else if ((text = mdi_malloc((size_t)size + 1, path)) != NULL) {
    if (fread(text, 1, (size_t)size, f) != (size_t)size)
      mdi_fail("%s: reading failed: %s", path, ferror(f) ? strerror(errno) : "the file ended early");
    else
      rc = mdi_json_parse(out, text, (size_t)size, path);
  }
  free(text);
  fclose(f);
  return rc;
}

void mdi_json_free(struct mdi_json_doc *doc) {
  if (!doc) return;
  cJSON_Delete(doc->root);
  free(doc);
}

const struct mdi_json *mdi_json_root(const struct mdi_json_doc *doc) { return value(doc->root); }

enum mdi_json_type mdi_json_type(const struct mdi_json *v) {
  const cJSON *c = node(v);
  if (cJSON_IsBool(c)) return MDI_JSON_BOOL;
  if (cJSON_IsNumber(c)) return MDI_JSON_NUMBER;
  if (cJSON_IsString(c)) return MDI_JSON_STRING;
  if (cJSON_IsArray(c)) return MDI_JSON_ARRAY;
  if (cJSON_IsObject(c)) return MDI_JSON_OBJECT;
  return MDI_JSON_NULL;
}

const char *mdi_json_type_name(const struct mdi_json *v) {
  static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
  return names[mdi_json_type(v)];
}

const struct mdi_json *mdi_json_get(const struct mdi_json *v, const char *key) {
  if (!v || !cJSON_IsObject(node(v))) return NULL;
  return value(cJSON_GetObjectItemCaseSensitive(node(v), key));
}

const struct mdi_json *mdi_json_first(const struct mdi_json *v) {
  const cJSON *c = node(v);
  return c && (cJSON_IsArray(c) || cJSON_IsObject(c)) ? value(c->child) : NULL;
}

const struct mdi_json *mdi_json_next(const struct mdi_json *v) { return v ? value(node(v)->next) : NULL; }

int mdi_json_count(const struct mdi_json *v) {
  int n = 0;
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e)) n++;
  return n;
}

const char *mdi_json_key(const struct mdi_json *member) { return member ? node(member)->string : NULL; }

const char *mdi_json_string(const struct mdi_json *v) {
  return v && cJSON_IsString(node(v)) ? node(v)->valuestring : NULL;
}

double mdi_json_number(const struct mdi_json *v) {
  MDI_ASSERT(v && cJSON_IsNumber(node(v)));
  return node(v)->valuedouble;
}

int mdi_json_bool(const struct mdi_json *v) {
  MDI_ASSERT(v && cJSON_IsBool(node(v)));
  return cJSON_IsTrue(node(v));
}

int mdi_json_int(const struct mdi_json *v, int64_t lo, int64_t hi, int64_t *out) {
  if (!v || !cJSON_IsNumber(node(v))) return 0;
  const double d = node(v)->valuedouble;
  /* doubles hold every integer up to 2^53 exactly; beyond, refuse */
  if (!(d == floor(d)) || fabs(d) > 9007199254740992.0 || d < (double)lo || d > (double)hi) return 0;
  *out = (int64_t)d;
  return 1;
}

/* ---- writing (json.h) ---------------------------------------------------- */

static void put(struct mdi_json_writer *w, const char *s, size_t n) {
  if (w->len + n + 1 > w->cap) {
    size_t want = w->cap ? 2 * w->cap : 256;
    while (want < w->len + n + 1) want *= 2;
    w->buf = mdi_xrealloc(w->buf, want, "JSON text");
    w->cap = want;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

static void puts_(struct mdi_json_writer *w, const char *s) { put(w, s, strlen(s)); }

static void newline(struct mdi_json_writer *w, int depth) {
  put(w, "\n", 1);
  for (int i = 0; i < depth; i++) put(w, "  ", 2);
}

static void escaped(struct mdi_json_writer *w, const char *s, size_t n) {
  char *clean = mdi_xmalloc(3 * n + 1, "JSON string");
  n = mdi_utf8_sanitize(s, n, clean);
  put(w, "\"", 1);
  size_t run = 0; /* bytes copied as they are, written in one piece */
  for (size_t i = 0; i < n; i++) {
    const unsigned char c = (unsigned char)clean[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    put(w, clean + run, i - run);
    run = i + 1;
    char esc[8];
    switch (c) {
    case '"': puts_(w, "\\\""); break;
    case '\\': puts_(w, "\\\\"); break;
    case '\n': puts_(w, "\\n"); break;
    case '\r': puts_(w, "\\r"); break;
    case '\t': puts_(w, "\\t"); break;
    case '\b': puts_(w, "\\b"); break;
    case '\f': puts_(w, "\\f"); break;
    default:
      snprintf(esc, sizeof esc, "\\u%04x", c);
      puts_(w, esc);
    }
  }
  put(w, clean + run, n - run);
  put(w, "\"", 1);
  free(clean);
}

/* Separator, line break and key before a value; `container`: the value
 * opens an object or array (in pretty arrays those go on their own line). */
static void before_value(struct mdi_json_writer *w, const char *key, int container) {
  if (w->depth == 0) {
    MDI_ASSERT(!key && w->len == 0);
    return;
  }
  const int d = w->depth - 1, in_object = w->object[d];
  MDI_ASSERT(in_object == (key != NULL));
  if (w->items[d]) put(w, ",", 1);
  if (w->pretty && (in_object || container)) newline(w, w->depth);
  if (container) w->items[d] = 2;
  else if (!w->items[d]) w->items[d] = 1;
  if (key) {
    escaped(w, key, strlen(key));
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
  }
}

void mdi_jw_init(struct mdi_json_writer *w, int pretty) {
  memset(w, 0, sizeof *w);
  w->pretty = pretty;
}

void mdi_jw_free(struct mdi_json_writer *w) {
  free(w->buf);
  memset(w, 0, sizeof *w);
}

const char *mdi_jw_text(const struct mdi_json_writer *w, size_t *len) {
  MDI_ASSERT(w->depth == 0);
  if (len) *len = w->len;
  return w->buf ? w->buf : "";
}

static void open_container(struct mdi_json_writer *w, const char *key, int object) {
  before_value(w, key, 1);
  MDI_ASSERT(w->depth < (int)sizeof w->items);
  w->items[w->depth] = 0;
  w->object[w->depth] = (unsigned char)object;
  w->depth++;
  put(w, object ? "{" : "[", 1);
}

static void close_container(struct mdi_json_writer *w, int object) {
  MDI_ASSERT(w->depth > 0 && w->object[w->depth - 1] == object);
  w->depth--;
  const int items = w->items[w->depth];
  /* a pretty container closes on its own line when its values had lines */
  if (w->pretty && (object ? items != 0 : items == 2)) newline(w, w->depth);
  put(w, object ? "}" : "]", 1);
}

void mdi_jw_object_begin(struct mdi_json_writer *w, const char *key) { open_container(w, key, 1); }
void mdi_jw_object_end(struct mdi_json_writer *w) { close_container(w, 1); }
void mdi_jw_array_begin(struct mdi_json_writer *w, const char *key) { open_container(w, key, 0); }
void mdi_jw_array_end(struct mdi_json_writer *w) { close_container(w, 0); }

void mdi_jw_string(struct mdi_json_writer *w, const char *key, const char *s, size_t len) {
  before_value(w, key, 0);
  escaped(w, s, len);
}

void mdi_jw_cstring(struct mdi_json_writer *w, const char *key, const char *s) {
  mdi_jw_string(w, key, s, strlen(s));
}

void mdi_jw_int(struct mdi_json_writer *w, const char *key, int64_t v) {
  char num[32];
  before_value(w, key, 0);
  puts_(w, (snprintf(num, sizeof num, "%lld", (long long)v), num));
}

void mdi_jw_uint(struct mdi_json_writer *w, const char *key, uint64_t v) {
  char num[32];
  before_value(w, key, 0);
  puts_(w, (snprintf(num, sizeof num, "%llu", (unsigned long long)v), num));
}

void mdi_jw_double(struct mdi_json_writer *w, const char *key, double v) {
  char num[40];
  before_value(w, key, 0);
  if (!isfinite(v)) v = 0.0;
  /* the shortest of 15 or 17 digits that reads back as v */
  snprintf(num, sizeof num, "%.15g", v);
  if (strtod(num, NULL) != v) snprintf(num, sizeof num, "%.17g", v);
  puts_(w, num);
}

void mdi_jw_bool(struct mdi_json_writer *w, const char *key, int v) {
  before_value(w, key, 0);
  puts_(w, v ? "true" : "false");
}

void mdi_jw_null(struct mdi_json_writer *w, const char *key) {
  before_value(w, key, 0);
  puts_(w, "null");
}

void mdi_jw_int_array(struct mdi_json_writer *w, const char *key, const int *v, int n) {
  mdi_jw_array_begin(w, key);
  for (int i = 0; i < n; i++) mdi_jw_int(w, NULL, v[i]);
  mdi_jw_array_end(w);
}

void mdi_jw_value(struct mdi_json_writer *w, const char *key, const struct mdi_json *v) {
  switch (mdi_json_type(v)) {
    case MDI_JSON_NULL: mdi_jw_null(w, key); break;
    case MDI_JSON_BOOL: mdi_jw_bool(w, key, mdi_json_bool(v)); break;
    case MDI_JSON_STRING: mdi_jw_cstring(w, key, mdi_json_string(v)); break;
    case MDI_JSON_NUMBER: {
      int64_t i;
      if (mdi_json_int(v, -((int64_t)1 << 53), (int64_t)1 << 53, &i)) mdi_jw_int(w, key, i);
      else mdi_jw_double(w, key, mdi_json_number(v));
      break;
    }
    case MDI_JSON_ARRAY:
    case MDI_JSON_OBJECT: {
      const int object = mdi_json_type(v) == MDI_JSON_OBJECT;
      open_container(w, key, object);
      for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e))
        mdi_jw_value(w, object ? mdi_json_key(e) : NULL, e);
      close_container(w, object);
      break;
    }
  }
}

/* Fuzz harness: the strict JSON reader of src/base/json.c (every JSON file
 * and line the programs read goes through it).  Input: the text.
 *
 * Besides crashes: an accepted document written back with the JSON writer
 * parses again to the same tree (types, keys, strings of valid UTF-8,
 * integers exactly, other numbers to the same double). */
#include <string.h>

#include "fuzz_util.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/base/utf8.h"

static void write_value(struct mdi_json_writer *w, const char *key, const struct mdi_json *v) {
  int64_t i;
  uint64_t u;
  switch (mdi_json_type(v)) {
    case MDI_JSON_NULL: mdi_jw_null(w, key); return;
    case MDI_JSON_BOOL: mdi_jw_bool(w, key, mdi_json_bool(v)); return;
    case MDI_JSON_STRING: mdi_jw_string(w, key, mdi_json_string(v), mdi_json_string_len(v)); return;
    case MDI_JSON_NUMBER:
      if (mdi_json_int(v, INT64_MIN, INT64_MAX, &i)) mdi_jw_int(w, key, i);
      else if (mdi_json_uint(v, UINT64_MAX, &u)) mdi_jw_uint(w, key, u);
      else mdi_jw_double(w, key, mdi_json_number(v));
      return;
    case MDI_JSON_ARRAY:
    case MDI_JSON_OBJECT: {
      const int object = mdi_json_type(v) == MDI_JSON_OBJECT;
      if (object) mdi_jw_object_begin(w, key);
      else mdi_jw_array_begin(w, key);
      for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e))
        write_value(w, object ? mdi_json_key(e) : NULL, e);
      if (object) mdi_jw_object_end(w);
      else mdi_jw_array_end(w);
      return;
    }
  }
}

static void check_same(const struct mdi_json *a, const struct mdi_json *b) {
  FUZZ_CHECK(mdi_json_type(a) == mdi_json_type(b));
  int64_t ia, ib;
  switch (mdi_json_type(a)) {
    case MDI_JSON_NULL: return;
    case MDI_JSON_BOOL: FUZZ_CHECK(mdi_json_bool(a) == mdi_json_bool(b)); return;
    case MDI_JSON_STRING: {
      const char *s = mdi_json_string(a);
      const size_t n = mdi_json_string_len(a);
      FUZZ_CHECK(strlen(s) == n); /* no NUL inside */
      if (mdi_utf8_valid(s, n))
        FUZZ_CHECK(mdi_json_string_len(b) == n && memcmp(s, mdi_json_string(b), n) == 0);
      return;
    }
    case MDI_JSON_NUMBER:
      if (mdi_json_int(a, INT64_MIN, INT64_MAX, &ia)) FUZZ_CHECK(mdi_json_int(b, INT64_MIN, INT64_MAX, &ib) && ia == ib);
      else FUZZ_CHECK(mdi_json_number(a) == mdi_json_number(b));
      return;
    case MDI_JSON_ARRAY:
    case MDI_JSON_OBJECT: {
      const struct mdi_json *x = mdi_json_first(a), *y = mdi_json_first(b);
      for (; x && y; x = mdi_json_next(x), y = mdi_json_next(y)) {
        if (mdi_json_key(x) && mdi_utf8_valid(mdi_json_key(x), strlen(mdi_json_key(x))))
          FUZZ_CHECK(!strcmp(mdi_json_key(x), mdi_json_key(y)));
        check_same(x, y);
      }
      FUZZ_CHECK(!x && !y);
      return;
    }
  }
}

/* Nesting depth of v (a scalar: 0). */
static int depth(const struct mdi_json *v) {
  int d = 0;
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e)) {
    const int de = depth(e);
    if (de > d) d = de;
  }
  return mdi_json_type(v) == MDI_JSON_ARRAY || mdi_json_type(v) == MDI_JSON_OBJECT ? d + 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct mdi_json_doc *doc;
  if (mdi_json_parse(&doc, (const char *)data, size, "input") != MDI_OK) {
    FUZZ_CHECK(mdi_error()[0] != '\0');
    return 0;
  }
  /* the writer nests at most 32 levels (the files it writes need 3) */
  if (depth(mdi_json_root(doc)) > 32) {
    mdi_json_free(doc);
    return 0;
  }
  struct mdi_json_writer w;
  mdi_jw_init(&w, size % 2); /* pretty or not, either reads back */
  write_value(&w, NULL, mdi_json_root(doc));
  size_t len;
  const char *text = mdi_jw_text(&w, &len);
  struct mdi_json_doc *again;
  FUZZ_CHECK(mdi_json_parse(&again, text, len, "written") == MDI_OK);
  check_same(mdi_json_root(doc), mdi_json_root(again));
  mdi_json_free(again);
  mdi_jw_free(&w);
  mdi_json_free(doc);
  return 0;
}

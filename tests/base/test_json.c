/* base/json.c: the writer (exact integers, escapes, valid UTF-8, layout)
 * and what the reader gives back for its output. */
#include <stdint.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi_test.h"

static void test_compact(void) {
  struct mdi_json_writer w;
  mdi_jw_init(&w, 0);
  mdi_jw_object_begin(&w, NULL);
  mdi_jw_int(&w, "id", 7);
  mdi_jw_cstring(&w, "s", "a\"b\\c\n\t\x01");
  const int ids[3] = {1, -2, 2147483647};
  mdi_jw_int_array(&w, "ids", ids, 3);
  mdi_jw_uint(&w, "seed", UINT64_C(18446744073709551615));
  mdi_jw_int(&w, "neg", INT64_MIN);
  mdi_jw_double(&w, "x", 0.1);
  mdi_jw_double(&w, "third", 1.0 / 3.0);
  mdi_jw_double(&w, "inf", 1.0 / 0.0);
  mdi_jw_bool(&w, "t", 1);
  mdi_jw_null(&w, "n");
  mdi_jw_array_begin(&w, "empty");
  mdi_jw_array_end(&w);
  mdi_jw_object_end(&w);
  size_t len;
  const char *text = mdi_jw_text(&w, &len);
  CHECK_STR(text, "{\"id\":7,\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"ids\":[1,-2,2147483647],"
                  "\"seed\":18446744073709551615,\"neg\":-9223372036854775808,\"x\":0.1,"
                  "\"third\":0.33333333333333331,\"inf\":0,\"t\":true,\"n\":null,\"empty\":[]}");
  CHECK_EQ_INT(len, strlen(text));
  /* the reader takes it back */
  struct mdi_json_doc *doc;
  CHECK(mdi_json_parse(&doc, text, len, "written") == MDI_OK);
  const struct mdi_json *root = mdi_json_root(doc);
  CHECK_STR(mdi_json_string(mdi_json_get(root, "s")), "a\"b\\c\n\t\x01");
  CHECK_EQ_INT(mdi_json_count(mdi_json_get(root, "ids")), 3);
  CHECK(mdi_json_number(mdi_json_get(root, "third")) == 1.0 / 3.0);
  mdi_json_free(doc);
  mdi_jw_free(&w);
}

static void test_utf8_and_pretty(void) {
  struct mdi_json_writer w;
  mdi_jw_init(&w, 1);
  mdi_jw_object_begin(&w, NULL);
  /* invalid bytes (half a character) become U+FFFD; valid UTF-8 stays as is */
  mdi_jw_string(&w, "text", "\xC3\xA9t\xC3", 4);
  mdi_jw_array_begin(&w, "rows");
  mdi_jw_object_begin(&w, NULL);
  mdi_jw_int(&w, "rank", 0);
  const int layers[2] = {0, 3};
  mdi_jw_int_array(&w, "layers", layers, 2);
  mdi_jw_object_end(&w);
  mdi_jw_object_begin(&w, NULL);
  mdi_jw_object_end(&w);
  mdi_jw_array_end(&w);
  mdi_jw_object_end(&w);
  CHECK_STR(mdi_jw_text(&w, NULL), "{\n"
                                   "  \"text\": \"\xC3\xA9t\xEF\xBF\xBD\",\n"
                                   "  \"rows\": [\n"
                                   "    {\n"
                                   "      \"rank\": 0,\n"
                                   "      \"layers\": [0,3]\n"
                                   "    },\n"
                                   "    {}\n"
                                   "  ]\n"
                                   "}");
  mdi_jw_free(&w);
}

static void test_reader_errors(void) {
  struct mdi_json_doc *doc;
  CHECK(mdi_json_parse(&doc, "{\"a\":1} x", 9, "t.json") == MDI_ERR);
  CHECK(strstr(mdi_error(), "t.json:1: unexpected text after the JSON value") != NULL);
  CHECK(mdi_json_parse(&doc, "[1,\n2,]", 7, "t.json") == MDI_ERR);
  CHECK(strstr(mdi_error(), "t.json:2: not valid JSON") != NULL);
  CHECK(mdi_json_parse(&doc, "\"a\\u0000b\"", 10, "t.json") == MDI_ERR);
  CHECK(strstr(mdi_error(), "\\u0000") != NULL);
  int64_t v;
  CHECK(mdi_json_parse(&doc, "[9007199254740992, 1.5, -3]", 27, "t.json") == MDI_OK);
  const struct mdi_json *e = mdi_json_first(mdi_json_root(doc));
  CHECK(mdi_json_int(e, 0, INT64_MAX, &v) && v == 9007199254740992);
  CHECK(!mdi_json_int(mdi_json_next(e), 0, 10, &v));
  CHECK(!mdi_json_int(mdi_json_next(mdi_json_next(e)), 0, 10, &v));
  mdi_json_free(doc);
}

int main(void) {
  test_compact();
  test_utf8_and_pretty();
  test_reader_errors();
  return mdi_test_failures != 0;
}

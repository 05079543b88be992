/* base/json.c: the writer (exact integers, escapes, valid UTF-8, layout),
 * what the reader gives back for its output, and the strict reader: accepted
 * and refused texts, exact 64-bit integers, string escapes. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi_test.h"

static struct mdi_json_doc *parse(const char *text) {
  struct mdi_json_doc *d = NULL;
  if (mdi_json_parse(&d, text, strlen(text), "t.json") != MDI_OK) return NULL;
  return d;
}

/* The text is refused and the message holds `what`. */
static void check_refused(const char *text, const char *what) {
  struct mdi_json_doc *d = parse(text);
  CHECK(d == NULL);
  mdi_json_free(d);
  if (!strstr(mdi_error(), what)) {
    fprintf(stderr, "for %s: message \"%s\" lacks \"%s\"\n", text, mdi_error(), what);
    mdi_test_failures++;
  }
}

static void test_values(void) {
  struct mdi_json_doc *d = parse(" {\"a\": [1, -2.5, true, false, null, \"x\"], \"b\": {}, \"c\": []}\n");
  CHECK(d != NULL);
  if (!d) return;
  const struct mdi_json *root = mdi_json_root(d);
  CHECK_EQ_INT(mdi_json_type(root), MDI_JSON_OBJECT);
  CHECK_EQ_INT(mdi_json_count(root), 3);
  const struct mdi_json *a = mdi_json_get(root, "a");
  CHECK_EQ_INT(mdi_json_count(a), 6);
  const struct mdi_json *e = mdi_json_first(a);
  CHECK_NEAR(mdi_json_number(e), 1.0, 0);
  e = mdi_json_next(e);
  CHECK_NEAR(mdi_json_number(e), -2.5, 0);
  int64_t i;
  CHECK(!mdi_json_int(e, -10, 10, &i)); /* not an integer */
  e = mdi_json_next(e);
  CHECK(mdi_json_bool(e) == 1);
  e = mdi_json_next(e);
  CHECK(mdi_json_bool(e) == 0);
  e = mdi_json_next(e);
  CHECK_STR(mdi_json_type_name(e), "null");
  e = mdi_json_next(e);
  CHECK_STR(mdi_json_string(e), "x");
  CHECK(mdi_json_next(e) == NULL);
  CHECK_EQ_INT(mdi_json_count(mdi_json_get(root, "b")), 0);
  CHECK_STR(mdi_json_type_name(mdi_json_get(root, "c")), "array");
  CHECK(mdi_json_get(root, "missing") == NULL);
  CHECK_STR(mdi_json_key(mdi_json_first(root)), "a");
  mdi_json_free(d);

  /* a repeated key: the first one */
  d = parse("{\"k\": 1, \"k\": 2}");
  CHECK(d && mdi_json_number(mdi_json_get(mdi_json_root(d), "k")) == 1.0);
  mdi_json_free(d);
}

static void test_integers(void) {
  struct mdi_json_doc *d = parse("[8999999999999999, 9223372036854775807, -9223372036854775808, "
                                 "18446744073709551615, 18446744073709551616, 1e3, 5.0, -0, 9007199254740994.0]");
  CHECK(d != NULL);
  if (!d) return;
  const struct mdi_json *e = mdi_json_first(mdi_json_root(d));
  int64_t i;
  uint64_t u;
  CHECK(mdi_json_int(e, 0, INT64_MAX, &i) && i == 8999999999999999LL); /* a double would give 9e15 */
  e = mdi_json_next(e);
  CHECK(mdi_json_int(e, 0, INT64_MAX, &i) && i == INT64_MAX);
  CHECK(!mdi_json_int(e, 0, INT64_MAX - 1, &i)); /* out of [lo, hi] */
  e = mdi_json_next(e);
  CHECK(mdi_json_int(e, INT64_MIN, 0, &i) && i == INT64_MIN);
  CHECK(!mdi_json_uint(e, UINT64_MAX, &u)); /* negative */
  e = mdi_json_next(e);
  CHECK(!mdi_json_int(e, INT64_MIN, INT64_MAX, &i));
  CHECK(mdi_json_uint(e, UINT64_MAX, &u) && u == UINT64_MAX);
  e = mdi_json_next(e); /* 2^64: a number, not a 64-bit integer */
  CHECK(!mdi_json_uint(e, UINT64_MAX, &u));
  CHECK_NEAR(mdi_json_number(e), 18446744073709551616.0, 0);
  e = mdi_json_next(e);
  CHECK(mdi_json_int(e, 0, 1000, &i) && i == 1000);
  e = mdi_json_next(e);
  CHECK(mdi_json_int(e, 0, 10, &i) && i == 5);
  e = mdi_json_next(e);
  CHECK(mdi_json_int(e, 0, 0, &i) && i == 0);
  e = mdi_json_next(e); /* beyond 2^53 without an integer lexeme: not exact */
  CHECK(!mdi_json_int(e, 0, INT64_MAX, &i));
  mdi_json_free(d);
}

static void test_strings(void) {
  /* escapes, a surrogate pair (U+1F600), raw UTF-8 passed through */
  struct mdi_json_doc *d = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\"");
  CHECK(d != NULL);
  if (!d) return;
  const struct mdi_json *s = mdi_json_root(d);
  const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9";
  CHECK_EQ_INT(mdi_json_string_len(s), sizeof want - 1);
  CHECK(memcmp(mdi_json_string(s), want, sizeof want) == 0);
  mdi_json_free(d);
}

static void test_refused(void) {
  check_refused("", "the text ends where a value was expected");
  check_refused("{\"a\": 1,}", "expected a member name");
  check_refused("[1, 2,]", "expected a value");
  check_refused("[1 2]", "expected ',' or ']'");
  check_refused("{\"a\" 1}", "expected ':'");
  check_refused("{'a': 1}", "expected a member name");
  check_refused("[01]", "leading zero");
  check_refused("[1.]", "no digit after its decimal point");
  check_refused("[1e]", "no digit in its exponent");
  check_refused("[-]", "without digits");
  check_refused("[+1]", "expected a value");
  check_refused("[.5]", "expected a value");
  check_refused("[NaN]", "expected a value");
  check_refused("[Infinity]", "expected a value");
  check_refused("[1e999]", "too large for a double");
  check_refused("[tru]", "expected a value");
  check_refused("// comment\n1", "expected a value");
  check_refused("\"abc", "not closed");
  check_refused("\"a\tb\"", "control character");
  check_refused("\"\\x\"", "invalid escape");
  check_refused("\"\\u12g4\"", "four hexadecimal digits");
  check_refused("\"\\udc00\"", "lone low surrogate");
  check_refused("\"\\ud800x\"", "without its low surrogate");
  check_refused("\"\\u0000\"", "\\u0000 is not supported");
  check_refused("{\"a\": 1} x", "unexpected text after the JSON value");
  check_refused("{\"a\": 1}{\"b\": 2}", "unexpected text after the JSON value");
  /* line and offset of the error */
  check_refused("{\n\"a\": 1,\n\"b\" 2}", "t.json:3: not valid JSON: expected ':' after a member name (byte offset 14 of 16)");
  char deep[1300];
  memset(deep, '[', 600);
  memset(deep + 600, ']', 600);
  deep[1200] = '\0';
  check_refused(deep, "nested more than 512 levels");
  memset(deep, '[', 500);
  memset(deep + 500, ']', 500);
  deep[1000] = '\0';
  struct mdi_json_doc *d = parse(deep);
  CHECK(d != NULL);
  mdi_json_free(d);
}

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
  uint64_t u;
  int64_t i;
  CHECK(mdi_json_uint(mdi_json_get(root, "seed"), UINT64_MAX, &u) && u == UINT64_C(18446744073709551615));
  CHECK(mdi_json_int(mdi_json_get(root, "neg"), INT64_MIN, 0, &i) && i == INT64_MIN);
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

/* A file must be UTF-8 text: the line and offset of the first bad byte. */
static void test_file_utf8(void) {
  char path[] = "/tmp/test_json_XXXXXX";
  const int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  static const char text[] = "{\"a\": \"x\",\n \"<0\xe1" "00>\": 3}";
  CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
  close(fd);
  struct mdi_json_doc *doc = NULL;
  CHECK(mdi_json_parse_file(&doc, path, 1024) == MDI_ERR && doc == NULL);
  CHECK(strstr(mdi_error(), ":2: not UTF-8 text: an invalid byte sequence at byte offset 15") != NULL);
  CHECK(mdi_json_parse(&doc, text, sizeof text - 1, "t.json") == MDI_OK); /* the string parser leaves it */
  mdi_json_free(doc);
  unlink(path);
}

int main(void) {
  test_file_utf8();
  test_values();
  test_integers();
  test_strings();
  test_refused();
  test_compact();
  test_utf8_and_pretty();
  test_reader_errors();
  return mdi_test_finish("test_json");
}

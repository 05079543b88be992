/* base/utf8.c: decoding, validity, encoding and sanitizing (RFC 3629). */
#include <stdint.h>

#include "mdi/base/utf8.h"
#include "mdi_test.h"

static void test_decode(void) {
  uint32_t cp = 0;
  CHECK_EQ_INT(mdi_utf8_decode("A", 1, &cp), 1);
  CHECK_EQ_INT(cp, 'A');
  CHECK_EQ_INT(mdi_utf8_decode("\xC3\xA9", 2, &cp), 2);
  CHECK_EQ_INT(cp, 0xE9);
  CHECK_EQ_INT(mdi_utf8_decode("\xE2\x96\x81", 3, &cp), 3); /* U+2581 */
  CHECK_EQ_INT(cp, 0x2581);
  CHECK_EQ_INT(mdi_utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4); /* U+1F600 */
  CHECK_EQ_INT(cp, 0x1F600);
  CHECK_EQ_INT(mdi_utf8_decode("\xF4\x8F\xBF\xBF", 4, &cp), 4); /* U+10FFFF, the last */
  CHECK_EQ_INT(cp, 0x10FFFF);
  /* overlong forms, surrogates, beyond U+10FFFF, stray and truncated bytes */
  CHECK_EQ_INT(mdi_utf8_decode("\xC0\xAF", 2, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xE0\x80\xAF", 3, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xF0\x80\x80\xAF", 4, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xED\xA0\x80", 3, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xF4\x90\x80\x80", 4, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\x80", 1, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xFF", 1, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xE2\x96", 2, &cp), 0);
  CHECK_EQ_INT(mdi_utf8_decode("\xE2\x96\x81", 2, &cp), 0); /* len cuts it */
  CHECK_EQ_INT(mdi_utf8_decode("\xC3" "A", 2, &cp), 0);
}

static void test_valid(void) {
  CHECK(mdi_utf8_valid("", 0));
  CHECK(mdi_utf8_valid("plain ascii", 11));
  CHECK(mdi_utf8_valid("\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xED\x9F\xBF", 16));
  CHECK(!mdi_utf8_valid("\xED\xBF\xBF", 3));
  CHECK(!mdi_utf8_valid("a\0", 2)); /* NUL is refused */
  CHECK_EQ_INT(mdi_utf8_bad_offset("ab\xFF" "cd", 5), 2);
  CHECK_EQ_INT(mdi_utf8_bad_offset("\xC3\xA9\xC3", 3), 2);
}

static void test_encode_round_trip(void) {
  /* every scalar value encodes and decodes back; surrogates are skipped */
  int bad = 0;
  for (uint32_t c = 1; c <= 0x10FFFF; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    char buf[4];
    const int n = mdi_utf8_encode(c, buf);
    uint32_t back = 0;
    bad += mdi_utf8_decode(buf, (size_t)n, &back) != n || back != c ||
           n != (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4) || mdi_utf8_seq_len((unsigned char)buf[0]) != n;
  }
  CHECK_EQ_INT(bad, 0);
}

static void test_sanitize(void) {
  char out[64];
  CHECK_EQ_INT(mdi_utf8_sanitize("ok \xC3\xA9", 5, out), 5);
  CHECK_STR(out, "ok \xC3\xA9");
  /* a half character at the end (a model's token cut inside a character),
   * a stray continuation byte and a NUL each become U+FFFD */
  CHECK_EQ_INT(mdi_utf8_sanitize("a\xE2\x96", 3, out), 7);
  CHECK_STR(out, "a\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK_EQ_INT(mdi_utf8_sanitize("\x80z\0", 3, out), 7);
  CHECK_STR(out, "\xEF\xBF\xBDz\xEF\xBF\xBD");
}

int main(void) {
  test_decode();
  test_valid();
  test_encode_round_trip();
  test_sanitize();
  return mdi_test_failures != 0;
}

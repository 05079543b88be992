/* utf8proc behind unicode.h. */
#include "unicode.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

int mdi_unicode_normalize(enum mdi_unicode_form form, const char *s, size_t len, char **out, size_t *out_len) {
  utf8proc_option_t opt = UTF8PROC_STABLE;
  switch (form) {
    case MDI_NFC: opt |= UTF8PROC_COMPOSE; break;
    case MDI_NFD: opt |= UTF8PROC_DECOMPOSE; break;
    case MDI_NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case MDI_NFKD: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  if (len == 0) { /* utf8proc_map reads a NUL-terminated string when given 0 */
    *out = mdi_xstrdup("");
    *out_len = 0;
    return MDI_OK;
  }
  utf8proc_uint8_t *dst = NULL;
  const utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst, opt);
  if (n < 0) return mdi_fail("Unicode normalization failed: %s", utf8proc_errmsg(n));
  *out = (char *)dst;
  *out_len = (size_t)n;
  return MDI_OK;
}

int mdi_unicode_lowercase(const char *s, size_t len, char **out, size_t *out_len) {
  char *buf = mdi_xmalloc(2 * len + 1, "lower-case text"); /* no lower case is longer than twice its source */
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    const int n = mdi_utf8_decode(s + i, len - i, &cp);
    if (n <= 0) {
      free(buf);
      return mdi_fail("text is not valid UTF-8 at byte %zu", i);
    }
    i += (size_t)n;
    if (cp == 0x130) { /* the one unconditional multi-character lower case */
      memcpy(buf + o, "i\xcc\x87", 3);
      o += 3;
      continue;
    }
    o += (size_t)mdi_utf8_encode((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), buf + o);
  }
  buf[o] = '\0';
  *out = buf;
  *out_len = o;
  return MDI_OK;
}

int mdi_unicode_is_numeric(uint32_t cp) {
  const utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

int mdi_unicode_is_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

static int is_letter(utf8proc_category_t c) {
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO;
}

int mdi_unicode_is_alphanumeric(uint32_t cp) {
  const utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
  return is_letter(c) || c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

int mdi_unicode_is_word(uint32_t cp) {
  const utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
  return is_letter(c) || c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME ||
         c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC || cp == 0x200C ||
         cp == 0x200D;
}

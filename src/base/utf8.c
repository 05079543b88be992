/* UTF-8 decoding, checking and encoding (see utf8.h). */
#include "mdi/base/utf8.h"

#include <string.h>

int mdi_utf8_decode(const char *str, size_t len, uint32_t *cp) {
  const unsigned char *s = (const unsigned char *)str;
  const unsigned c = s[0];
  if (c < 0x80) return *cp = c, 1;
  /* the allowed range of the second byte narrows for E0, ED, F0 and F4 */
  int need;
  unsigned lo = 0x80, hi = 0xBF, v;
  if (c >= 0xC2 && c <= 0xDF) need = 1, v = c & 0x1Fu;
  else if (c == 0xE0) need = 2, lo = 0xA0, v = 0;
  else if (c == 0xED) need = 2, hi = 0x9F, v = c & 0x0Fu;
  else if (c >= 0xE1 && c <= 0xEF) need = 2, v = c & 0x0Fu;
  else if (c == 0xF0) need = 3, lo = 0x90, v = 0;
  else if (c == 0xF4) need = 3, hi = 0x8F, v = 4;
  else if (c >= 0xF1 && c <= 0xF3) need = 3, v = c & 0x07u;
  else return 0;
  if ((size_t)need >= len) return 0;
  for (int k = 1; k <= need; k++) {
    const unsigned b = s[k];
    if (b < lo || b > hi) return 0;
    lo = 0x80, hi = 0xBF;
    v = (v << 6) | (b & 0x3Fu);
  }
  *cp = v;
  return need + 1;
}

size_t mdi_utf8_bad_offset(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    const int n = mdi_utf8_decode(s + i, len - i, &cp);
    if (n == 0 || cp == 0) return i;
    i += (size_t)n;
  }
  return len;
}

int mdi_utf8_encode(uint32_t cp, char buf[4]) {
  if (cp < 0x80) {
    buf[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    buf[0] = (char)(0xC0 | (cp >> 6));
    buf[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    buf[0] = (char)(0xE0 | (cp >> 12));
    buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  buf[0] = (char)(0xF0 | (cp >> 18));
  buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  buf[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

size_t mdi_utf8_sanitize(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    const int len = mdi_utf8_decode(s + i, n - i, &cp);
    if (len > 0 && cp != 0) {
      memcpy(out + o, s + i, (size_t)len);
      o += (size_t)len;
      i += (size_t)len;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  out[o] = '\0';
  return o;
}

size_t mdi_utf8_lossy(const char *str, size_t n, char *out) {
  const unsigned char *s = (const unsigned char *)str;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    const unsigned c = s[i];
    int need = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) need = 0;
    else if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) need = 2, lo = 0xA0;
    else if (c == 0xED) need = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) need = 3, lo = 0x90;
    else if (c == 0xF4) need = 3, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else need = -1; /* not a lead byte */
    int k = 1; /* bytes of the sequence that are valid so far */
    while (need > 0 && k <= need && i + (size_t)k < n && s[i + k] >= lo && s[i + k] <= hi) lo = 0x80, hi = 0xBF, k++;
    if (need >= 0 && k == need + 1) {
      memcpy(out + o, s + i, (size_t)k);
      o += (size_t)k;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
    }
    i += (size_t)k;
  }
  out[o] = '\0';
  return o;
}

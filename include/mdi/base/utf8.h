/* UTF-8: the one place that decodes, checks and encodes it.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF.  NUL is a valid code point here; callers that
 * refuse it (prompt text, piece bytes) say so. */
#ifndef MDI_UTF8_H
#define MDI_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The code point that starts s[0..len) (len >= 1) into *cp: returns its
 * byte length 1..4, or 0 when s does not start with a valid sequence (a
 * bad or truncated one). */
int mdi_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Byte length of the sequence whose lead byte is c, for text already known
 * to be valid. */
static inline int mdi_utf8_seq_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* Offset of the first byte that starts an invalid sequence or is NUL, or
 * len when s[0..len) is valid UTF-8 without NUL. */
size_t mdi_utf8_bad_offset(const char *s, size_t len);

/* 1 when s[0..len) is valid UTF-8 with no NUL. */
static inline int mdi_utf8_valid(const char *s, size_t len) { return mdi_utf8_bad_offset(s, len) == len; }

/* Write code point cp (<= U+10FFFF, not a surrogate) to buf; returns its
 * byte length 1..4. */
int mdi_utf8_encode(uint32_t cp, char buf[4]);

/* Copy s[0..n) to out, each byte that does not start a valid sequence (or
 * is NUL) replaced by U+FFFD; out must hold 3n + 1 bytes.  Returns the
 * length written (out is NUL-terminated).  For text a model generated,
 * which may end in half a character, written where UTF-8 is required. */
size_t mdi_utf8_sanitize(const char *s, size_t n, char *out);

/* Copy s[0..n) to out as Rust's String::from_utf8_lossy does: each maximal
 * part of an invalid sequence (a bad byte, or the valid start of a sequence
 * that breaks off) becomes one U+FFFD; NUL is kept.  out must hold 3n + 1
 * bytes; returns the length written (out is NUL-terminated).  Hugging Face
 * tokenizers' ByteLevel decoder produces text this way. */
size_t mdi_utf8_lossy(const char *s, size_t n, char *out);

#endif

/* Unicode data for tokenizer pipelines: normalization forms and character
 * properties, from utf8proc.  unicode.c is the only file that includes
 * utf8proc.h.
 *
 * The properties follow the Rust definitions Hugging Face's tokenizers
 * relies on: char::is_numeric (Digits pre-tokenizer), char::is_whitespace
 * (Strip, lstrip/rstrip of added tokens), char::is_alphanumeric and the
 * regex class \w (single_word added tokens).  Alphabetic is approximated by
 * the letter categories and Nl (Unicode's Other_Alphabetic marks count as
 * marks, which \w includes anyway). */
#ifndef MDI_UNICODE_H
#define MDI_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum mdi_unicode_form { MDI_NFC, MDI_NFD, MDI_NFKC, MDI_NFKD };

/* The normalization form `form` of valid UTF-8 s[0..len) into a new buffer
 * *out (malloc'd, NUL-terminated) of *out_len bytes. */
int mdi_unicode_normalize(enum mdi_unicode_form form, const char *s, size_t len, char **out, size_t *out_len);

/* Lower case of valid UTF-8 s[0..len) into a new buffer, character by
 * character as Rust's char::to_lowercase (U+0130 becomes "i" + U+0307). */
int mdi_unicode_lowercase(const char *s, size_t len, char **out, size_t *out_len);

int mdi_unicode_is_numeric(uint32_t cp);      /* general category Nd, Nl or No */
int mdi_unicode_is_whitespace(uint32_t cp);   /* the White_Space property */
int mdi_unicode_is_alphanumeric(uint32_t cp); /* letters, Nl, and numeric */
int mdi_unicode_is_word(uint32_t cp);         /* \w: letters, marks, Nd, Nl, Pc, ZWNJ, ZWJ */

#endif

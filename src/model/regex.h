/* Regular expressions of tokenizer pipelines: Oniguruma, the engine Hugging
 * Face's tokenizers compiles the patterns of tokenizer.json with (Split,
 * Replace, ByteLevel's built-in pattern).  regex.c is the only file that
 * includes oniguruma.h.  Patterns use Oniguruma's default syntax and UTF-8,
 * as the Rust crate onig does with Regex::new, so \p{L}, \s, (?i:...) and
 * look-ahead mean exactly what they mean there. */
#ifndef MDI_REGEX_H
#define MDI_REGEX_H

#include <stddef.h>

struct mdi_regex;

/* Compile pattern[0..len).  A bad pattern fails with Oniguruma's message,
 * prefixed by `where` (which names the file and the step). */
int mdi_regex_new(struct mdi_regex **re, const char *pattern, size_t len, const char *where);
void mdi_regex_free(struct mdi_regex *re);

/* Successive non-overlapping matches in text[0..len), as onig's find_iter
 * yields them: each search starts where the previous match ended (the text
 * before it stays visible to look-behind), and an empty match right where
 * the previous match ended is skipped by advancing one character. */
struct mdi_regex_iter {
  const struct mdi_regex *re;
  const char *text;
  size_t len;
  size_t next;      /* byte offset where the next search starts */
  size_t last_end;  /* end of the previous match */
  int has_last;     /* a previous match exists */
  void *region;     /* the engine's match region, owned by the iterator */
};

void mdi_regex_iter_init(struct mdi_regex_iter *it, const struct mdi_regex *re, const char *text, size_t len);
/* 1 and the match [*start, *end), 0 when there is none left; MDI_ERR (message
 * set) when the engine fails (e.g. its backtracking limit). */
int mdi_regex_iter_next(struct mdi_regex_iter *it, size_t *start, size_t *end);
void mdi_regex_iter_free(struct mdi_regex_iter *it);

#endif

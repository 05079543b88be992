/* Oniguruma behind the small interface of regex.h. */
#include "regex.h"

#include <oniguruma.h>
#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

struct mdi_regex {
  OnigRegex onig;
};

/* Oniguruma wants its encodings initialized once per process; the tokenizer
 * is built and used by one thread (rank 0), so a flag is enough. */
static void init_once(void) {
  static int done;
  if (!done) {
    OnigEncoding enc[] = {ONIG_ENCODING_UTF8};
    onig_initialize(enc, 1);
    done = 1;
  }
}

int mdi_regex_new(struct mdi_regex **out, const char *pattern, size_t len, const char *where) {
  init_once();
  *out = NULL;
  if (!mdi_utf8_valid(pattern, len))
    return mdi_fail("%s: the regular expression is not valid UTF-8", where);
  struct mdi_regex *re = mdi_xmalloc(sizeof *re, "regular expression");
  OnigErrorInfo info;
  const OnigUChar *p = (const OnigUChar *)pattern;
  int rc = onig_new(&re->onig, p, p + len, ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, rc, &info);
    free(re);
    return mdi_fail("%s: bad regular expression \"%.200s\": %s", where, pattern, (const char *)msg);
  }
  *out = re;
  return MDI_OK;
}

void mdi_regex_free(struct mdi_regex *re) {
  if (!re) return;
  onig_free(re->onig);
  free(re);
}

void mdi_regex_iter_init(struct mdi_regex_iter *it, const struct mdi_regex *re, const char *text, size_t len) {
  *it = (struct mdi_regex_iter){.re = re, .text = text, .len = len};
  it->region = onig_region_new();
  if (!it->region) MDI_PANIC("out of memory for a regular expression match");
}

void mdi_regex_iter_free(struct mdi_regex_iter *it) {
  if (it->region) onig_region_free(it->region, 1);
  it->region = NULL;
}

int mdi_regex_iter_next(struct mdi_regex_iter *it, size_t *start, size_t *end) {
  const OnigUChar *s = (const OnigUChar *)it->text, *e = s + it->len;
  for (;;) {
    if (it->next > it->len) return 0;
    OnigRegion *region = it->region;
    onig_region_clear(region);
    const int pos = onig_search(it->re->onig, s, e, s + it->next, e, region, ONIG_OPTION_NONE);
    if (pos == ONIG_MISMATCH) return 0;
    if (pos < 0) {
      OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(msg, pos);
      return mdi_fail("regular expression search failed: %s", (const char *)msg);
    }
    const size_t ms = (size_t)region->beg[0], me = (size_t)region->end[0];
    if (ms == me && it->has_last && me == it->last_end) {
      /* an empty match where the last one ended: step over one character */
      it->next += it->next < it->len ? (size_t)mdi_utf8_seq_len((unsigned char)it->text[it->next]) : 1;
      continue;
    }
    it->next = me;
    it->last_end = me;
    it->has_last = 1;
    *start = ms;
    *end = me;
    return 1;
  }
}

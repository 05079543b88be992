/* Prompt encoding speed on long texts: one line of N bytes (default 1 MiB)
 * of several kinds, encoded R times each by a tokenizer; prints a table of
 * median seconds and MB/s and writes it as JSON.
 *
 *   mdi_bench_encode (--llama2c TOKENIZER.bin | --hf DIR) [--bytes N] [--rounds R] [--json OUT]
 *
 * --llama2c: llama2.c's tokenizer.bin (the sentencepiece kind, llama2.c's
 * merge rule); --hf: a Hugging Face directory (tokenizer.json).  Times are
 * the process's CPU seconds (median of R rounds).  The texts:
 *   prose   an English paragraph repeated (words, punctuation, spaces)
 *   word    one word of N letters (a single pre-token: the worst case of BPE)
 *   digits  digits and spaces
 *   mixed   Latin, CJK, emoji, code
 *   spaces  runs of spaces and newlines between words */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

/* CPU seconds of this process: on a machine shared with other jobs the
 * wall time mostly measures them. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* n bytes of `unit` repeated, cut at a character boundary. */
static char *repeat(const char *unit, size_t n, size_t *len) {
  char *s = mdi_xmalloc(n + 1, "text");
  const size_t u = strlen(unit);
  size_t o = 0;
  while (o + u <= n) memcpy(s + o, unit, u), o += u;
  s[o] = '\0';
  *len = o;
  return s;
}

int main(int argc, char **argv) {
  const char *llama2c = NULL, *hf = NULL, *json = NULL;
  size_t bytes = 1 << 20;
  int rounds = 3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--llama2c") && i + 1 < argc) llama2c = argv[++i];
    else if (!strcmp(argv[i], "--hf") && i + 1 < argc) hf = argv[++i];
    else if (!strcmp(argv[i], "--bytes") && i + 1 < argc) bytes = (size_t)strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else {
      fprintf(stderr, "usage: %s (--llama2c TOKENIZER.bin | --hf DIR) [--bytes N] [--rounds R] [--json OUT]\n",
              argv[0]);
      return 2;
    }
  }
  if (!llama2c == !hf || rounds < 1 || bytes < 16) {
    fprintf(stderr, "%s: give one of --llama2c and --hf, --rounds >= 1, --bytes >= 16\n", argv[0]);
    return 2;
  }
  mdi_log_set_quiet(1);
  struct mdi_tokenizer t;
  const struct convert_hf_ids ids = {.bos_id = -1};
  if ((llama2c && convert_read_llama2c_tokenizer(&t, llama2c, 512) != MDI_OK) ||
      (hf && convert_read_hf_tokenizer(&t, hf, 1 << 20, &ids) != MDI_OK)) {
    fprintf(stderr, "%s\n", mdi_error());
    return 1;
  }
  static const struct {
    const char *name, *unit;
  } kinds[] = {
      {"prose", "Once upon a time, there was a little girl named Lily. She liked to play outside in the park. "},
      {"word", "a"},
      {"digits", "3141592653 5897932384 6264338327 "},
      {"mixed", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82 int main(void) { return 0; } "},
      {"spaces", "word     \n\n   other \t "},
  };
  FILE *out = json ? fopen(json, "w") : NULL;
  if (json && !out) {
    perror(json);
    return 1;
  }
  printf("%-8s %10s %10s %10s %8s\n", "text", "bytes", "tokens", "cpu s", "MB/s");
  if (out) fprintf(out, "{\"tokenizer\": \"%s\", \"kind\": \"%s\", \"rounds\": %d, \"results\": [", llama2c ? llama2c : hf,
                   mdi_tokenizer_kind_name(t.kind), rounds);
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    size_t len;
    char *text = repeat(kinds[k].unit, bytes, &len);
    int *buf = mdi_xmalloc((len + 3) * sizeof *buf, "ids"), n = 0;
    double *secs = mdi_xmalloc((size_t)rounds * sizeof *secs, "times");
    for (int r = 0; r < rounds; r++) {
      const double t0 = cpu_now();
      if (mdi_tokenizer_encode(&t, text, len, 0, 0, buf, &n) != MDI_OK) {
        fprintf(stderr, "%s: %s\n", kinds[k].name, mdi_error());
        return 1;
      }
      secs[r] = cpu_now() - t0;
    }
    qsort(secs, (size_t)rounds, sizeof *secs, cmp_double);
    const double med = secs[rounds / 2];
    printf("%-8s %10zu %10d %10.4f %8.2f\n", kinds[k].name, len, n, med, (double)len / med / 1e6);
    if (out) fprintf(out, "%s{\"text\": \"%s\", \"bytes\": %zu, \"tokens\": %d, \"cpu_s\": %.6f}", k ? ", " : "",
                     kinds[k].name, len, n, med);
    free(text);
    free(buf);
    free(secs);
  }
  if (out) fprintf(out, "]}\n"), fclose(out);
  mdi_tokenizer_free(&t);
  return 0;
}

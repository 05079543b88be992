/* The run's requests (src/app/prompts.c): prompt files and JSONL lines,
 * ids and seeds, and the refusals with their messages.  Uses the tokenizer
 * of the converted stories260K model (fixture model260k). */
#define _GNU_SOURCE /* mkdtemp */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/app/options.h"
#include "mdi/app/prompts.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"

static char dir[256];
static struct mdi_tokenizer tok;

static const char *write_file(const char *name, const char *text, size_t len) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  return path;
}

/* Build the requests of one prompt file; returns the count or -1. */
static int build(const char *name, const char *text, int n_samples, int max_seq, struct mdi_request **reqs) {
  struct mdi_options o;
  mdi_options_defaults(&o);
  o.prompt_file = mdi_xstrdup(write_file(name, text, strlen(text)));
  o.n_samples = n_samples;
  int n = 0;
  const int rc = mdi_prompts_build(&o, &tok, max_seq, reqs, &n);
  mdi_options_free(&o);
  return rc == MDI_OK ? n : -1;
}

static void check_refused(const char *name, const char *text, const char *what) {
  struct mdi_request *reqs = NULL;
  CHECK(build(name, text, 1, 256, &reqs) == -1);
  if (!strstr(mdi_error(), what)) {
    fprintf(stderr, "for %s: message \"%s\" lacks \"%s\"\n", text, mdi_error(), what);
    mdi_test_failures++;
  }
}

static void test_jsonl(void) {
  struct mdi_request *reqs;
  const int n = build("ok.jsonl",
                      "{\"prompt\": \"Once\", \"seed\": 8999999999999999, \"max_tokens\": 5}\n\n"
                      "{\"prompt\": \"a \\\"b\\\"\", \"temperature\": 0, \"top_k\": 3, \"top_p\": 0.5}\n",
                      2, 256, &reqs);
  CHECK_EQ_INT(n, 4);
  if (n == 4) {
    /* ids j*K + k; a line's own seed + k, else S + id */
    CHECK(reqs[0].seed == 8999999999999999ull && reqs[1].seed == 9000000000000000ull);
    CHECK(reqs[2].seed == 42 + 2 && reqs[3].seed == 42 + 3);
    CHECK_EQ_INT(reqs[0].max_new, 5);
    CHECK_EQ_INT(reqs[2].max_new, 256);
    CHECK_STR(reqs[2].prompt, "a \"b\"");
    CHECK(reqs[3].sampling.temperature == 0.0f && reqs[3].sampling.top_k == 3 && reqs[3].sampling.top_p == 0.5f);
    CHECK_EQ_INT(reqs[1].n_prompt, reqs[0].n_prompt);
    CHECK_EQ_INT(reqs[0].prompt_tokens[0], tok.bos_id);
  }
  mdi_prompts_free(reqs, n);

  check_refused("t1.jsonl", "{\"prompt\": \"x\"} junk\n", "t1.jsonl:1: text after the JSON object at byte offset 16");
  check_refused("t2.jsonl", "{\"prompt\": \"x\"}{\"prompt\": \"y\"}\n", "t2.jsonl:1: text after the JSON object");
  check_refused("t3.jsonl", "{\"prompt\": \"x\"}\nnot JSON\n", "t3.jsonl:2: not a JSON object: expected a value");
  check_refused("t4.jsonl", "[1, 2]\n", "t4.jsonl:1: not a JSON object but an array");
  check_refused("t5.jsonl", "{\"prompt\": \"x\", \"seed\": 1, \"seed\": 2}\n", "t5.jsonl:1: key \"seed\" appears twice");
  check_refused("t6.jsonl", "{\"prompt\": \"x\", \"seed\": 9223372036854775808}\n",
                "\"seed\" must be an integer in [1, 9223372036854775807]");
  check_refused("t7.jsonl", "{\"prompt\": \"x\", \"seed\": 1.5}\n", "\"seed\" must be an integer");
  check_refused("t8.jsonl", "{\"prompt\": \"x\", \"colour\": \"red\"}\n", "t8.jsonl:1: unknown key \"colour\"");
  check_refused("t9.jsonl", "{\"prompt\": 42}\n", "t9.jsonl:1: \"prompt\" must be a string");
  check_refused("t10.jsonl", "{\"seed\": 3}\n", "t10.jsonl:1: the object needs one of \"prompt\", \"messages\" or \"prompt_tokens\"");
  check_refused("t11.jsonl", "{\"prompt\": \"x\", \"top_p\": 0}\n", "\"top_p\" must be a number in [1e-09, 1]");
  check_refused("t12.jsonl", "{\"prompt\": \"tab\there\"}\n", "control character inside a string");
}

static void test_text_file(void) {
  struct mdi_request *reqs;
  const int n = build("plain.txt", "Once upon a time\r\n\nThe end", 1, 256, &reqs);
  CHECK_EQ_INT(n, 3); /* an empty line is a prompt of its own */
  if (n == 3) {
    CHECK_STR(reqs[0].prompt, "Once upon a time");
    CHECK_STR(reqs[1].prompt, "");
    CHECK_EQ_INT(reqs[2].id, 2);
  }
  mdi_prompts_free(reqs, n);
  check_refused("empty.txt", "", "empty.txt: the prompt file holds no prompts");
}

/* Limits checked before any encoding: the number of sequences, and prompts
 * whose bytes alone need more tokens than max_seq. */
static void test_limits(void) {
  struct mdi_request *reqs = NULL;
  CHECK(build("five.txt", "a\nb\nc\nd\ne\n", 1 << 20, 256, &reqs) == -1);
  CHECK(strstr(mdi_error(), "5 prompts x --n-samples 1048576 = 5242880 sequences: at most 4194304") != NULL);
  char *big = malloc(2001);
  memset(big, 'a', 2000);
  big[2000] = '\0';
  CHECK(build("big.txt", big, 1, 64, &reqs) == -1);
  /* tok512's longest piece has 7 bytes: 2000 bytes need at least 286 tokens */
  CHECK(strstr(mdi_error(), "big.txt:1 is 2000 bytes: at least 286 tokens (no piece is longer than 7 bytes), more "
                            "than max-seq-len 64") != NULL);
  big[7 * 62] = '\0'; /* 62 pieces' worth of bytes: encoded, and then too long in tokens */
  CHECK(build("big.txt", big, 1, 64, &reqs) == -1);
  CHECK(strstr(mdi_error(), "tokens long but max-seq-len is 64") != NULL);
  free(big);
}

int main(void) {
  char model[512];
  const char *bin = getenv("MDI_BINARY_DIR");
  snprintf(model, sizeof model, "%s/tests/stories260K.h5", bin ? bin : ".");
  struct mdi_h5 *f;
  if (mdi_h5_open(&f, model) != MDI_OK || mdi_tokenizer_load(&tok, f) != MDI_OK) {
    fprintf(stderr, "test_prompts: %s\n", mdi_error());
    return 1;
  }
  mdi_h5_close(f);
  snprintf(dir, sizeof dir, "%s/test_prompts_XXXXXX", bin && strlen(bin) < 200 ? bin : "/tmp");
  if (!mkdtemp(dir)) snprintf(dir, sizeof dir, "/tmp");
  test_jsonl();
  test_text_file();
  test_limits();
  mdi_tokenizer_free(&tok);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (strcmp(dir, "/tmp") != 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return mdi_test_finish("test_prompts");
}

/* The journal (src/app/journal.c): lines written and read back, a torn last
 * line cut off, a line that is not ours refused, and --resume refusing a
 * journal made by another run, setting by setting; lines of an earlier
 * version (no settings) still resume on prompt and seed. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/app/journal.h"
#include "mdi/base/error.h"
#include "mdi_test.h"

static char dir[256];

static const char *path_of(const char *name) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static const char *write_text(const char *name, const char *text) {
  const char *p = path_of(name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
  return p;
}

static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fclose(f);
  return n;
}

static int prompt_tokens[2] = {1, 403};
static int tokens[3] = {407, 261, 378};

/* The record of sequence `id` as the run below makes it. */
static struct mdi_seq_record record(int id) {
  return (struct mdi_seq_record){.id = id, .prompt = "Once", .prompt_tokens = prompt_tokens, .n_prompt = 2,
                                 .tokens = tokens, .n_tokens = 3, .text = " upon a time", .text_len = 12,
                                 .finish_reason = "length", .seed = 42 + (uint64_t)id, .model = "a4be2f47b6e3376b",
                                 .temperature = 1.0f, .top_p = 0.9f, .top_k = 0, .max_tokens = 3, .max_seq_len = 512};
}

/* The run's four requests (prompt "Once", seeds 42 + id). */
static void requests(struct mdi_request *r, int n) {
  for (int i = 0; i < n; i++) {
    r[i] = (struct mdi_request){.id = i, .prompt = mdi_xstrdup("Once"), .n_prompt = 2, .max_new = 3,
                                .seed = 42 + (uint64_t)i, .sampling = {1.0f, 0.9f, 0}};
    r[i].prompt_tokens = mdi_xmalloc(2 * sizeof(int), "tokens");
    memcpy(r[i].prompt_tokens, prompt_tokens, sizeof prompt_tokens);
  }
}

static void free_requests(struct mdi_request *r, int n) {
  for (int i = 0; i < n; i++) {
    free(r[i].prompt);
    free(r[i].prompt_tokens);
  }
}

/* Resume a copy of the two-line journal with request 1 changed by `edit`;
 * the message must hold `what` (NULL: resuming must work). */
static void check_resume(const char *journal_text, void (*edit)(struct mdi_request *), int max_seq,
                         const char *what) {
  const char *p = write_text("resume.jsonl", journal_text);
  struct mdi_request r[4];
  requests(r, 4);
  if (edit) edit(&r[1]);
  int n = 4, skipped = 0, torn = 0;
  char model[24];
  const int rc = mdi_journal_resume(p, r, &n, max_seq, model, &skipped, &torn);
  if (what) {
    CHECK(rc == MDI_ERR);
    if (!strstr(mdi_error(), what)) {
      fprintf(stderr, "message \"%s\" lacks \"%s\"\n", mdi_error(), what);
      mdi_test_failures++;
    }
    free_requests(r, 4);
    return;
  }
  CHECK(rc == MDI_OK);
  CHECK_EQ_INT(skipped, 2);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT(r[0].id, 2);
  CHECK_EQ_INT(r[1].id, 3);
  free_requests(r, n);
}

static void other_seed(struct mdi_request *r) { r->seed = 7; }
static void other_prompt(struct mdi_request *r) {
  free(r->prompt);
  r->prompt = mdi_xstrdup("Twice");
}
static void other_temperature(struct mdi_request *r) { r->sampling.temperature = 0.5f; }
static void other_top_p(struct mdi_request *r) { r->sampling.top_p = 0.5f; }
static void other_top_k(struct mdi_request *r) { r->sampling.top_k = 5; }
static void other_limit(struct mdi_request *r) { r->max_new = 9; }

int main(void) {
  const char *base = getenv("MDI_BINARY_DIR");
  snprintf(dir, sizeof dir, "%s/test_journal_XXXXXX", base && strlen(base) < 200 ? base : "/tmp");
  if (!mkdtemp(dir)) return 1;

  /* write two lines, read them back */
  const char *jp = path_of("j.jsonl");
  struct mdi_journal *j;
  CHECK(mdi_journal_open(&j, jp, 0) == MDI_OK);
  struct mdi_seq_record r0 = record(0), r1 = record(1);
  CHECK(mdi_journal_write(j, &r0) == MDI_OK);
  CHECK(mdi_journal_write(j, &r1) == MDI_OK);
  CHECK(mdi_journal_close(j) == MDI_OK);
  struct mdi_journal_entry *e;
  int n, torn;
  CHECK(mdi_journal_read(jp, &e, &n, &torn) == MDI_OK);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT(torn, 0);
  if (n == 2) {
    CHECK_EQ_INT(e[1].id, 1);
    CHECK_EQ_INT(e[1].line, 2);
    CHECK(e[1].seed == 43);
    CHECK_EQ_INT(e[1].has_settings, 1);
    CHECK_STR(e[1].model, "a4be2f47b6e3376b");
    CHECK((float)e[1].top_p == 0.9f && (float)e[1].temperature == 1.0f);
    CHECK(e[1].top_k == 0 && e[1].max_tokens == 3 && e[1].max_seq_len == 512);
  }
  mdi_journal_entries_free(e, n);

  /* the same text for the resume cases */
  char text[4096];
  FILE *f = fopen(jp, "r");
  const size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = '\0';
  CHECK(strstr(text, "\"top_p\":0.9,") != NULL); /* floats as written: the fewest digits */

  check_resume(text, NULL, 512, NULL);
  check_resume(text, other_seed, 512, "resume.jsonl:2: sequence 1 was generated with seed 43 but this run gives it seed 7");
  check_resume(text, other_prompt, 512, "resume.jsonl:2: sequence 1 was generated from another prompt");
  check_resume(text, other_temperature, 512, "with temperature 1 but this run has 0.5 (-t)");
  check_resume(text, other_top_p, 512, "with top_p 0.9 but this run has 0.5 (--top-p)");
  check_resume(text, other_top_k, 512, "with top_k 0 but this run has 5 (--top-k)");
  check_resume(text, other_limit, 512, "with at most 3 new tokens but this run allows 9");
  check_resume(text, NULL, 256, "with max-seq-len 512 but this run has 256");

  /* the model digest is compared once the weights are loaded */
  char model[24];
  struct mdi_request rq[4];
  requests(rq, 4);
  int nq = 4, skipped;
  CHECK(mdi_journal_resume(write_text("m.jsonl", text), rq, &nq, 512, model, &skipped, &torn) == MDI_OK);
  CHECK_STR(model, "a4be2f47b6e3376b");
  CHECK(mdi_journal_check_model("m.jsonl", model, "a4be2f47b6e3376b") == MDI_OK);
  CHECK(mdi_journal_check_model("m.jsonl", model, "0000000000000001") == MDI_ERR);
  CHECK(strstr(mdi_error(), "generated by another model (digest a4be2f47b6e3376b") != NULL);
  free_requests(rq, nq);

  /* an earlier version's lines: no settings, prompt and seed still compared */
  const char *old = "{\"id\":0,\"prompt\":\"Once\",\"prompt_tokens\":[1,403],\"tokens\":[407],\"text\":\" upon\","
                    "\"finish_reason\":\"length\",\"seed\":42}\n"
                    "{\"id\":1,\"prompt\":\"Once\",\"prompt_tokens\":[1,403],\"tokens\":[407],\"text\":\" upon\","
                    "\"finish_reason\":\"length\",\"seed\":43}\n";
  check_resume(old, other_temperature, 256, NULL); /* settings unknown: not compared */
  check_resume(old, other_seed, 512, "resume.jsonl:2: sequence 1 was generated with seed 43");
  requests(rq, 4);
  nq = 4;
  CHECK(mdi_journal_resume(write_text("old.jsonl", old), rq, &nq, 512, model, &skipped, &torn) == MDI_OK);
  CHECK_STR(model, ""); /* any model */
  free_requests(rq, nq);

  /* a torn last line is cut off; a bad line before the last is not ours */
  char torn_text[4200];
  snprintf(torn_text, sizeof torn_text, "%s{\"id\":2,\"prompt\":\"On", text);
  const char *tp = write_text("torn.jsonl", torn_text);
  CHECK(mdi_journal_read(tp, &e, &n, &torn) == MDI_OK);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT(torn, 1);
  CHECK(file_size(tp) == (long)len);
  mdi_journal_entries_free(e, n);
  snprintf(torn_text, sizeof torn_text, "not ours\n%s", text);
  CHECK(mdi_journal_read(write_text("bad.jsonl", torn_text), &e, &n, &torn) == MDI_ERR);
  CHECK(strstr(mdi_error(), "bad.jsonl:1: not a journal line of mdi_pipeline") != NULL);

  /* two models in one file */
  char two[4200];
  snprintf(two, sizeof two, "%s", text);
  char *second = strstr(strchr(two, '\n') + 1, "a4be2f47b6e3376b");
  memcpy(second, "0123456789abcdef", 16);
  check_resume(two, NULL, 512, "resume.jsonl:2: the journal holds sequences of two models");

  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return mdi_test_finish("test_journal");
}

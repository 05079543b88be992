/* Fuzz harness: the journal reader of --resume (mdi_journal_read, then
 * mdi_journal_resume against a run of four sequences of the prompt "Once").
 * Input: the journal file's bytes.
 *
 * Checks on an accepted journal: line numbers increase, every entry has an
 * id and a prompt, a torn last line was cut off (the file ends with a
 * newline or is empty), and resuming keeps exactly the requests whose ids
 * are not in the journal, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mdi/app/journal.h"
#include "mdi/base/error.h"

static void make_requests(struct mdi_request *r, int n) {
  for (int i = 0; i < n; i++) {
    r[i] = (struct mdi_request){.id = i, .prompt = mdi_xstrdup("Once"), .n_prompt = 2, .max_new = 3,
                                .seed = 42 + (uint64_t)i, .sampling = {1.0f, 0.9f, 0}};
    r[i].prompt_tokens = mdi_xcalloc(2, sizeof(int), "tokens");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_temp_file(data, size, ".jsonl");
  struct mdi_journal_entry *e;
  int n, torn;
  char in_journal[4] = {0};
  if (mdi_journal_read(path, &e, &n, &torn) == MDI_OK) {
    for (int i = 0; i < n; i++) {
      FUZZ_CHECK(e[i].prompt && e[i].id >= 0);
      FUZZ_CHECK(i == 0 || e[i].line > e[i - 1].line);
      if (e[i].id < 4 && !strcmp(e[i].prompt, "Once")) in_journal[e[i].id] = 1;
    }
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f);
    long end = -1;
    int last = '\n';
    if (fseek(f, 0, SEEK_END) == 0) end = ftell(f);
    if (end > 0 && fseek(f, -1, SEEK_END) == 0) last = fgetc(f);
    fclose(f);
    FUZZ_CHECK(end == 0 || last == '\n');
    mdi_journal_entries_free(e, n);
  }
  /* the same bytes again (the read may have cut a torn line) through --resume */
  path = fuzz_temp_file(data, size, ".jsonl");
  struct mdi_request r[4];
  make_requests(r, 4);
  int kept = 4, skipped = 0;
  char model[24];
  if (mdi_journal_resume(path, r, &kept, 512, model, &skipped, &torn) == MDI_OK) {
    FUZZ_CHECK(kept + skipped == 4);
    for (int i = 0, k = 0; i < 4; i++)
      if (!in_journal[i]) FUZZ_CHECK(k < kept && r[k++].id == i);
    FUZZ_CHECK(strlen(model) < sizeof model);
  } else {
    kept = 4;
    FUZZ_CHECK(mdi_error()[0] != '\0');
  }
  for (int i = 0; i < kept; i++) {
    free(r[i].prompt);
    free(r[i].prompt_tokens);
  }
  return 0;
}

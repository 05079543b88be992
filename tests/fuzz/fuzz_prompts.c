/* Fuzz harness: the JSONL prompt file of mdi_pipeline (-f FILE.jsonl), read
 * into the run's requests by mdi_prompts_build with the shipped tok512
 * tokenizer (as fuzz_prompt_encode.c; MDI_FUZZ_TOKENIZER overrides it).
 * Input: the file's bytes; its first byte also picks --n-samples (1-3).
 *
 * Checks on an accepted file: ids are 0..n-1 in order, the samples of a
 * prompt share its text and tokens, every prompt fits max_seq, every token
 * is in the vocabulary, sampling settings lie in their documented ranges. */
#define _GNU_SOURCE /* mkstemps */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "mdi/app/options.h"
#include "mdi/app/prompts.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

#ifndef MDI_FUZZ_TOKENIZER_PATH
#error "MDI_FUZZ_TOKENIZER_PATH: the path of models/tok512.bin (tests/fuzz/CMakeLists.txt)"
#endif

#define MAX_SEQ 64

static struct mdi_tokenizer tok;
static char link_path[256]; /* NAME.jsonl -> the input file: the suffix selects JSONL */

static void remove_link(void) { unlink(link_path); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  fuzz_load_tokenizer(&tok, MDI_FUZZ_TOKENIZER_PATH, "fuzz_prompts");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *file = fuzz_temp_file(data, size, ".jsonl");
  if (!link_path[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(link_path, sizeof link_path, "%s/mdi-fuzz-prompts-%d.jsonl", tmp && tmp[0] ? tmp : "/tmp",
             (int)getpid());
    unlink(link_path);
    if (symlink(file, link_path) != 0) {
      perror(link_path);
      exit(2);
    }
    atexit(remove_link);
  }
  struct mdi_options o;
  mdi_options_defaults(&o);
  o.prompt_file = mdi_xstrdup(link_path);
  o.n_samples = size ? 1 + data[0] % 3 : 1;
  struct mdi_request *reqs;
  int n;
  if (mdi_prompts_build(&o, &tok, MAX_SEQ, &reqs, &n) == MDI_OK) {
    FUZZ_CHECK(n >= o.n_samples && n % o.n_samples == 0);
    for (int i = 0; i < n; i++) {
      const struct mdi_request *r = &reqs[i];
      const struct mdi_request *first = &reqs[i - i % o.n_samples];
      FUZZ_CHECK(r->id == i);
      FUZZ_CHECK(r->n_prompt >= 1 && r->n_prompt <= MAX_SEQ);
      FUZZ_CHECK(!strcmp(r->prompt, first->prompt) && r->n_prompt == first->n_prompt);
      for (int t = 0; t < r->n_prompt; t++) FUZZ_CHECK(r->prompt_tokens[t] >= 0 && r->prompt_tokens[t] < tok.vocab_size);
      FUZZ_CHECK(r->max_new >= 0 && r->max_new <= 1 << 20);
      FUZZ_CHECK(r->seed >= 1);
      FUZZ_CHECK(r->sampling.temperature >= 0 && r->sampling.temperature <= 100);
      FUZZ_CHECK(r->sampling.top_p > 0 && r->sampling.top_p <= 1);
      FUZZ_CHECK(r->sampling.top_k >= 0 && r->sampling.top_k <= 1 << 22);
    }
    mdi_prompts_free(reqs, n);
  } else {
    FUZZ_CHECK(mdi_error()[0] != '\0');
  }
  mdi_options_free(&o);
  return 0;
}

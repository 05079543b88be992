/* Shared pieces of the fuzz harnesses (tests/fuzz/fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput, and LLVMFuzzerInitialize when
 * it needs more set-up than fuzz_util.c's default (quiet logs).  It is linked either with libFuzzer (MDI_FUZZ=ON,
 * tests/fuzz/run_fuzz.sh) or with replay_main.c, which feeds it the seed and
 * regression files in every normal build (CTest: fuzz.replay.*). */
#ifndef MDI_FUZZ_UTIL_H
#define MDI_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the parser promised does not hold: a finding, like a crash.
 * The message also reaches libFuzzer's log when run_fuzz.sh has closed the
 * harness's stderr (-close_fd_mask=2). */
_Noreturn void fuzz_fail(const char *file, int line, const char *cond);
#define FUZZ_CHECK(cond)                                  \
  do {                                                    \
    if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond);    \
  } while (0)

/* The parsers read named files: every input is written to one temporary
 * file of this process (rewritten for each input) and its path returned:
 * an in-memory file (memfd) when possible, else a file in $TMPDIR (or /tmp)
 * whose name ends in `suffix`, removed at exit. */
const char *fuzz_temp_file(const uint8_t *data, size_t size, const char *suffix);

/* Silence the parsers' notes (their errors are returned, not printed):
 * millions of inputs would print millions of lines. */
void fuzz_quiet(void);

/* After convert_llama2c_locate / convert_gguf_locate succeeded: every
 * tensor of the model (shapes from src->hp) lies inside the input file. */
struct convert_model_src;
void fuzz_check_located(const struct convert_model_src *src);

/* Encode `text` (with BOS and EOS) and decode the ids again: text that is
 * not valid UTF-8 never encodes, every id is a token, the last is EOS, and
 * decode stays within its bound.  With `exact`, the first id must also be
 * BOS and the decoded bytes the text whenever every byte of it is printable
 * (decode drops lone control bytes): true for vocabularies like tok512,
 * which have the dummy-prefix piece " ", every byte piece <0xNN> and no
 * piece extending BOS's, not for any vocabulary. */
struct mdi_tokenizer;
void fuzz_check_roundtrip(const struct mdi_tokenizer *t, const char *text, size_t len, int exact);

/* The llama2.c tokenizer of the harnesses that encode prompts: the file
 * $MDI_FUZZ_TOKENIZER names, else default_path (vocabulary 512); a harness
 * that cannot load it exits 2 with `harness: message`. */
void fuzz_load_tokenizer(struct mdi_tokenizer *t, const char *default_path, const char *harness);

#endif

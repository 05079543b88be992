/* Runs a fuzz harness (tests/fuzz/fuzz_*.c) over files, without libFuzzer:
 *   replay_NAME FILE|DIR...
 * Every regular file given, or found directly in a directory given (in name
 * order), is one input.  CTest runs it over the seed corpus and the
 * regression inputs in every build (fuzz.replay.*), so a crash that was
 * fixed stays fixed; a new crashing input from run_fuzz.sh replays the same
 * way.  Exit status 0 once every input ran; a finding aborts. */
#define _DEFAULT_SOURCE /* scandir, alphasort */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

/* Harnesses without set-up leave it undefined. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Read the whole file; NULL (message printed) on failure. */
static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *bigger = realloc(buf, cap * 2);
    if (!bigger) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  int failed = !buf || ferror(f);
  if (fclose(f) != 0) failed = 1;
  if (failed) {
    fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
    free(buf);
    return NULL;
  }
  *size = n;
  return buf;
}

static int run_file(const char *path, int *count) {
  size_t size = 0;
  uint8_t *data = read_file(path, &size);
  if (!data) return 1;
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  ++*count;
  return 0;
}

static int skip_entry(const struct dirent *e) { return e->d_name[0] != '.'; }

static int run_path(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) return run_file(path, count);
  struct dirent **entries;
  int n = scandir(path, &entries, skip_entry, alphasort);
  if (n < 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return 1;
  }
  int failed = 0;
  for (int i = 0; i < n; i++) {
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", path, entries[i]->d_name);
    if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) failed |= run_file(file, count);
    free(entries[i]);
  }
  free(entries);
  return failed;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int count = 0, failed = 0;
  for (int i = 1; i < argc; i++) failed |= run_path(argv[i], &count);
  fprintf(stderr, "replay: %d inputs ran without a finding\n", count);
  return failed || count == 0;
}

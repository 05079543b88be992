/* Helpers of the mdi_convert tests: run the tool, read whole files, compare
 * datasets of a converted model with expected floats. */
#ifndef MDI_CONVERT_TEST_UTIL_H
#define MDI_CONVERT_TEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"

/* $MDI_BINARY_DIR/tests/<name>, created (the build tree, not the sources). */
static inline const char *convert_test_workdir(const char *name, char *buf, size_t n) {
  const char *bin = getenv("MDI_BINARY_DIR");
  snprintf(buf, n, "%s/tests", bin ? bin : ".");
  mkdir(buf, 0755);
  size_t used = strlen(buf);
  snprintf(buf + used, n - used, "/%s", name);
  mkdir(buf, 0755);
  return buf;
}

/* The tool under test; CMake passes its path. */
#ifndef MDI_CONVERT_EXE
#define MDI_CONVERT_EXE "mdi_convert"
#endif

/* Run mdi_convert with argv (NULL-terminated, argv[0] ignored); returns its
 * exit status, or -1 when it did not exit normally. */
static inline int convert_test_run(char **argv) {
  char exe[] = MDI_CONVERT_EXE;
  argv[0] = exe;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execvp(exe, argv);
    fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

/* Whole file into memory (malloc'd); NULL (and a message) on error. */
static inline unsigned char *convert_test_slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static inline int convert_test_write(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Read float32 dataset `name` of shape dims and compare it bit for bit with
 * `want`; reports the first difference.  Returns 1 when equal. */
static inline int convert_test_same_floats(struct mdi_h5 *f, const char *name, int ndims,
                                           const int64_t *dims, const float *want) {
  int64_t n = 1;
  for (int i = 0; i < ndims; i++) n *= dims[i];
  float *have = malloc((size_t)n * sizeof *have);
  if (!have || mdi_h5_read(f, name, MDI_F32, ndims, dims, have) != MDI_OK) {
    fprintf(stderr, "%s: /%s: %s\n", mdi_h5_path(f), name, mdi_error());
    free(have);
    return 0;
  }
  int same = memcmp(have, want, (size_t)n * sizeof *have) == 0;
  for (int64_t i = 0; !same && i < n; i++)
    if (memcmp(&have[i], &want[i], sizeof *have) != 0) {
      fprintf(stderr, "%s: /%s[%lld] = %.9g, expected %.9g\n", mdi_h5_path(f), name, (long long)i,
              (double)have[i], (double)want[i]);
      break;
    }
  free(have);
  return same;
}

#endif

/* base/path.c: kinds of files refused as inputs and outputs, and paths that
 * name the same file (by inode, and by resolved path before it exists). */
#define _GNU_SOURCE /* mkdtemp */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/base/path.h"
#include "mdi_test.h"

static char dir[256];

static const char *at(const char *name) {
  static char bufs[4][512];
  static int next;
  char *b = bufs[next++ % 4];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}

static void check_msg(const char *what) {
  if (!strstr(mdi_error(), what)) {
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", mdi_error(), what);
    mdi_test_failures++;
  }
}

int main(void) {
  const char *base = getenv("MDI_BINARY_DIR");
  snprintf(dir, sizeof dir, "%s/test_path_XXXXXX", base && strlen(base) < 200 ? base : "/tmp");
  if (!mkdtemp(dir)) return 1;
  FILE *f = fopen(at("file.txt"), "w");
  fputs("x", f);
  fclose(f);
  CHECK(mkfifo(at("fifo"), 0600) == 0);
  CHECK(symlink("file.txt", at("link.txt")) == 0);
  CHECK(symlink("loop2", at("loop1")) == 0 && symlink("loop1", at("loop2")) == 0);
  CHECK(mkdir(at("sub"), 0700) == 0);

  CHECK_EQ_INT(mdi_path_input(at("file.txt"), "the prompt file"), 1);
  CHECK_EQ_INT(mdi_path_input(at("link.txt"), "the prompt file"), 1);
  CHECK_EQ_INT(mdi_path_input(at("missing"), "the prompt file"), 0);
  CHECK_EQ_INT(mdi_path_input(at("fifo"), "the prompt file"), MDI_ERR);
  check_msg("fifo: the prompt file is a FIFO (named pipe), not a regular file");
  CHECK_EQ_INT(mdi_path_input("/dev/zero", "the model file"), MDI_ERR);
  check_msg("/dev/zero: the model file is a character device");
  CHECK_EQ_INT(mdi_path_input(at("sub"), "the config file"), MDI_ERR);
  check_msg("the config file is a directory");
  CHECK_EQ_INT(mdi_path_input(at("loop1"), "the model file"), MDI_ERR);
  check_msg("the model file is a loop of symbolic links");
  CHECK_EQ_INT(mdi_path_input(at("file.txt/x"), "the model file"), MDI_ERR);
  check_msg("a part of the path is not a directory");

  CHECK_EQ_INT(mdi_path_output(at("file.txt"), "the output file"), MDI_OK);
  CHECK_EQ_INT(mdi_path_output(at("new.jsonl"), "the output file"), MDI_OK);
  CHECK_EQ_INT(mdi_path_output("/dev/null", "the output file"), MDI_ERR);
  check_msg("/dev/null: the output file is a character device, not a regular file (it is never replaced)");
  CHECK_EQ_INT(mdi_path_output(at("nodir/x.json"), "the stats file"), MDI_ERR);
  check_msg("cannot create the stats file: directory");

  CHECK(mdi_path_same(at("file.txt"), at("link.txt")));     /* the same inode */
  CHECK(mdi_path_same(at("file.txt"), at("sub/../file.txt")));
  CHECK(!mdi_path_same(at("file.txt"), at("fifo")));
  CHECK(!mdi_path_same(at("file.txt"), at("new.txt")));      /* one exists */
  CHECK(mdi_path_same(at("new.txt"), at("sub/../new.txt"))); /* neither yet */
  CHECK(mdi_path_same(at("new.txt"), at("./new.txt")));
  CHECK(!mdi_path_same(at("new.txt"), at("sub/new.txt")));
  char cwd[512], rel[600];
  if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
    snprintf(rel, sizeof rel, "%s/new.txt", dir);
    CHECK(mdi_path_same("new.txt", rel)); /* relative against absolute */
    CHECK(chdir(cwd) == 0);
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return mdi_test_finish("test_path");
}

/* Kinds of files and identity of paths (see path.h). */
#define _GNU_SOURCE /* realpath */
#include "mdi/base/path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mdi/base/error.h"

static const char *kind_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

/* stat(path): 1 found, 0 missing, MDI_ERR (message) otherwise. */
static int look(const char *path, const char *what, struct stat *st) {
  if (stat(path, st) == 0) return 1;
  if (errno == ENOENT) return 0;
  if (errno == ELOOP) return mdi_fail("%s: %s is a loop of symbolic links", path, what);
  if (errno == ENOTDIR) return mdi_fail("%s: %s: a part of the path is not a directory", path, what);
  return mdi_fail("%s: %s cannot be looked at: %s", path, what, strerror(errno));
}

int mdi_path_input(const char *path, const char *what) {
  struct stat st;
  const int found = look(path, what, &st);
  if (found <= 0) return found;
  if (!S_ISREG(st.st_mode))
    return mdi_fail("%s: %s is %s, not a regular file", path, what, kind_name(st.st_mode));
  return 1;
}

/* The directory part of path ("." when there is none) into buf. */
static void dir_of(const char *path, char *buf, size_t size) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(buf, size, ".");
  else if (slash == path) snprintf(buf, size, "/");
  else snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

int mdi_path_output(const char *path, const char *what) {
  struct stat st;
  const int found = look(path, what, &st);
  if (found < 0) return MDI_ERR;
  if (found) {
    if (!S_ISREG(st.st_mode))
      return mdi_fail("%s: %s is %s, not a regular file (it is never replaced)", path, what, kind_name(st.st_mode));
    return MDI_OK;
  }
  char dir[PATH_MAX];
  dir_of(path, dir, sizeof dir);
  if (stat(dir, &st) != 0)
    return mdi_fail("%s: cannot create %s: directory %s: %s", path, what, dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return mdi_fail("%s: cannot create %s: %s is not a directory", path, what, dir);
  return MDI_OK;
}

/* The absolute path of a file that may not exist yet: its directory resolved
 * (symbolic links, "." and "..") plus its name; 0 when the directory is not
 * there either. */
static int resolved(const char *path, char *out, size_t size) {
  char real[PATH_MAX];
  if (realpath(path, real)) {
    snprintf(out, size, "%s", real);
    return 1;
  }
  char dir[PATH_MAX];
  dir_of(path, dir, sizeof dir);
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!realpath(dir, real)) return 0;
  if (snprintf(out, size, "%s/%s", strcmp(real, "/") ? real : "", name) >= (int)size) return 0;
  return 1;
}

int mdi_path_same(const char *a, const char *b) {
  struct stat sa, sb;
  const int ha = stat(a, &sa) == 0, hb = stat(b, &sb) == 0;
  if (ha && hb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (ha != hb) return 0; /* one exists, the other not */
  char ra[PATH_MAX], rb[PATH_MAX];
  if (resolved(a, ra, sizeof ra) && resolved(b, rb, sizeof rb)) return strcmp(ra, rb) == 0;
  return strcmp(a, b) == 0;
}

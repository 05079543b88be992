/* Paths the programs read and write: what kind of file a path names, and
 * whether two paths name the same file.
 *
 * Every file read or written is a regular file: a FIFO would block the
 * reader forever, a device like /dev/zero feeds it until memory runs out,
 * and an output written over a device node (as root, /dev/null) replaces
 * it.  So each path is looked at (stat, which never blocks) before it is
 * opened, and anything else is refused with a message naming it. */
#ifndef MDI_PATH_H
#define MDI_PATH_H

/* What `path` is, as an input: 1 a regular file (symbolic links followed),
 * 0 missing (the caller decides what that means), MDI_ERR (message set,
 * naming `what`, e.g. "the prompt file") for a directory, FIFO, device or
 * socket, a loop of symbolic links, or a path that cannot be looked at. */
int mdi_path_input(const char *path, const char *what);

/* An output path: missing with an existing directory, or a regular file;
 * else MDI_ERR with a message naming `what` ("the output file (-o)"). */
int mdi_path_output(const char *path, const char *what);

/* 1 when a and b name the same file: the same device and inode when both
 * exist, else the same absolute path once the directories' symbolic links
 * and "." and ".." are resolved (a file not written yet). */
int mdi_path_same(const char *a, const char *b);

#endif

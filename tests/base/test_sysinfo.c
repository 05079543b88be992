/* base/sysinfo.c: the memory a process may use, from a fake /proc and
 * /sys/fs/cgroup tree: MemAvailable, cgroup v2 and v1 limits of the
 * process's cgroup and its ancestors, inactive file pages counted as free. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mdi/base/sysinfo.h"
#include "mdi_test.h"

static char root[256];

/* Write text to root/rel, making the directories on the way. */
static void put(const char *rel, const char *text) {
  char path[768];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0700);
      *p = '/';
    }
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
}

static void cleanup(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (root[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
}

static void fresh(const char *name) {
  cleanup();
  const char *base = getenv("MDI_BINARY_DIR");
  snprintf(root, sizeof root, "%s/test_sysinfo_%s_XXXXXX", base && strlen(base) < 180 ? base : "/tmp", name);
  if (!mkdtemp(root)) exit(1);
  put("proc/meminfo", "MemTotal:       32000000 kB\nMemAvailable:   16000000 kB\n");
}

int main(void) {
  struct mdi_mem_usable u;

  /* no cgroup limit: MemAvailable */
  fresh("none");
  put("proc/self/cgroup", "0::/\n");
  put("sys/fs/cgroup/memory.current", "123\n");
  mdi_mem_usable(root, &u);
  CHECK(u.mem_available == 16000000.0 * 1024);
  CHECK(u.bytes == u.mem_available);
  CHECK(u.cgroup[0] == '\0');

  /* v2: the job's limit (1 GiB, 512 MiB used of which 100 MiB inactive file), the parent unlimited */
  fresh("v2");
  put("proc/self/cgroup", "0::/user/job\n");
  put("sys/fs/cgroup/user/memory.max", "max\n");
  put("sys/fs/cgroup/user/job/memory.max", "1073741824\n");
  put("sys/fs/cgroup/user/job/memory.current", "536870912\n");
  put("sys/fs/cgroup/user/job/memory.stat", "anon 400000000\nfile 136870912\ninactive_file 104857600\n");
  mdi_mem_usable(root, &u);
  CHECK(u.cgroup_limit == 1073741824.0);
  CHECK(u.cgroup_free == 1073741824.0 - 536870912.0 + 104857600.0);
  CHECK(u.bytes == u.cgroup_free);
  CHECK(strstr(u.cgroup, "/user/job") != NULL);

  /* v2: a tighter ancestor wins */
  put("sys/fs/cgroup/user/memory.max", "600000000\n");
  put("sys/fs/cgroup/user/memory.current", "550000000\n");
  mdi_mem_usable(root, &u);
  CHECK(u.cgroup_limit == 600000000.0 && u.cgroup_free == 50000000.0);

  /* v1: the memory controller's hierarchy; 2^63 - 4096 means no limit */
  fresh("v1");
  put("proc/self/cgroup", "9:name=systemd:/\n4:cpu,memory:/a/b\n0::/\n");
  put("sys/fs/cgroup/memory/a/b/memory.limit_in_bytes", "9223372036854771712\n");
  put("sys/fs/cgroup/memory/a/memory.limit_in_bytes", "2147483648\n");
  put("sys/fs/cgroup/memory/a/memory.usage_in_bytes", "1073741824\n");
  put("sys/fs/cgroup/memory/a/memory.stat", "cache 5\ninactive_file 7\ntotal_inactive_file 1000\n");
  mdi_mem_usable(root, &u);
  CHECK(u.cgroup_limit == 2147483648.0);
  CHECK(u.cgroup_free == 2147483648.0 - 1073741824.0 + 1000.0);
  CHECK(u.bytes == u.cgroup_free);

  /* a container: the process's path is the host's, the limit sits at the mount's top */
  fresh("container");
  put("proc/self/cgroup", "0::/system.slice/docker-1.scope\n");
  put("sys/fs/cgroup/memory.max", "4294967296\n");
  put("sys/fs/cgroup/memory.current", "1000\n");
  mdi_mem_usable(root, &u);
  CHECK(u.cgroup_limit == 4294967296.0 && u.bytes == 4294967296.0 - 1000.0);
  cleanup();
  return mdi_test_finish("test_sysinfo");
}

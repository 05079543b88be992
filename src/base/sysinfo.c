/* Memory and CPUs of this process and node (see sysinfo.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "mdi/base/sysinfo.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

double mdi_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

static double meminfo_available(const char *root) {
  char path[512];
  snprintf(path, sizeof path, "%s/proc/meminfo", root);
  FILE *f = fopen(path, "r");
  if (!f) return 0.0;
  char line[256];
  double kib = 0.0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
  fclose(f);
  return kib * 1024.0;
}

double mdi_mem_available_bytes(void) { return meminfo_available(""); }

/* The first number in file dir/name (-1: missing or "max"). */
static double read_number(const char *dir, const char *name) {
  char path[768];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  double v = -1;
  if (fscanf(f, "%lf", &v) != 1) v = -1;
  fclose(f);
  return v;
}

/* The value of `key` in dir/memory.stat (0 when absent). */
static double stat_value(const char *dir, const char *key) {
  char path[768], line[256];
  snprintf(path, sizeof path, "%s/memory.stat", dir);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  const size_t n = strlen(key);
  double v = 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, n) && line[n] == ' ') {
      v = strtod(line + n + 1, NULL);
      break;
    }
  fclose(f);
  return v;
}

/* Walk from the cgroup directory `dir` up to `top`, keeping the tightest
 * limit.  v2: memory.max, memory.current, inactive_file; v1:
 * memory.limit_in_bytes (about 2^63 means none), memory.usage_in_bytes,
 * total_inactive_file. */
static void cgroup_walk(char *dir, const char *top, int v2, struct mdi_mem_usable *u) {
  for (;;) {
    const double limit = read_number(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    if (limit > 0 && limit < 0x1p60) {
      const double usage = read_number(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
      double free_ = limit - (usage > 0 ? usage : 0) + stat_value(dir, v2 ? "inactive_file" : "total_inactive_file");
      if (free_ > limit) free_ = limit;
      if (free_ < 0) free_ = 0;
      if (!u->cgroup[0] || free_ < u->cgroup_free) {
        u->cgroup_limit = limit;
        u->cgroup_free = free_;
        snprintf(u->cgroup, sizeof u->cgroup, "%s", dir);
      }
    }
    char *slash = strrchr(dir, '/');
    if (strlen(dir) <= strlen(top) || !slash) break;
    *slash = '\0';
  }
}

void mdi_mem_usable(const char *root, struct mdi_mem_usable *u) {
  memset(u, 0, sizeof *u);
  u->mem_available = meminfo_available(root);
  char path[512], line[1024];
  snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f)) {
    /* "0::/path" (v2) or "4:memory:/path" (v1; controllers may be listed together) */
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = *c2 = '\0';
    const char *controllers = c1 + 1, *cg = c2 + 1;
    int v1_memory = 0;
    for (const char *p = controllers; *p;) {
      const size_t n = strcspn(p, ",");
      if (n == 6 && !strncmp(p, "memory", 6)) v1_memory = 1;
      p += n + (p[n] == ',');
    }
    const int v2 = !strcmp(line, "0") && controllers[0] == '\0';
    if (!v2 && !v1_memory) continue;
    char top[600], dir[1700];
    snprintf(top, sizeof top, "%s/sys/fs/cgroup%s", root, v2 ? "" : "/memory");
    snprintf(dir, sizeof dir, "%s%s", top, strcmp(cg, "/") ? cg : "");
    cgroup_walk(dir, top, v2, u);
    /* in a container the path may be the host's: look at the mount's own top too */
    snprintf(dir, sizeof dir, "%s", top);
    cgroup_walk(dir, top, v2, u);
  }
  if (f) fclose(f);
  u->bytes = u->mem_available;
  if (u->cgroup[0] && (u->bytes <= 0 || u->cgroup_free < u->bytes)) u->bytes = u->cgroup_free;
}

int mdi_cpus_allowed(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

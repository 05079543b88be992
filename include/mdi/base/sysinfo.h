/* What this process and node have: memory, CPUs. */
#ifndef MDI_SYSINFO_H
#define MDI_SYSINFO_H

/* Peak resident set size of this process in bytes. */
double mdi_peak_rss_bytes(void);
/* MemAvailable of this node in bytes (Linux /proc/meminfo), 0 if unknown. */
double mdi_mem_available_bytes(void);
/* The memory this process may still use, before it allocates its share:
 * MemAvailable of the node and, under a cgroup memory limit (v1 or v2, the
 * tightest of the process's cgroup and its ancestors), that limit minus the
 * cgroup's usage, counting its inactive file pages (page cache the kernel
 * drops first) as free. */
struct mdi_mem_usable {
  double bytes;          /* the smaller of the two known values; 0: unknown */
  double mem_available;  /* MemAvailable, 0 if unknown */
  double cgroup_limit;   /* the limiting cgroup's limit, 0 if none */
  double cgroup_free;    /* its limit - usage + inactive file pages */
  char cgroup[256];      /* its directory, "" if none */
};
/* root: "" for this machine, or a directory holding proc/meminfo,
 * proc/self/cgroup and sys/fs/cgroup/... (tests). */
void mdi_mem_usable(const char *root, struct mdi_mem_usable *u);

/* CPUs this process may run on (its affinity mask, e.g. an mpirun binding),
 * 0 if unknown. */
int mdi_cpus_allowed(void);

#endif

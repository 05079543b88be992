/* Memory and CPUs of this process and node (see sysinfo.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "mdi/base/sysinfo.h"

#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>

double mdi_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

double mdi_mem_available_bytes(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0.0;
  char line[256];
  double kib = 0.0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
  fclose(f);
  return kib * 1024.0;
}

int mdi_cpus_allowed(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

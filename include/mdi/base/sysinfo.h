/* What this process and node have: memory, CPUs. */
#ifndef MDI_SYSINFO_H
#define MDI_SYSINFO_H

/* Peak resident set size of this process in bytes. */
double mdi_peak_rss_bytes(void);
/* MemAvailable of this node in bytes (Linux /proc/meminfo), 0 if unknown. */
double mdi_mem_available_bytes(void);
/* CPUs this process may run on (its affinity mask, e.g. an mpirun binding),
 * 0 if unknown. */
int mdi_cpus_allowed(void);

#endif

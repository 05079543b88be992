/* Resource measurements for the stats (see stats.h). */
#include "mdi/stats.h"

#include <sys/resource.h>

double mdi_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

/* A deliberate leak after a full MPI_Init/MPI_Finalize, for the asan-ubsan
 * build: LeakSanitizer must still report it (tests/sanitizers/lsan.supp
 * silences Open MPI's own allocations, not ours), in every rank that mpirun
 * starts (they inherit the sanitizer options from mpirun's environment). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/ring/comm.h"
#include "mdi/base/error.h"

/* 4242 bytes: an easy size to find in the report */
#define PROBE_BYTES 4242

static void *volatile probe;

int main(int argc, char **argv) {
  if (mdi_comm_init(&argc, &argv) != MDI_OK) {
    fprintf(stderr, "leak_probe: %s\n", mdi_error());
    return 1;
  }
  mdi_comm_barrier();
  mdi_comm_finalize();
  probe = malloc(PROBE_BYTES);
  if (!probe) return 1;
  memset(probe, 1, PROBE_BYTES);
  probe = NULL; /* the only pointer is gone: a direct leak */
  return 0;
}

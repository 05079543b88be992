/* Preloaded (LD_PRELOAD) into the processes of the asan-ubsan test suite
 * (cmake/MdiTesting.cmake): dlclose() does nothing, so the Open MPI plugins
 * (mca_*.so) that MPI_Finalize unloads stay mapped until the process exits.
 *
 * LeakSanitizer checks at exit.  With the plugins unloaded, the frames of
 * their allocations belong to no module: the report prints "<unknown
 * module>", and matching tests/sanitizers/lsan.supp re-reads the process's
 * memory map for every such frame, about one CPU-second per rank.  With the
 * plugins kept, their frames are named, much of their memory is still
 * referenced (not a leak), and the check is three times cheaper.  Open MPI
 * 5 has an option for this (mca_base_component_disable_dlclose); 4.1, the
 * Debian 12 version, does not.
 *
 * Built without sanitizers, since it is also preloaded into the programs
 * the tests run that are not instrumented (mpirun, python3, sh).  Nothing in
 * the suite needs a library to be unloaded. */
int dlclose(void *handle);

int dlclose(void *handle) {
  (void)handle;
  return 0;
}

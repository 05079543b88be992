# Shared by the benchmark scripts; source it with BENCH_DIR set to bench/.
# Sets SRC_DIR (the source tree), BUILD_DIR (MDI_BUILD_DIR, default build/,
# relative to the source tree), PIPELINE and CONVERT (the executables), and
# defines stop_child.
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
BUILD_DIR=${MDI_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$SRC_DIR/$BUILD_DIR ;; esac
PIPELINE=$BUILD_DIR/mdi_pipeline
CONVERT=$BUILD_DIR/mdi_convert

# stop_child: end the launch still running in the background ($CHILD), if
# any, and wait for it (the scripts' exit traps call it)
stop_child() {
  if [ -n "${CHILD:-}" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
}

# Shared by the benchmark scripts; source it with BENCH_DIR set to bench/.
# Sets SRC_DIR (the source tree), BUILD_DIR (MDI_BUILD_DIR, default build/,
# relative to the source tree), PIPELINE and CONVERT (the executables), and
# defines opt_value and stop_child.
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

# opt_value "$@": the value of the option in $1, for `VAR=$(opt_value "$@")`
# in an argument loop. An option given last without its value, or with an
# empty one, is a usage error like the others: exit 2 (which `set -e` passes
# on from the assignment) with a message naming the option.
# opt_value_or_empty "$@": the same for an option whose value may be "".
opt_value_or_empty() {
  [ $# -ge 2 ] || opt_missing "$1"
  printf '%s' "$2"
}
opt_value() {
  { [ $# -ge 2 ] && [ -n "$2" ]; } || opt_missing "$1"
  printf '%s' "$2"
}
opt_missing() {
  echo "${0##*/}: error: $1 needs a value (see --help)" >&2
  exit 2
}

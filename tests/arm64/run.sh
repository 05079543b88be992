#!/bin/sh
# The arm64 tests (ctest -L arm64, tests/arm64/CMakeLists.txt) run through here:
#   run.sh build            configure and build the arm64 tree inside the root
#   run.sh ctest ARGS...    ctest ARGS... on the arm64 tree, inside the root
#   run.sh exec CMD...      CMD on the host (a check of arm64 outputs)
# Environment (set by CTest): MDI_SOURCE_DIR, MDI_ARM64_ROOT, MDI_ARM64_BUILD,
# MDI_BUILD_DIR.
#
# Without a finished root (scripts/arm64-root.sh makes it) or without root
# privileges, a test fails with a message saying so when MDI_ARM64_REQUIRED=1
# (scripts/test.sh sets it), and is reported as skipped (exit 77) otherwise,
# so that a plain `ctest` on a machine without the root says what it left out.
set -eu
src=${MDI_SOURCE_DIR:?}
root=${MDI_ARM64_ROOT:?}
arm_build=${MDI_ARM64_BUILD:?}

unavailable() {
  if [ "${MDI_ARM64_REQUIRED:-0}" = 1 ]; then
    echo "error: $1" >&2
    exit 1
  fi
  echo "skipped: $1 (with MDI_ARM64_REQUIRED=1 this is a failure)"
  exit 77
}
[ "$(id -u)" = 0 ] || unavailable "the arm64 tests need root (chroot, mounts)"
[ -e "$root/.mdi-arm64-root-ready" ] ||
  unavailable "no finished arm64 root at $root: make it with scripts/arm64-root.sh, or leave the label out (ctest -LE arm64)"

case "${1:-}" in
  build)
    exec "$src/scripts/arm64-root.sh" --build-only
    ;;
  ctest)
    shift
    [ -e "$arm_build/CMakeCache.txt" ] || { echo "error: $arm_build is not configured (test arm64.build)" >&2; exit 1; }
    binds="--bind $src"
    case "$arm_build/" in
      "$src"/*) ;;
      *) binds="$binds --bind $arm_build" ;;
    esac
    # fixtures of the arm64 tree are set up once (arm64.fixtures), never
    # again by each group (-FA): two groups would rewrite the same files;
    # time limits of the project's tests are scaled at configure time, the
    # expect_fail.sh one through the environment
    MDI_TEST_TIMEOUT_SCALE=4 exec "$src/tests/arm64/in_root.sh" "$root" $binds -- \
      ctest --test-dir "$arm_build" --output-on-failure --no-tests=error "$@"
    ;;
  exec)
    shift
    exec "$@"
    ;;
  *)
    echo "usage: run.sh build | ctest ARGS... | exec CMD..." >&2
    exit 2
    ;;
esac

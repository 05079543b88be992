#!/bin/sh
# The whole test suite from a fresh machine: install dependencies, build, run CTest.
#   scripts/test.sh [extra ctest arguments, e.g. -L unit or -R pipeline]
# Four passes (docs/RELIABILITY.md):
#  1. the Release build (build/) and its whole suite but the arm64 label;
#  2. arm64 (docs/CLUSTER.md): scripts/arm64-root.sh makes an arm64 Debian 12
#     root (build/arm64-root, during pass 1) and builds the project inside
#     it, then `ctest -L arm64` runs the arm64 subset under qemu emulation; a
#     missing root is a failure here (MDI_ARM64_REQUIRED=1), not a skipped test;
#  3. the asan-ubsan preset (build-asan/: AddressSanitizer, LeakSanitizer and
#     UndefinedBehaviorSanitizer) and the same suite without the labels in
#     MDI_SANITIZER_EXCLUDE (default "bench|slurm": long runs of the same code);
#  4. tests/fuzz/run_fuzz.sh: each fuzz harness for MDI_FUZZ_SECONDS (default 30).
# MDI_SKIP_ARM64=1 skips pass 2 (a quick local run: making the root takes
# minutes), MDI_SKIP_SANITIZERS=1 pass 3, MDI_SKIP_FUZZ=1 pass 4.  Every pass
# runs even when an earlier one failed; the exit status is non-zero if any failed.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-tools
jobs=$(nproc)
failed=""

build=${MDI_BUILD_DIR:-build}

# Making the arm64 root is mostly dpkg under emulation, one core: it runs
# while the Release suite runs (its output goes to $build/arm64-root.log).
root_pid=""
if [ "${MDI_SKIP_ARM64:-0}" != 1 ]; then
  echo "== test.sh: making the arm64 root in the background ($build/arm64-root.log)"
  scripts/arm64-root.sh --no-build >"$build/arm64-root.log" 2>&1 &
  root_pid=$!
fi

echo "== test.sh: Release suite ($build)"
(cd "$build" && ctest --output-on-failure -j "$jobs" -LE arm64 "$@") || failed="$failed release"

if [ -n "$root_pid" ]; then
  echo "== test.sh: arm64 under emulation (root, build, ctest -L arm64)"
  root_ok=1
  wait "$root_pid" || root_ok=0
  cat "$build/arm64-root.log"
  if [ "$root_ok" = 1 ] && scripts/arm64-root.sh; then
    (cd "$build" && MDI_ARM64_REQUIRED=1 ctest --output-on-failure -j "$jobs" -L arm64 "$@") ||
      failed="$failed arm64"
  else
    failed="$failed arm64-root"
  fi
fi

if [ "${MDI_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== test.sh: asan-ubsan suite (build-asan)"
  # the build's output goes to build-asan/build.log (shown when it fails)
  if cmake --preset asan-ubsan >/dev/null &&
    { cmake --build --preset asan-ubsan -j "$jobs" >build-asan/build.log 2>&1 || { cat build-asan/build.log; false; }; }; then
    ctest --preset asan-ubsan -j "$jobs" -LE "${MDI_SANITIZER_EXCLUDE:-bench|slurm}" "$@" ||
      failed="$failed asan-ubsan"
  else
    failed="$failed asan-ubsan-build"
  fi
fi

if [ "${MDI_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== test.sh: fuzzing (${MDI_FUZZ_SECONDS:-30} s per harness)"
  tests/fuzz/run_fuzz.sh || failed="$failed fuzz"
fi

if [ -n "$failed" ]; then
  echo "test.sh: FAILED:$failed" >&2
  exit 1
fi
echo "test.sh: all passes succeeded"

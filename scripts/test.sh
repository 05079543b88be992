#!/bin/sh
# The whole test suite from a fresh machine: install dependencies, build, run CTest.
#   scripts/test.sh [extra ctest arguments, e.g. -L unit or -R pipeline]
# Three passes (docs/RELIABILITY.md):
#  1. the Release build (build/) and its whole suite;
#  2. the asan-ubsan preset (build-asan/: AddressSanitizer, LeakSanitizer and
#     UndefinedBehaviorSanitizer) and the same suite without the labels in
#     MDI_SANITIZER_EXCLUDE (default "bench|slurm": long runs of the same code);
#  3. tests/fuzz/run_fuzz.sh: each fuzz harness for MDI_FUZZ_SECONDS (default 30).
# MDI_SKIP_SANITIZERS=1 skips pass 2, MDI_SKIP_FUZZ=1 pass 3.  Every pass runs
# even when an earlier one failed; the exit status is non-zero if any failed.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-tools
jobs=$(nproc)
failed=""

echo "== test.sh: Release suite (${MDI_BUILD_DIR:-build})"
(cd "${MDI_BUILD_DIR:-build}" && ctest --output-on-failure -j "$jobs" "$@") || failed="$failed release"

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

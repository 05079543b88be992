#!/bin/sh
# The whole test suite from a fresh machine: install dependencies, build, run CTest.
#   scripts/test.sh [extra ctest arguments, e.g. -L unit or -R pipeline]
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-tools
cd "${MDI_BUILD_DIR:-build}"
# CTest runs tests in parallel as far as their PROCESSORS allow
ctest --output-on-failure -j "$(nproc)" "$@"

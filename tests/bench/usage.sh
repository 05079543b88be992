#!/bin/bash
# The benchmark scripts' usage errors: an option given without its value (at
# the end of the line, or empty where a value is needed) and an unknown
# option each exit 2 with a message naming the option, before any work
# (each case through tests/support/expect_fail.sh --status 2).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$HERE/../../bench
EXPECT_FAIL=$HERE/../support/expect_fail.sh
fails=0
expect() { # expect SCRIPT REGEX ARGS...
  local script=$1 regex=$2
  shift 2
  "$EXPECT_FAIL" --status 2 "$regex" "$BENCH/$script" "$@" || fails=$((fails + 1))
}
for script in archs.sh perf.sh quick.sh scaling.sh serve.sh; do
  expect "$script" "error: --out needs a value" --out
  expect "$script" "unknown argument '--no-such-option'" --no-such-option
done
expect perf.sh "error: --repeats needs a value" --out /nonexistent --repeats
expect perf.sh "error: --repeats needs a value" --repeats "" --out /nonexistent
expect perf.sh "error: --prefill-passes needs a value" --out /nonexistent --prefill-passes
# --types "" is allowed (float32 only): the next error is the one reported
expect perf.sh "unknown argument '--no-such-option'" --types "" --no-such-option
expect archs.sh "error: --presets needs a value" --presets
expect scaling.sh "error: --ranks needs a value" --out /nonexistent --ranks
expect serve.sh "error: --clients needs a value" --clients
[ "$fails" -eq 0 ] || { echo "$fails usage check(s) failed"; exit 1; }
echo "all usage checks passed"

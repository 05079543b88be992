#!/bin/bash
# The benchmark scripts' usage errors: an option given without its value (at
# the end of the line, or empty where a value is needed) and an unknown
# option each exit 2 with one message naming the option, before any work.
set -uo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../bench" && pwd)
fails=0
expect() { # expect SCRIPT PATTERN ARGS...: exit 2 and stderr matching PATTERN
  local script=$1 pattern=$2
  shift 2
  local err rc
  err=$("$BENCH/$script" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- "$pattern" <<<"$err"; then
    echo "ok: $script $* -> exit 2: $(tail -n 1 <<<"$err")"
  else
    echo "FAIL: $script $* -> exit $rc, stderr: $err"
    fails=$((fails + 1))
  fi
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

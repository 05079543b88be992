#!/bin/sh
# run_cmp.sh EXPECTED_FILE COMMAND [ARGS...]
# Runs the command and checks that its stdout equals EXPECTED_FILE byte for byte.
set -u
expected=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" >"$out"
rc=$?
if [ $rc -ne 0 ]; then
  echo "run_cmp: command exited with status $rc: $*" >&2
  exit 1
fi
if ! cmp -s "$expected" "$out"; then
  echo "run_cmp: stdout differs from $expected:" >&2
  diff "$expected" "$out" | head -20 >&2
  exit 1
fi
echo "run_cmp: stdout equals $expected ($(wc -c <"$out") bytes)"

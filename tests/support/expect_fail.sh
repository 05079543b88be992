#!/bin/sh
# usage: expect_fail.sh [--one-error] [--status N] REGEX COMMAND [ARGS...]
#
# Runs COMMAND (at most 20 s, times MDI_TEST_TIMEOUT_SCALE when set: the
# arm64 tests run under emulation) and passes when it fails cleanly: a non-zero
# exit status that is not a timeout or a signal (a crash is a failure of the
# test), and a standard error that matches the extended regular expression
# REGEX and has at least one line.  With --one-error, stderr must also hold
# exactly one line containing "error:" (the program reports one problem, once);
# with --status N the exit status must be N.
# A sanitizer report on stderr always fails the test.
one_error=0
want_status=""
while [ $# -gt 0 ]; do
  case "$1" in
    --one-error) one_error=1; shift ;;
    --status) want_status=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  echo "usage: expect_fail.sh [--one-error] [--status N] REGEX COMMAND [ARGS...]" >&2
  exit 2
fi
regex=$1
shift
err=$(mktemp)
trap 'rm -f "$err"' EXIT

limit=$((20 * ${MDI_TEST_TIMEOUT_SCALE:-1}))
timeout "$limit" "$@" >/dev/null 2>"$err"
status=$?
echo "command: $*"
echo "exit status: $status"
echo "stderr:"
sed 's/^/  | /' "$err"

if [ $status -eq 0 ]; then
  echo "FAIL: the command succeeded; a failure was expected"
  exit 1
fi
if [ $status -eq 124 ]; then
  echo "FAIL: the command timed out ($limit s)"
  exit 1
fi
# a sanitizer report (asan-ubsan build) is a bug even when the command was
# expected to fail: LeakSanitizer's exit status 23 would otherwise pass
if grep -Eq "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$err"; then
  echo "FAIL: a sanitizer reported an error"
  exit 1
fi
if [ $status -ge 126 ]; then
  echo "FAIL: exit status $status: not run, or killed by a signal (crash?)"
  exit 1
fi
if [ -n "$want_status" ] && [ "$status" -ne "$want_status" ]; then
  echo "FAIL: exit status $status; $want_status was expected"
  exit 1
fi
if [ ! -s "$err" ]; then
  echo "FAIL: nothing on stderr; an error message was expected"
  exit 1
fi
if ! grep -Eq -- "$regex" "$err"; then
  echo "FAIL: stderr does not match /$regex/"
  exit 1
fi
if [ $one_error -eq 1 ]; then
  n=$(grep -c "error:" "$err")
  if [ "$n" -ne 1 ]; then
    echo "FAIL: $n lines contain \"error:\"; exactly one was expected"
    exit 1
  fi
fi
echo "PASS"
exit 0

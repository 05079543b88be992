#!/bin/bash
# Standard output that cannot be written (> /dev/full) is an error: the
# run stops cleanly (rank 0 writes the text, so its stdout is the full one;
# at NP 3 an MPMD launch gives rank 0 alone that stdout: mpirun, which
# forwards the ranks' output, does not report its own write errors), every
# finished sequence is in the journal, and the job exits 1 with a message.
# --help, --version and --print-config check their stdout too.
#   stdout_full.sh MPIEXEC MDI_PIPELINE MODEL WORKDIR NP
set -euo pipefail
MPIEXEC=$1 PIPE=$2 MODEL=$3 WORK=$4 NP=$5
mkdir -p "$WORK"
cd "$WORK"
rm -f out.jsonl log.txt
fail() { echo "FAIL: $*"; sed 's/^/  | /' log.txt | head -12; exit 1; }
ARGS="-m $MODEL -p Once --n-samples 40 -n 60 -b 4 -q -o $WORK/out.jsonl"
status=0
if [ "$NP" -eq 1 ]; then
  "$PIPE" $ARGS > /dev/full 2> log.txt || status=$?
else
  "$MPIEXEC" --oversubscribe -np 1 sh -c "exec $PIPE $ARGS > /dev/full" : -np $((NP - 1)) "$PIPE" $ARGS \
    > /dev/null 2> log.txt || status=$?
fi
done=$(wc -l < out.jsonl)
echo "np $NP > /dev/full: status $status, $done journal lines"
sed 's/^/  | /' log.txt | grep -v '^  | -*$' | head -4
[ "$status" -eq 1 ] || fail "exit status $status, expected 1"
grep -q "standard output: writing the text failed: No space left on device" log.txt || fail "no message"
[ "$(grep -c 'error:' log.txt)" -eq 1 ] || fail "not exactly one error line"
grep -q "$done of 40 sequences done; rerun with --resume" log.txt || fail "no line '$done of 40 sequences done'"
[ -z "$(tail -c 1 out.jsonl)" ] || fail "the journal ends in a torn line"
python3 -c "import json,sys; [json.loads(l) for l in open('out.jsonl')]" || fail "a journal line does not parse"
for opt in --help --version "--print-config -m m.h5"; do
  s=0
  # shellcheck disable=SC2086
  "$PIPE" $opt > /dev/full 2> log.txt || s=$?
  [ "$s" -eq 1 ] || fail "$opt > /dev/full: exit status $s"
  grep -q "standard output: writing failed: No space left on device" log.txt || fail "$opt: no message"
done
echo "PASS"

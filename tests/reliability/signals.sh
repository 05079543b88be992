#!/bin/bash
# SIGINT/SIGTERM stop a batch run cleanly: every sequence finished until
# then is in the journal (complete lines only), rank 0 prints
# "interrupted: N of M sequences done; rerun with --resume", the --stats
# file is written, every rank exits 128 + the signal (mpirun itself exits 1
# when it is the one signalled: Open MPI 4.1), no rank is left over, and a
# --resume run then finishes the job with the tokens of an uninterrupted one.
#   signals.sh MPIEXEC MDI_PIPELINE MODEL WORKDIR NP TARGET SIGNAL
# TARGET: rank0, rank2 (a stage), all (every rank, as scancel does), mpirun;
# at NP 1 the process itself (TARGET is ignored).
set -euo pipefail
MPIEXEC=$1 PIPE=$2 MODEL=$3 WORK=$4 NP=$5 TARGET=$6 SIG=$7
TOOLS=$(cd "$(dirname "$0")/../support" && pwd)
mkdir -p "$WORK"
cd "$WORK"
rm -f out.jsonl stats.json ref.jsonl log.txt resume.txt
ARGS=(-m "$MODEL" -p "Once" --n-samples 300 -n 200 -b 4 -q -o out.jsonl --stats stats.json)
fail() {
  echo "FAIL: $*"
  sed 's/^/  | /' log.txt | head -12
  [ -n "${JOB:-}" ] && kill -9 "$JOB" $(ranks) 2>/dev/null
  exit 1
}
run() { # exec: in the background, $! is then the process itself
  if [ "$NP" -eq 1 ]; then exec "$PIPE" "$@"; else exec "$MPIEXEC" -np "$NP" --oversubscribe "$PIPE" "$@"; fi
}
ranks() { # pids of this job's ranks (rank $1, or all): mpirun's children
  for p in $(pgrep -P "$JOB" 2>/dev/null || true); do
    if [ -z "${1:-}" ]; then echo "$p"; continue; fi
    env=$(tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null || true)
    if grep -qx "OMPI_COMM_WORLD_RANK=$1" <<< "$env"; then echo "$p"; fi
  done
  return 0
}

run "${ARGS[@]}" > /dev/null 2> log.txt &
JOB=$!
ALL_RANKS=""
for _ in $(seq 1 1500); do
  [ -f out.jsonl ] && [ "$(wc -l < out.jsonl)" -ge 8 ] && break
  sleep 0.02
done
[ "$(wc -l < out.jsonl)" -ge 8 ] || fail "the run never got going"
if [ "$NP" -eq 1 ]; then targets=$JOB
else
  case $TARGET in
    rank0) targets=$(ranks 0) ;;
    rank2) targets=$(ranks 2) ;;
    all) targets=$(ranks) ;;
    mpirun) targets=$JOB ;;
    *) echo "unknown target $TARGET"; exit 2 ;;
  esac
fi
[ -n "$targets" ] || fail "no process to signal"
ALL_RANKS=$(ranks)
# shellcheck disable=SC2086
kill -"$SIG" $targets
t0=$(date +%s)
status=0
wait $JOB || status=$?
elapsed=$(( $(date +%s) - t0 ))
# the ranks are gone (mpirun's children, or the process itself at np 1)
alive() { for p in $ALL_RANKS $JOB; do if kill -0 "$p" 2>/dev/null; then echo "$p"; fi; done; }
for _ in $(seq 1 50); do [ -z "$(alive)" ] && break; sleep 0.1; done
left=$(alive | wc -l)
echo "SIG$SIG to $TARGET at np $NP: status $status after ${elapsed}s, $(wc -l < out.jsonl) lines, $left ranks left"
sed 's/^/  | /' log.txt | grep -v '^  | -*$' | head -6

want=$((128 + $(kill -l "$SIG")))
if [ "$NP" -gt 1 ] && [ "$TARGET" = mpirun ]; then
  [ "$status" -ne 0 ] || fail "exit status 0"
else
  [ "$status" -eq "$want" ] || fail "exit status $status, expected $want"
fi
[ "$elapsed" -le 20 ] || fail "took ${elapsed}s"
[ "$left" -eq 0 ] || fail "$left ranks left over"
done=$(wc -l < out.jsonl)
[ -z "$(tail -c 1 out.jsonl)" ] || fail "the journal ends in a torn line"
grep -q "interrupted: $done of 300 sequences done; rerun with --resume" log.txt ||
  fail "no line 'interrupted: $done of 300 sequences done; rerun with --resume'"
[ "$(grep -c 'error:' log.txt)" -eq 1 ] || fail "not exactly one error line"
python3 -c "import json,sys; d=json.load(open('stats.json')); sys.exit(0 if d['n_ranks'] == $NP else 1)" ||
  fail "no stats file for $NP ranks"

# finish it, then compare with an uninterrupted run
(run "${ARGS[@]/-q/-v}" --resume > /dev/null 2> resume.txt) || { cat resume.txt; fail "--resume failed"; }
grep -q "resuming: $done of 300 sequences are already in out.jsonl" resume.txt || fail "resume did not skip $done"
(run -m "$MODEL" -p "Once" --n-samples 300 -n 200 -b 4 -q -o ref.jsonl > /dev/null 2>&1)
python3 "$TOOLS/compare_jsonl.py" ref.jsonl out.jsonl --fields prompt,tokens,text,finish_reason,seed
echo "PASS"

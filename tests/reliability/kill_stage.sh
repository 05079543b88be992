#!/bin/bash
# A stage rank dies mid-run (kill -9): the job must end within 10 s with a
# non-zero status, the journal must hold only complete, correct sequences,
# and --resume (on 3 ranks, then on 2 after "losing a board") must complete
# the set exactly as an uninterrupted run would.
#   kill_stage.sh MPIEXEC MDI_PIPELINE MODEL WORKDIR
set -euo pipefail
MPIEXEC=$1 PIPE=$2 MODEL=$3 WORK=$4
TOOLS=$(cd "$(dirname "$0")/../support" && pwd)
mkdir -p "$WORK"
cd "$WORK"
rm -f ref.jsonl run.jsonl run2.jsonl mpirun.log
# 300 sampled sequences of up to 200 tokens: long enough to kill mid-run
ARGS=(-m "$MODEL" -p "Once upon a time" -p "The dog" -p "" --n-samples 100 -n 200 -t 1.0 --top-p 0.9 -b 8 -q)
mpi() { "$MPIEXEC" -np "$1" --oversubscribe "$PIPE" "${@:2}"; }

echo "== uninterrupted run"
mpi 3 "${ARGS[@]}" -o ref.jsonl > /dev/null
[ "$(wc -l < ref.jsonl)" -eq 300 ] || { echo "FAIL: reference run has $(wc -l < ref.jsonl) lines"; exit 1; }

echo "== run, then kill -9 rank 1 once 20 sequences are done"
"$MPIEXEC" -np 3 --oversubscribe "$PIPE" "${ARGS[@]}" -o run.jsonl 2> mpirun.log > /dev/null &
MPIRUN=$! # mpirun itself: its ranks are its children
victim=""
# up to 120 s (the sanitizer build on a busy host is slow to start); the
# victim is this job's rank 1, a child of its mpirun (other tests may run
# the same binary at the same time)
for _ in $(seq 1 6000); do
  if [ -f run.jsonl ] && [ "$(wc -l < run.jsonl)" -ge 20 ]; then
    for p in $(pgrep -P "$MPIRUN" || true); do
      if tr '\0' '\n' 2>/dev/null < "/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
    done
    break
  fi
  kill -0 "$MPIRUN" 2>/dev/null || break
  sleep 0.02
done
if [ -z "$victim" ]; then
  echo "FAIL: could not find rank 1 while the run was going (it may have finished too fast)"
  wait $MPIRUN || true
  exit 1
fi
done_before=$(wc -l < run.jsonl)
kill -9 "$victim"
t0=$(date +%s.%N)
status=0
wait $MPIRUN || status=$?
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo "killed rank 1 (pid $victim) after $done_before sequences; job ended in ${elapsed}s with status $status"
sed 's/^/  | /' mpirun.log | head -8
[ "$status" -ne 0 ] || { echo "FAIL: the job exited 0 after losing a rank"; exit 1; }
awk -v e="$elapsed" 'BEGIN { exit !(e < 10) }' || { echo "FAIL: the job took ${elapsed}s to end (limit 10 s)"; exit 1; }
pgrep -f "$PIPE.*run.jsonl" > /dev/null && { echo "FAIL: ranks left behind"; exit 1; }

echo "== the journal holds only finished sequences, equal to the reference"
python3 - ref.jsonl run.jsonl <<'PY'
import json, sys
ref = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
lines = open(sys.argv[2]).read().split("\n")
complete = [l for l in lines[:-1]]           # the last piece may be a torn line
good = [json.loads(l) for l in complete]
for r in good:
    assert r["tokens"] == ref[r["id"]]["tokens"], f"sequence {r['id']} differs"
print(f"  {len(good)} complete lines, all equal to the reference; torn tail: {bool(lines[-1])}")
PY

echo "== resume on 3 ranks, stop again, then finish on 2 ranks (a board lost)"
cp run.jsonl run2.jsonl
timeout 60 "$MPIEXEC" -np 3 --oversubscribe "$PIPE" "${ARGS[@]}" -o run2.jsonl --resume -n 200 > /dev/null 2>&1 &
RESUMED=$!
sleep 0.5
kill -TERM $RESUMED 2>/dev/null || true
wait $RESUMED 2>/dev/null || true
# mpirun can exit before its ranks do: a rank still ending holds the journal's
# lock, and a run started now would stop with "another process is writing"
for _ in $(seq 100); do
  pgrep -f "$PIPE.*run2.jsonl" > /dev/null || break
  sleep 0.1
done
pgrep -f "$PIPE.*run2.jsonl" > /dev/null && { echo "FAIL: ranks of the stopped run still alive after 10 s"; exit 1; }
mpi 2 "${ARGS[@]}" -o run2.jsonl --resume > /dev/null
python3 "$TOOLS/compare_jsonl.py" ref.jsonl run2.jsonl --fields prompt,tokens,text,finish_reason,seed
echo "PASS"

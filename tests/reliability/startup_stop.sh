#!/bin/bash
# A rank stops (SIGSTOP) during start-up, before the ring runs: with
# --timeout 3 the job ends within seconds, non-zero, and the first error
# names the stopped rank (rank 0 names a stage; the stages name rank 0).
# The victim is stopped once it has the model file open (it is past
# MPI_Init then) and before rank 0 has created the journal (rank 0 is still
# reading the 20000 prompts, so the ring has not started); a run where the
# victim was found too late is tried again.
#   startup_stop.sh MPIEXEC MDI_PIPELINE MODEL WORKDIR VICTIM_RANK
set -euo pipefail
MPIEXEC=$1 PIPE=$2 MODEL=$3 WORK=$4 VICTIM=$5
mkdir -p "$WORK"
cd "$WORK"
[ -f prompts.txt ] || for i in $(seq 1 20000); do echo "Once upon a time number $i"; done > prompts.txt
model=$(readlink -f "$MODEL")

# rank $VICTIM of the job (a child of mpirun $1) once it has the model open
find_victim() {
  for p in $(pgrep -P "$1" || true); do
    grep -qzx "OMPI_COMM_WORLD_RANK=$VICTIM" "/proc/$p/environ" 2>/dev/null || continue
    case "$(ls -l "/proc/$p/fd" 2>/dev/null)" in *" -> $model"*) echo "$p"; return 0 ;; esac
  done
  return 0
}

for attempt in 1 2 3; do
  rm -f log.txt out.jsonl
  "$MPIEXEC" -np 3 --oversubscribe "$PIPE" -m "$MODEL" -f prompts.txt -n 4 -q --timeout 3 -o out.jsonl \
    > /dev/null 2> log.txt &
  MPIRUN=$!
  victim=""
  while [ -z "$victim" ] && kill -0 "$MPIRUN" 2>/dev/null; do
    victim=$(find_victim "$MPIRUN")
    [ -n "$victim" ] || sleep 0.002
  done
  [ -n "$victim" ] || { echo "FAIL: rank $VICTIM never opened the model"; wait $MPIRUN || true; exit 1; }
  kill -STOP "$victim"
  [ ! -e out.jsonl ] && break
  # too late: start-up was over
  echo "attempt $attempt: rank $VICTIM found after start-up; again"
  kill -9 "$victim" "$MPIRUN" 2>/dev/null || true
  wait $MPIRUN 2>/dev/null || true
  [ "$attempt" -lt 3 ] || { echo "FAIL: never caught rank $VICTIM in start-up"; exit 1; }
done
t0=$(date +%s)
status=0
wait $MPIRUN || status=$?
elapsed=$(( $(date +%s) - t0 ))
kill -CONT "$victim" 2>/dev/null || true
kill -9 "$victim" 2>/dev/null || true
echo "rank $VICTIM stopped in start-up; the job ended after ${elapsed}s with status $status"
sed 's/^/  | /' log.txt | grep -v '^  | -*$' | head -6
[ "$status" -ne 0 ] || { echo "FAIL: exit status 0"; exit 1; }
[ "$elapsed" -le 30 ] || { echo "FAIL: took ${elapsed}s"; exit 1; }
first=$(grep -m1 "error:" log.txt || true)
echo "$first" | grep -Eq "no sign of life from rank $VICTIM for 3 s \(last heard while [a-z ]+\): it is gone or stuck \(--timeout\)" ||
  { echo "FAIL: the first error does not name rank $VICTIM: $first"; exit 1; }
echo "PASS"

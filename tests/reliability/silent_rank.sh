#!/bin/bash
# A stage rank stops answering (SIGSTOP: alive, but silent): with --timeout 3
# its neighbours give up, the job ends non-zero, and the message names the
# silent rank.
#   silent_rank.sh MPIEXEC MDI_PIPELINE MODEL WORKDIR
set -euo pipefail
MPIEXEC=$1 PIPE=$2 MODEL=$3 WORK=$4
mkdir -p "$WORK"
cd "$WORK"
rm -f out.jsonl log.txt
"$MPIEXEC" -np 3 --oversubscribe "$PIPE" -m "$MODEL" -p "Once" --n-samples 300 -n 200 -b 4 -q \
  --timeout 3 -o out.jsonl 2> log.txt > /dev/null &
MPIRUN=$!
victim=""
for _ in $(seq 1 600); do
  if [ -f out.jsonl ] && [ "$(wc -l < out.jsonl)" -ge 5 ]; then
    for p in $(pgrep -f "$PIPE" || true); do
      if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=2"; then victim=$p; fi
    done
    break
  fi
  sleep 0.02
done
[ -n "$victim" ] || { echo "FAIL: rank 2 not found while running"; wait $MPIRUN || true; exit 1; }
kill -STOP "$victim"
t0=$(date +%s)
status=0
wait $MPIRUN || status=$?
elapsed=$(( $(date +%s) - t0 ))
kill -CONT "$victim" 2>/dev/null || true
kill -9 "$victim" 2>/dev/null || true
echo "rank 2 stopped; the job ended after ${elapsed}s with status $status"
sed 's/^/  | /' log.txt | head -8
[ "$status" -ne 0 ] || { echo "FAIL: exit status 0"; exit 1; }
[ "$elapsed" -le 30 ] || { echo "FAIL: took ${elapsed}s"; exit 1; }
grep -Eq "no progress for 3 s .*rank 2" log.txt || { echo "FAIL: no message naming rank 2"; exit 1; }
echo "PASS"

#!/bin/bash
# Values survive every way in and out exactly:
#  - a seed beyond 2^53 given with -s, or in a JSONL line, reaches the
#    journal to the last digit (a double would give 9e+15);
#  - --print-config output read back with -c gives the same configuration
#    and the same tokens, also for a prompt and paths with quotes, ; and #.
#   exact_values.sh MPIEXEC MDI_PIPELINE MODEL WORKDIR NP
set -euo pipefail
MPIEXEC=$1 PIPE=$2 MODEL=$3 WORK=$4 NP=$5
mkdir -p "$WORK"
cd "$WORK"
rm -f ./*.jsonl ./*.ini
run() {
  if [ "$NP" -eq 1 ]; then "$PIPE" "$@"; else "$MPIEXEC" -np "$NP" --oversubscribe "$PIPE" "$@"; fi
}
fail() { echo "FAIL: $*"; exit 1; }

# -s: S + id for each sequence, exactly
run -m "$MODEL" -p "Once" --n-samples 2 -n 3 -q -s 8999999999999999 -o seeds.jsonl > /dev/null
grep -q '"id":0,.*"seed":8999999999999999,' seeds.jsonl || fail "seed of sequence 0: $(cat seeds.jsonl)"
grep -q '"id":1,.*"seed":9000000000000000,' seeds.jsonl || fail "seed of sequence 1: $(cat seeds.jsonl)"
run -m "$MODEL" -p "Once" -n 3 -q -s 9223372036854775807 -o max.jsonl > /dev/null
grep -q '"seed":9223372036854775807,' max.jsonl || fail "seed INT64_MAX: $(cat max.jsonl)"

# a JSONL line's own seed, 2^53 + 1 (no double holds it)
printf '{"prompt": "Once", "seed": 9007199254740993, "max_tokens": 3}\n' > in.jsonl
run -m "$MODEL" -f in.jsonl -q -o line.jsonl > /dev/null
grep -q '"seed":9007199254740993,' line.jsonl || fail "JSONL seed: $(cat line.jsonl)"
# the same seed from -s gives the same tokens as from the line
run -m "$MODEL" -p "Once" -n 3 -q -s 9007199254740993 -o cli.jsonl > /dev/null
[ "$(grep -o '"tokens":\[[0-9,]*\]' line.jsonl)" = "$(grep -o '"tokens":\[[0-9,]*\]' cli.jsonl)" ] ||
  fail "tokens of seed 9007199254740993 differ between -s and JSONL"

# --print-config -> -c: the same configuration, the same tokens
ln -sf "$MODEL" "model 'a'; #1.h5"
prompt='She said "hi"; then # left'
"$PIPE" -m "$WORK/model 'a'; #1.h5" -p "$prompt" -n 5 -t 0.5 --top-p 0.3333333333333333 -s 8999999999999999 \
  -q --print-config > printed.ini
"$PIPE" -c printed.ini --print-config > again.ini
cmp printed.ini again.ini || { diff printed.ini again.ini; fail "--print-config of -c printed.ini differs"; }
grep -q "^prompt = 'She said \"hi\"; then # left'$" printed.ini || fail "prompt line: $(grep prompt printed.ini)"
run -m "$MODEL" -p "$prompt" -n 5 -t 0.5 --top-p 0.3333333333333333 -s 8999999999999999 -q -o direct.jsonl > /dev/null
run -c printed.ini -m "$MODEL" -o viaconfig.jsonl > /dev/null
cmp -s direct.jsonl viaconfig.jsonl ||
  fail "the run from the printed config differs: $(cat direct.jsonl) vs $(cat viaconfig.jsonl)"
echo "PASS"

#!/bin/bash
# Speed per FLOP of today's open architectures against the Llama 2 block.
# For each `mdi_convert random` preset (llama3.2-1b, qwen3-0.6b, ...) the
# model is made twice with the same dims, layers and vocabulary: as the
# preset (its head_dim, rope scaling, biases, q/k norms, window) and as its
# Llama 2 "twin" (head size dim / heads, none of the options).  Both decode
# the same token-id prompts greedily on one rank; the report gives tokens/s,
# FLOPs per token (matrix products, attention over the context, classifier)
# and GFLOP/s, and the preset's GFLOP/s over its twin's.  Rounds interleave
# all models, the pair of a preset and its twin back to back (in turns which
# goes first); the medians of tokens/s and of the per-round ratios are
# reported.
#
#   bench/archs.sh --out DIR [options]
#
#   --out DIR          results: DIR/archs.csv, DIR/archs.json, DIR/runs/... (required)
#   --presets "..."    presets (default: llama3.2-1b llama3.2-3b qwen2.5-0.5b qwen3-0.6b
#                      mistral-7b phi3-mini)
#   --layers L         layers of every model (default 4; the presets' real depth is not
#                      needed for a per-layer speed)
#   --vocab V          vocabulary of every model (default 4096, so the layers dominate)
#   --steps S          new tokens per sequence (default 96)
#   --batch "1 8"      sequences per micro-batch, each measured (default "1 8")
#   --threads N        threads of the rank (default 1)
#   --repeats R        rounds (default 3)
#   --cache DIR        generated models (default BUILD/bench-models)
#   --quick            1 round, 2 layers, 32 steps, B 1, two presets: a check of the harness
#
# Environment: MDI_BUILD_DIR (default build).  Needs python3.  The numbers of
# a shared 2-core machine move with its load; compare ratios of one run.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
REPORT=$BENCH_DIR/archs/archs_report.py

die() { echo "archs.sh: error: $*" >&2; exit 2; }
log() { echo "archs.sh: $*" >&2; }

OUT="" PRESETS="llama3.2-1b llama3.2-3b qwen2.5-0.5b qwen3-0.6b mistral-7b phi3-mini" LAYERS=4 VOCAB=4096 STEPS=96
BATCHES="1 8" THREADS=1 REPEATS=3 CACHE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(opt_value "$@"); shift 2 ;;
    --presets) PRESETS=$(opt_value "$@"); shift 2 ;;
    --layers) LAYERS=$(opt_value "$@"); shift 2 ;;
    --vocab) VOCAB=$(opt_value "$@"); shift 2 ;;
    --steps) STEPS=$(opt_value "$@"); shift 2 ;;
    --batch) BATCHES=$(opt_value "$@"); shift 2 ;;
    --threads) THREADS=$(opt_value "$@"); shift 2 ;;
    --repeats) REPEATS=$(opt_value "$@"); shift 2 ;;
    --cache) CACHE=$(opt_value "$@"); shift 2 ;;
    --quick) REPEATS=1 LAYERS=2 STEPS=32 BATCHES=1 PRESETS="qwen3-0.6b phi3-mini"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see bench/archs.sh --help)" ;;
  esac
done
[ -n "$OUT" ] || die "--out DIR is required"
[ -x "$PIPELINE" ] && [ -x "$CONVERT" ] || die "build first: $PIPELINE and $CONVERT are needed"
CACHE=${CACHE:-$BUILD_DIR/bench-models}
mkdir -p "$OUT/runs" "$CACHE"
: > "$OUT/runs.jsonl"

# The preset and its Llama 2 twin: the same shape from --preset list's columns.
make_models() { # PRESET
  local p=$1 line dim hid heads kv seq
  line=$("$CONVERT" random --preset list | awk -v p="$p" '$1 == p')
  [ -n "$line" ] || die "unknown preset $p"
  read -r _ dim hid _ heads kv _ seq _ <<< "$line"
  local a=$CACHE/archs-$p-L$LAYERS-V$VOCAB.h5 t=$CACHE/archs-$p-twin-L$LAYERS-V$VOCAB.h5
  [ -f "$a" ] || "$CONVERT" random -q --preset "$p" --layers "$LAYERS" --vocab "$VOCAB" --seed 1 "$a"
  [ -f "$t" ] || "$CONVERT" random -q --dim "$dim" --hidden-dim "$hid" --layers "$LAYERS" --heads "$heads" \
    --kv-heads "$kv" --vocab "$VOCAB" --seq-len "$seq" --seed 1 "$t"
  echo "$a $t"
}

# B prompts of 8 token ids each (ids 3.. are ordinary pieces of the synthesized tokenizer)
for B in $BATCHES; do
  python3 -c "
import json, sys
for i in range($B):
    print(json.dumps({'prompt_tokens': [1] + [300 + (7 * i + j) % 200 for j in range(7)], 'max_tokens': $STEPS}))
" > "$OUT/prompts.b$B.jsonl"
done

declare -A MODEL
for p in $PRESETS; do
  read -r a t <<< "$(make_models "$p")"
  MODEL[$p]=$a MODEL[$p-twin]=$t
  "$CONVERT" info "$a" > "$OUT/$p.info.txt"
  "$CONVERT" info "$t" > "$OUT/$p-twin.info.txt"
done

start=$SECONDS
for r in $(seq 1 "$REPEATS"); do
  for B in $BATCHES; do
    for p in $PRESETS; do
      # the pair runs back to back, in turns: preset first in odd rounds, twin first in even ones
      order="$p $p-twin"
      [ $((r % 2)) = 1 ] || order="$p-twin $p"
      for v in $order; do
        run=$OUT/runs/$v.b$B.r$r
        "$PIPELINE" -m "${MODEL[$v]}" -f "$OUT/prompts.b$B.jsonl" -b "$B" --micro-batches 1 -t 0 -q \
          --threads "$THREADS" --max-seq-len $((STEPS + 16)) -o "$run.jsonl" --stats "$run.stats.json" \
          > /dev/null 2> "$run.stderr" || die "run $v B=$B failed (see $run.stderr)"
        echo "{\"model\": \"$v\", \"preset\": \"$p\", \"batch\": $B, \"round\": $r, \"stats\": \"$run.stats.json\"," \
          "\"info\": \"$OUT/$v.info.txt\"}" >> "$OUT/runs.jsonl"
        log "round $r B=$B $v done"
      done
    done
  done
done
python3 "$REPORT" "$OUT" --steps "$STEPS" --threads "$THREADS" --layers "$LAYERS" --vocab "$VOCAB"
log "done in $((SECONDS - start)) s"

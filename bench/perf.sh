#!/bin/bash
# Single-node performance of mdi_pipeline against its targets: decode speed of
# one sequence against llama2.c's run.c and against the memory-bandwidth
# bound, micro-batched throughput, prefill, quantized weights (Q8_0, Q4_0,
# Q4_K: decode, and for Q8_0 and Q4_K batches and prefill), 2 ranks against
# 1 rank on the same cores, and with --llamacpp the same points of
# llama.cpp on the same weights.
#
#   bench/perf.sh --out DIR [options]
#
#   --out DIR             results: DIR/perf.csv, DIR/perf.json, DIR/runs.jsonl, DIR/runs/...,
#                         DIR/kernels.csv (mdi_bench_kernels: our kernels against BLIS sgemm) (required)
#   --quick               short smoke version: 1 repeat, 64 positions per sequence, 256 MiB bandwidth arrays
#   --model-preset NAME   `mdi_convert random` preset of the model (default stories110M; stories15M or
#                         stories260K make a fast run)
#   --big                 also measure single-sequence decode on a big preset, fp32 and quantized
#                         (skipped with a note when memory is short)
#   --big-preset NAME     the big preset (default tinyllama1.1b, 4.4 GB fp32; llama3.2-1b: 4.9 GB)
#   --big-only            with --big: only the big preset's rounds (the small preset still gives the
#                         prompts; its points, the 2-rank point, the Q4_K_M row and the kernels are skipped)
#   --no-big-f32-gguf     with --llamacpp: no fp32 GGUF of the big preset (saves its 4-5 GB of disk;
#                         the big preset's fp32 row against llama.cpp is then skipped)
#   --types "q8_0 q4_0 q4_k"  quantized types measured beside float32 ("" = float32 only; the Q4_K_M
#                         per-rank bytes row needs q4_k or --llamacpp)
#   --repeats R           rounds of every point (default 3, --quick 1); medians are reported
#   --threads "1 2"       thread counts (mdi_pipeline --threads N, run.c OMP_NUM_THREADS=N)
#   --steps S             positions per sequence (default 256, --quick 64): run.c -n S, mdi_pipeline
#                         -n S-P for a prompt of P tokens, so both cover positions 0..S-1
#   --prefill-tokens N    length of the prefill prompt (default 500; capped by the model's seq_len)
#   --prefill-passes N    prompt passes of a prefill point (default 5, --quick 2): ours one process
#                         with --n-samples N -n 1 -b 1 (prefill tok/s = N x prompt tokens / wall_s,
#                         the first, cold pass included), llama-bench -p with -r N (after its own
#                         warm-up pass)
#   --llama2c FILE        llama2.c's run.c to build and compare with (default: $MDI_LLAMA2C); one
#                         of --llama2c, MDI_LLAMA2C or --no-llama2c is required
#   --no-llama2c          do not run run.c (its columns are skipped with a note)
#   --llamacpp DIR        a built llama.cpp (DIR/build/bin/llama-bench, llama-batched-bench,
#                         llama-quantize): the same points measured with llama.cpp on the same weights
#                         (mdi_convert export-gguf writes them), in the same rounds; without it the
#                         llama.cpp rows are skipped with a note
#   --bind "core none"    mpirun --bind-to policies of the 2-rank point, each measured (default both)
#   --stream-mib N        size of each bandwidth array in MiB (default 1024, --quick 256)
#   --seed S              seed of the random model (default 1)
#   --cache DIR           generated models (default BUILD/bench-models, shared with bench/scaling.sh)
#   --run-timeout S       a run that takes longer is ended and recorded as failed (default 900)
#
# Every point runs --repeats times, in rounds; inside a round our runs and
# run.c runs alternate (R S P R B16 R B64 R, the same for each quantized type,
# ...), and each ratio against run.c takes the run.c runs just before and
# after it, so both sides of a ratio see the same load on a shared machine;
# each llama.cpp run follows our run of the same point. The table on stdout gives each
# measure, its value, its target and PASS or SHORT; a SHORT target does not
# make the exit status non-zero (exit 1 only when runs failed, 2 on usage or
# setup errors). The peak rates of vpdpbusd and of float FMAs (bench/perf/vnni_peak.c)
# go to DIR/peak.txt. Environment: MDI_BUILD_DIR (default build). Needs gcc,
# python3 and mpirun; gnuplot (optional) draws DIR/perf.png.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
REPORT=$BENCH_DIR/perf/perf_report.py

die() { echo "perf.sh: error: $*" >&2; exit 2; }
log() { echo "perf.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

OUT="" QUICK=0 PRESET=stories110M BIG=0 REPEATS="" THREADS="1 2" STEPS="" PREFILL=500 PREFILL_PASSES="" LLAMA2C=${MDI_LLAMA2C:-} USE_LLAMA2C=1
LLAMACPP="" BIG_PRESET=tinyllama1.1b BIG_ONLY=0 BIG_F32_GGUF=1 QTYPES="q8_0 q4_0 q4_k"
BINDS="core none" STREAM_MIB="" SEED=1 CACHE="" RUN_TIMEOUT=900
CMDLINE=$(printf "%q " "$0" "$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(opt_value "$@"); shift 2 ;;
    --quick) QUICK=1; shift ;;
    --model-preset) PRESET=$(opt_value "$@"); shift 2 ;;
    --big) BIG=1; shift ;;
    --big-preset) BIG_PRESET=$(opt_value "$@"); shift 2 ;;
    --big-only) BIG_ONLY=1; shift ;;
    --no-big-f32-gguf) BIG_F32_GGUF=0; shift ;;
    --types) QTYPES=$(opt_value_or_empty "$@"); shift 2 ;;
    --repeats) REPEATS=$(opt_value "$@"); shift 2 ;;
    --threads) THREADS=$(opt_value "$@"); shift 2 ;;
    --steps) STEPS=$(opt_value "$@"); shift 2 ;;
    --prefill-tokens) PREFILL=$(opt_value "$@"); shift 2 ;;
    --prefill-passes) PREFILL_PASSES=$(opt_value "$@"); shift 2 ;;
    --llama2c) LLAMA2C=$(opt_value "$@"); shift 2 ;;
    --no-llama2c) USE_LLAMA2C=0; shift ;;
    --llamacpp) LLAMACPP=$(opt_value "$@"); shift 2 ;;
    --bind) BINDS=$(opt_value "$@"); shift 2 ;;
    --stream-mib) STREAM_MIB=$(opt_value "$@"); shift 2 ;;
    --seed) SEED=$(opt_value "$@"); shift 2 ;;
    --cache) CACHE=$(opt_value "$@"); shift 2 ;;
    --run-timeout) RUN_TIMEOUT=$(opt_value "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[ -n "$OUT" ] || { usage >&2; die "--out DIR is required"; }
[ "$BIG_ONLY" = 0 ] || [ "$BIG" = 1 ] || die "--big-only needs --big"
if [ "$QUICK" = 1 ]; then
  REPEATS=${REPEATS:-1} STEPS=${STEPS:-64} STREAM_MIB=${STREAM_MIB:-256} STREAM_REPS=4 PREFILL_PASSES=${PREFILL_PASSES:-2}
else
  REPEATS=${REPEATS:-3} STEPS=${STEPS:-256} STREAM_MIB=${STREAM_MIB:-1024} STREAM_REPS=10 PREFILL_PASSES=${PREFILL_PASSES:-5}
fi
is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }
for v in $THREADS "$REPEATS" "$STEPS" "$PREFILL" "$PREFILL_PASSES" "$STREAM_MIB" "$SEED" "$RUN_TIMEOUT"; do
  is_int "$v" && [ "$v" -ge 1 ] || die "'$v' is not a positive integer"
done
[ "$STEPS" -ge 16 ] || die "--steps $STEPS: at least 16"
for q in $QTYPES; do
  case "$q" in q8_0 | q4_0 | q4_k) ;; *) die "--types: '$q' is not one of q8_0 q4_0 q4_k" ;; esac
done
for b in $BINDS; do
  case "$b" in core | none | socket | hwthread | numa) ;; *) die "--bind: unknown policy '$b'" ;; esac
done
[ -x "$PIPELINE" ] && [ -x "$CONVERT" ] || die "$PIPELINE or $CONVERT is missing: build first (scripts/setup.sh)"
"$CONVERT" random --help >/dev/null 2>&1 || die "this mdi_convert cannot write random models ('mdi_convert random')"
command -v python3 >/dev/null || die "python3 not found"
command -v gcc >/dev/null || die "gcc not found (apt-get install gcc)"
command -v mpirun >/dev/null || die "mpirun not found (scripts/setup.sh installs openmpi-bin)"
[ "$(id -u)" != 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# the thread counts are set per run (our --threads, run.c's OMP_NUM_THREADS)
unset OMP_NUM_THREADS BLIS_NUM_THREADS OMP_PROC_BIND OMP_PLACES || true

if [ "$USE_LLAMA2C" = 1 ] && [ -n "$LLAMA2C" ] && [ ! -r "$LLAMA2C" ]; then die "--llama2c $LLAMA2C: not readable"; fi
LLAMA_BENCH="" LLAMA_BATCHED="" LLAMA_QUANTIZE="" LLAMACPP_NOTE="no --llamacpp: llama.cpp rows skipped"
if [ -n "$LLAMACPP" ]; then
  LLAMA_BENCH=$LLAMACPP/build/bin/llama-bench LLAMA_BATCHED=$LLAMACPP/build/bin/llama-batched-bench
  LLAMA_QUANTIZE=$LLAMACPP/build/bin/llama-quantize
  for x in "$LLAMA_BENCH" "$LLAMA_BATCHED" "$LLAMA_QUANTIZE"; do
    [ -x "$x" ] || die "--llamacpp $LLAMACPP: no $x (build llama-bench, llama-batched-bench and llama-quantize)"
  done
  LLAMACPP_NOTE=""
fi
mkdir -p "$OUT" 2>/dev/null && [ -d "$OUT" ] || die "cannot create the output directory $OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${CACHE:-$BUILD_DIR/bench-models}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
RUNS=$OUT/runs.jsonl
META=$OUT/meta.json
COMMANDS=$OUT/commands.txt
rm -rf "$OUT/runs"
mkdir -p "$OUT/runs"
: >"$RUNS"
: >"$COMMANDS"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mdi-perf.XXXXXX")
CHILD=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_child
  rm -rf "$SCRATCH"
  rm -f "$CACHE"/*.perf-tmp.$$
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
start=$SECONDS

# --- tools: run.c and the bandwidth probe, built into DIR ------------------------
RUNC="" LLAMA2C_NOTE=""
if [ "$USE_LLAMA2C" = 1 ]; then
  if [ -z "$LLAMA2C" ]; then
    die "no llama2.c run.c to compare with: give --llama2c PATH/TO/run.c (from a clone of karpathy/llama2.c), set MDI_LLAMA2C, or pass --no-llama2c"
  elif [ ! -r "$LLAMA2C" ]; then
    die "--llama2c $LLAMA2C: not readable"
  else
    log "building llama2.c's runomp from $LLAMA2C"
    gcc -Ofast -march=native -fopenmp "$LLAMA2C" -lm -o "$OUT/runomp" 2>"$SCRATCH/gcc.txt" ||
      { cat "$SCRATCH/gcc.txt" >&2; die "building $LLAMA2C failed"; }
    RUNC=$OUT/runomp
  fi
else
  LLAMA2C_NOTE="--no-llama2c: run.c columns skipped"
fi
[ -z "$LLAMA2C_NOTE" ] || log "$LLAMA2C_NOTE"
gcc -O3 -march=native -fopenmp "$BENCH_DIR/perf/stream_triad.c" -o "$OUT/stream_triad" 2>"$SCRATCH/gcc.txt" ||
  { cat "$SCRATCH/gcc.txt" >&2; die "building bench/perf/stream_triad.c failed"; }
gcc -O2 -march=native "$BENCH_DIR/perf/vnni_peak.c" -o "$OUT/vnni_peak" 2>"$SCRATCH/gcc.txt" ||
  { log "building bench/perf/vnni_peak.c failed (no AVX-512 VNNI?): instruction peaks skipped"; rm -f "$OUT/vnni_peak"; }

# --- models -----------------------------------------------------------------------
# A cached file is used when it is newer than its source and than mdi_convert
# itself: a rebuilt converter may write another layout (fresh FILE SOURCE).
fresh() { [ -s "$1" ] && [ "$1" -nt "$CONVERT" ] && { [ -z "${2:-}" ] || [ "$1" -nt "$2" ]; }; }
# random_model PRESET: the .h5 file, generated into the cache (scaling.sh's names)
random_model() {
  local f=$CACHE/$1.seed$SEED.h5
  if ! fresh "$f"; then
    log "generating $1 (random weights, seed $SEED) into $f"
    "$CONVERT" random --preset "$1" "$f.perf-tmp.$$" --seed "$SEED" >&2 || die "mdi_convert random --preset $1 failed"
    mv "$f.perf-tmp.$$" "$f"
  fi
  echo "$f"
}
# info FILE: `mdi_convert info FILE`, cached next to it
info_file() {
  local f=$1
  if ! fresh "$f.info.txt" "$f"; then
    "$CONVERT" info "$f" >"$f.info.txt.perf-tmp.$$" || die "mdi_convert info $f failed"
    mv "$f.info.txt.perf-tmp.$$" "$f.info.txt"
  fi
  echo "$f.info.txt"
}
# export_llama2c FILE: FILE.llama2c.bin and FILE.tok.bin for run.c. run.c computes Llama 2's
# block only: a random model with other options (Llama 3's rope scaling: llama3.2-1b) is exported
# from its twin without them, `mdi_convert random` of the same shape and seed (the same weights,
# the same work per token)
export_llama2c() {
  local f=$1 src=$1 info
  if ! { fresh "$f.llama2c.bin" "$f" && [ -s "$f.tok.bin" ]; }; then
    info=$(info_file "$f")
    if grep -q '^options ' "$info"; then
      src=$SCRATCH/llama2c-twin.h5
      log "$f has options run.c does not compute ($(info_value "$info" options)...): exporting its twin without them"
      "$CONVERT" random -q --dim "$(info_value "$info" dim)" --hidden-dim "$(info_value "$info" hidden_dim)" \
        --layers "$(info_value "$info" n_layers)" --heads "$(info_value "$info" n_heads)" \
        --kv-heads "$(info_value "$info" n_kv_heads)" --vocab "$(info_value "$info" vocab_size)" --seq-len 2048 \
        --classifier "$([ "$(info_value "$info" shared_classifier)" = 1 ] && echo shared || echo separate)" \
        --seed "$SEED" "$src" >&2 || die "mdi_convert random (run.c's twin of $f) failed"
    fi
    log "exporting $f for llama2.c"
    "$CONVERT" export-llama2c "$src" "$f.llama2c.bin.perf-tmp.$$" --tokenizer-out "$f.tok.bin.perf-tmp.$$" -q >&2 ||
      die "mdi_convert export-llama2c $f failed"
    [ "$src" = "$f" ] || rm -f "$src"
    mv "$f.tok.bin.perf-tmp.$$" "$f.tok.bin"
    mv "$f.llama2c.bin.perf-tmp.$$" "$f.llama2c.bin"
  fi
}
# quantized FILE TYPE: FILE's weight matrices in TYPE (FILE%.h5.TYPE.h5, mdi_convert quantize)
quantized() {
  local f=$1 q=${1%.h5}.$2.h5
  if ! fresh "$q" "$f"; then
    log "quantizing $f to $2"
    rm -f "$q.perf-tmp.$$.h5"
    "$CONVERT" quantize -q --type "$2" "$f" "$q.perf-tmp.$$.h5" >&2 || die "mdi_convert quantize --type $2 $f failed"
    mv "$q.perf-tmp.$$.h5" "$q"
  fi
  echo "$q"
}
# gguf FILE: FILE as GGUF for llama.cpp (FILE%.h5.gguf, mdi_convert export-gguf: the same weights)
gguf() {
  local f=$1 g=${1%.h5}.gguf
  if ! fresh "$g" "$f"; then
    log "exporting $f to GGUF"
    "$CONVERT" export-gguf -q "$f" "$g.perf-tmp.$$" >&2 || die "mdi_convert export-gguf $f failed"
    mv "$g.perf-tmp.$$" "$g"
  fi
  echo "$g"
}
# q4_k_m FILE: llama-quantize's Q4_K_M of FILE's GGUF, and its import (FILE%.h5.q4_k_m.{gguf,h5})
q4_k_m() {
  local f=$1 g=${1%.h5}.q4_k_m.gguf h=${1%.h5}.q4_k_m.h5
  if ! fresh "$h" "$f"; then
    log "llama-quantize Q4_K_M of $f"
    "$LLAMA_QUANTIZE" "$(gguf "$f")" "$g.perf-tmp.$$" Q4_K_M >"$SCRATCH/quantize.txt" 2>&1 ||
      { tail -n 5 "$SCRATCH/quantize.txt" >&2; die "llama-quantize Q4_K_M failed"; }
    mv "$g.perf-tmp.$$" "$g"
    "$CONVERT" gguf -q "$g" "$h.perf-tmp.$$" >&2 || die "mdi_convert gguf $g failed"
    mv "$h.perf-tmp.$$" "$h"
  fi
  echo "$h"
}
# bytes_per_token INFO: weight bytes read per decode token: every layer tensor,
# the final norm and the classifier (the embedding when it is shared); one
# embedding row per token is not counted
bytes_per_token() {
  awk '
    /^shared_classifier/ { shared = $2 }
    $1 == "type" && $2 == "shape" { for (i = 1; i <= NF; i++) if ($i == "bytes") off = NF - i } # the bytes column
    $NF ~ /^\/layers\// || $NF == "/final_norm" { layers += $(NF - off) }
    $NF ~ /^\/classifier/ { cls += $(NF - off) }
    $NF ~ /^\/embedding/ { emb += $(NF - off) }
    END { printf "%.0f\n", layers + (shared ? emb : cls) }' "$1"
}
info_value() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

MODEL=$(random_model "$PRESET")
MODEL_INFO=$(info_file "$MODEL")
SEQ_LEN=$(info_value "$MODEL_INFO" seq_len)
BPT=$(bytes_per_token "$MODEL_INFO")
if [ -n "$RUNC" ]; then export_llama2c "$MODEL"; fi
[ "$STEPS" -le "$SEQ_LEN" ] || die "--steps $STEPS is longer than $PRESET's seq_len $SEQ_LEN"
# the quantized versions: Q8_0 and Q4_0, and Q4_K (as llama-quantize --pure makes them)
declare -A QMODEL QBPT
SMALL_TYPES=$QTYPES
[ "$BIG_ONLY" = 0 ] || SMALL_TYPES=""
for q in $SMALL_TYPES; do
  QMODEL[$PRESET.$q]=$(quantized "$MODEL" "$q")
  QBPT[$PRESET.$q]=$(bytes_per_token "$(info_file "${QMODEL[$PRESET.$q]}")")
done
# llama.cpp's files: the same weights as GGUF, and llama-quantize's Q4_K_M (the per-rank bytes row)
declare -A GGUF
MODEL_Q4KM="" GGUF_Q4KM=""
if [ "$BIG_ONLY" = 1 ]; then
  : # --big-only: none of the small preset's files
elif [ -n "$LLAMACPP" ]; then
  GGUF[$PRESET]=$(gguf "$MODEL")
  for q in $QTYPES; do GGUF[$PRESET.$q]=$(gguf "${QMODEL[$PRESET.$q]}"); done
  MODEL_Q4KM=$(q4_k_m "$MODEL")
  GGUF_Q4KM=${MODEL%.h5}.q4_k_m.gguf
else
  # without llama.cpp, the Q4_K file's own export is "the GGUF" of the per-rank bytes row
  MODEL_Q4KM=${QMODEL[$PRESET.q4_k]:-}
  [ -z "$MODEL_Q4KM" ] || GGUF_Q4KM=$(gguf "$MODEL_Q4KM")
fi

BIG_MODEL="" BIG_NOTE="" BIG_BPT=""
if [ "$BIG" = 1 ]; then
  avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
  # our process and run.c's mapping hold the fp32 weights each; the page cache wants the files too
  if [ "$avail_kb" -lt $((13 * 1024 * 1024)) ]; then
    BIG_NOTE="--big: $((avail_kb / 1024)) MiB available, $BIG_PRESET needs about 13 GiB: skipped"
    log "$BIG_NOTE"
  else
    BIG_MODEL=$(random_model $BIG_PRESET)
    BIG_BPT=$(bytes_per_token "$(info_file "$BIG_MODEL")")
    if [ -n "$RUNC" ]; then export_llama2c "$BIG_MODEL"; fi
    for q in $QTYPES; do
      QMODEL[$BIG_PRESET.$q]=$(quantized "$BIG_MODEL" "$q")
      QBPT[$BIG_PRESET.$q]=$(bytes_per_token "$(info_file "${QMODEL[$BIG_PRESET.$q]}")")
      [ -z "$LLAMACPP" ] || GGUF[$BIG_PRESET.$q]=$(gguf "${QMODEL[$BIG_PRESET.$q]}")
    done
    [ -z "$LLAMACPP" ] || [ "$BIG_F32_GGUF" = 0 ] || GGUF[$BIG_PRESET]=$(gguf "$BIG_MODEL")
  fi
fi

# --- one run -----------------------------------------------------------------------
SEQ=0
ROUND=0
FAILED_RUNS=0
# run_cmd DIR CMD...: run CMD with the run timeout; stdout to DIR/stdout.txt, stderr to DIR/stderr.txt.
# Sets RUN_LOAD: the CPU time of the run and the load of the whole host while it ran, as KEY=VALUE
# words (cpu_s: user + system of CMD and its children; elapsed_s; host_busy_cpus and host_steal_cpus:
# CPUs busy on average over the run, everything included, and stolen by the hypervisor).
# (`times` in the shell itself: a subshell would not see the shell's children)
children_cpu() {
  times >"$SCRATCH/times.txt"
  awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); n += a[1] * 60 + a[2] } printf "%.3f\n", n }' "$SCRATCH/times.txt"
}
host_jiffies() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat; }
HZ=$(getconf CLK_TCK)
run_cmd() {
  local dir=$1 rc=0 c0 c1 t0 t1 h0 h1
  shift
  children_cpu >"$SCRATCH/c0"
  h0=$(host_jiffies)
  t0=$(date +%s.%N)
  timeout -k 15 "$RUN_TIMEOUT" "$@" >"$dir/stdout.txt" 2>"$dir/stderr.txt" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  t1=$(date +%s.%N)
  h1=$(host_jiffies)
  children_cpu >"$SCRATCH/c1"
  c0=$(cat "$SCRATCH/c0") c1=$(cat "$SCRATCH/c1")
  RUN_LOAD=$(echo "$c0 $c1 $t0 $t1 $h0 $h1 $HZ" | awk '{ e = $4 - $3; if (e <= 0) e = 1e-9
    printf "cpu_s=%.3f elapsed_s=%.3f host_busy_cpus=%.3f host_steal_cpus=%.3f", $2 - $1, e, ($7 - $5) / $9 / e, ($8 - $6) / $9 / e }')
  return "$rc"
}
record_failure() { # TAG DIR RC KEY=VALUE...
  local tag=$1 dir=$2 rc=$3
  shift 3
  FAILED_RUNS=$((FAILED_RUNS + 1))
  log "FAILED (exit $rc): $tag round $ROUND; see $dir/stderr.txt"
  tail -n 5 "$dir/stderr.txt" >&2 || true
  python3 "$REPORT" add-failed "$RUNS" tag="$tag" round="$ROUND" seq="$SEQ" note="exit $rc, ${dir#"$OUT"/}" "$@"
}
# mdi TAG MODEL_LABEL MODEL_FILE THREADS NP BIND ARGS...: one mdi_pipeline run
mdi() {
  local tag=$1 label=$2 file=$3 threads=$4 np=$5 bind=$6 rc=0
  shift 6
  [ "$np" != 1 ] || bind="" # one rank runs without mpirun
  SEQ=$((SEQ + 1))
  local dir=$OUT/runs/r$ROUND-$(printf %03d $SEQ)-$tag-$label-t$threads
  mkdir -p "$dir"
  local cmd=("$PIPELINE" -m "$file" --threads "$threads" -t 0 -q --timeout 300 "$@"
    -o "$dir/journal.jsonl" --stats "$dir/stats.json")
  [ "$np" = 1 ] || cmd=(mpirun -np "$np" --oversubscribe --bind-to "$bind" "${cmd[@]}")
  printf "%q " "${cmd[@]}" | sed "s/ $//" >"$dir/command.txt"
  echo >>"$dir/command.txt"
  run_cmd "$dir" "${cmd[@]}" || rc=$?
  local shown
  shown=$(sed -e "s|$OUT/runs/[^/]*/|\$RUN/|g" -e "s|$OUT|\$OUT|g" -e "s|$CACHE|\$CACHE|g" -e "s|$BUILD_DIR|\$BUILD|g" \
    "$dir/command.txt")
  # the long prefill prompt is in DIR/prefill_prompt.txt
  [ -z "$LONG_PROMPT" ] || shown=${shown//"$(printf %q "$LONG_PROMPT")"/'"$(cat $OUT/prefill_prompt.txt)"'}
  if [ "$rc" != 0 ] || [ ! -s "$dir/stats.json" ]; then
    record_failure "$tag" "$dir" "$rc" kind=mdi model="$label" threads="$threads" ranks="$np" bind="$bind" command="$shown"
    return 0
  fi
  python3 "$REPORT" add-mdi --stats "$dir/stats.json" --journal "$dir/journal.jsonl" "$RUNS" tag="$tag" \
    model="$label" threads="$threads" round="$ROUND" seq="$SEQ" bind="$bind" command="$shown" dir="${dir#"$OUT"/}" \
    $RUN_LOAD
  log "$(printf 'round %d %-7s %-14s t=%d np=%d: %s' "$ROUND" "$tag" "$label" "$threads" "$np" \
    "$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(("prefill %.2f tok/s" % (s["prompt_tokens"] / s["wall_s"]) if sys.argv[2] == "P" else "%.2f tok/s" % s["tok_per_s"]) + " (%d prompt + %d generated tokens in %.3f s)" % (s["prompt_tokens"], s["generated_tokens"], s["wall_s"]))' "$dir/stats.json" "$tag")")"
}
# runc MODEL_LABEL MODEL_FILE THREADS STEPS PROMPT: one run.c run
runc() {
  local label=$1 file=$2 threads=$3 steps=$4 prompt=$5 rc=0
  [ -n "$RUNC" ] || return 0
  SEQ=$((SEQ + 1))
  local dir=$OUT/runs/r$ROUND-$(printf %03d $SEQ)-R-$label-t$threads
  mkdir -p "$dir"
  local cmd=(env OMP_NUM_THREADS="$threads" "$RUNC" "$file.llama2c.bin" -z "$file.tok.bin" -t 0 -n "$steps" -i "$prompt")
  printf "%q " "${cmd[@]}" | sed "s/ $//" >"$dir/command.txt"
  echo >>"$dir/command.txt"
  run_cmd "$dir" "${cmd[@]}" || rc=$?
  local shown
  shown=$(sed -e "s|$OUT|\$OUT|g" -e "s|$CACHE|\$CACHE|g" "$dir/command.txt")
  if [ "$rc" != 0 ]; then
    record_failure R "$dir" "$rc" kind=runc model="$label" threads="$threads" command="$shown"
    return 0
  fi
  python3 "$REPORT" add-runc --stderr "$dir/stderr.txt" "$RUNS" tag=R model="$label" threads="$threads" \
    round="$ROUND" seq="$SEQ" steps="$steps" command="$shown" dir="${dir#"$OUT"/}" $RUN_LOAD
  log "$(printf 'round %d %-7s %-14s t=%d np=1: %s' "$ROUND" run.c "$label" "$threads" "$(grep -h 'achieved' "$dir/stderr.txt" || echo 'no tok/s line')")"
}
# llama.cpp: one run of llama-bench (LS: -n 128 decode, LP: -p N prefill) or of
# llama-batched-bench (LB16, LB64) on LABEL's GGUF, recorded like ours
llama_run() { # TAG LABEL THREADS CMD...
  local tag=$1 label=$2 threads=$3 rc=0
  shift 3
  SEQ=$((SEQ + 1))
  local dir=$OUT/runs/r$ROUND-$(printf %03d $SEQ)-$tag-$label-t$threads
  mkdir -p "$dir"
  printf "%q " "$@" | sed "s/ $//" >"$dir/command.txt"
  echo >>"$dir/command.txt"
  run_cmd "$dir" "$@" || rc=$?
  local shown
  shown=$(sed -e "s|$OUT|\$OUT|g" -e "s|$CACHE|\$CACHE|g" -e "s|$LLAMACPP|\$LLAMACPP|g" "$dir/command.txt")
  if [ "$rc" != 0 ]; then
    record_failure "$tag" "$dir" "$rc" kind=llamacpp model="$label" threads="$threads" command="$shown"
    return 0
  fi
  python3 "$REPORT" add-llama --out "$dir/stdout.txt" "$RUNS" tag="$tag" model="$label" threads="$threads" \
    round="$ROUND" seq="$SEQ" command="$shown" dir="${dir#"$OUT"/}" $RUN_LOAD
  log "$(printf 'round %d %-7s %-14s t=%d: %s' "$ROUND" "$tag" "$label" "$threads" \
    "$(python3 -c 'import json, sys; r = [json.loads(l) for l in open(sys.argv[1])][-1]; print("%.2f tok/s" % r["tok_per_s"] if r.get("ok") else r.get("note"))' "$RUNS")")"
}
llama_tg() { # LABEL THREADS
  [ -n "${GGUF[$1]:-}" ] || return 0
  llama_run LS "$1" "$2" "$LLAMA_BENCH" -m "${GGUF[$1]}" -t "$2" -r 1 -o json -n 128 -p 0
}
llama_pp() { # LABEL THREADS
  [ -n "${GGUF[$1]:-}" ] || return 0
  llama_run LP "$1" "$2" "$LLAMA_BENCH" -m "${GGUF[$1]}" -t "$2" -r "$PREFILL_PASSES" -o json -n 0 -p "$P_LONG"
}
llama_batch() { # TAG LABEL THREADS SEQUENCES
  [ -n "${GGUF[$2]:-}" ] || return 0
  llama_run "$1" "$2" "$3" "$LLAMA_BATCHED" -m "${GGUF[$2]}" -t "$3" -tb "$3" -c $(($4 * (P_SHORT + NEW) + 64)) \
    -b 2048 -ub 512 -npp "$P_SHORT" -ntg "$NEW" -npl "$4" --output-format jsonl
}
stream() { # THREADS
  local threads=$1 line
  SEQ=$((SEQ + 1))
  line=$(OMP_NUM_THREADS=$threads "$OUT/stream_triad" "$STREAM_MIB" "$STREAM_REPS") || {
    FAILED_RUNS=$((FAILED_RUNS + 1))
    log "stream_triad failed"
    return 0
  }
  python3 "$REPORT" add-stream --line "$line" "$RUNS" kind=stream round="$ROUND" seq="$SEQ" \
    command="OMP_NUM_THREADS=$threads \$OUT/stream_triad $STREAM_MIB $STREAM_REPS"
  log "round $ROUND bandwidth: $line"
}

# --- prompts ---------------------------------------------------------------------
PROMPT="Once upon a time"
LONG_PROMPT=""
# prompt_tokens FILE PROMPT_TEXT: tokens of the prompt (with BOS) as our tokenizer encodes it
prompt_tokens() {
  local d=$SCRATCH/calib
  mkdir -p "$d"
  "$PIPELINE" -m "$1" -p "$2" -n 1 -b 1 --micro-batches 1 -t 0 -q --max-seq-len "$SEQ_LEN" --threads 2 \
    -o "$d/j.jsonl" >/dev/null 2>"$d/err.txt" || { cat "$d/err.txt" >&2; die "mdi_pipeline failed on $1"; }
  python3 "$REPORT" prompt-tokens "$d/j.jsonl"
}
P_SHORT=$(prompt_tokens "$MODEL" "$PROMPT")
NEW=$((STEPS - P_SHORT))
[ "$NEW" -ge 8 ] || die "--steps $STEPS leaves $NEW new tokens after the $P_SHORT-token prompt"
MAXSEQ=$((STEPS + 8))
# the prefill prompt: sentences of models/prompts.txt, cut to the wanted token count
PREFILL_TARGET=$PREFILL
[ "$PREFILL_TARGET" -le $((SEQ_LEN - 8)) ] || PREFILL_TARGET=$((SEQ_LEN - 8))
[ "$PREFILL_TARGET" -le 1024 ] || PREFILL_TARGET=1024 # one chunk: rows of a micro-batch message
make_text() { # WORDS: the first WORDS words of the sentences, cycled
  awk -v n="$1" 'BEGIN { ORS = "" } { l[NR] = $0 "." } END { w = 0; for (i = 0; w < n; i++) { k = split(l[i % NR + 1], a, " "); for (j = 1; j <= k && w < n; j++) { print (w ? " " : "") a[j]; w++ } } }' \
    "$SRC_DIR/models/prompts.txt"
}
words=$((PREFILL_TARGET / 8 + 1))
P_LONG=0
for _ in 1 2 3 4 5 6 7 8; do
  text=$(make_text "$words")
  n=$(prompt_tokens "$MODEL" "$text")
  if [ "$n" -le "$PREFILL_TARGET" ]; then LONG_PROMPT=$text P_LONG=$n; fi
  # within 2% below the target: done
  [ "$n" -gt "$PREFILL_TARGET" ] || [ $((n * 100)) -lt $((PREFILL_TARGET * 98)) ] || break
  words=$((words * PREFILL_TARGET / n))
  [ "$n" -le "$PREFILL_TARGET" ] || words=$((words - 1))
  [ "$words" -ge 1 ] || words=1
done
[ -n "$LONG_PROMPT" ] || die "could not make a prompt of at most $PREFILL_TARGET tokens"
printf '%s\n' "$LONG_PROMPT" >"$OUT/prefill_prompt.txt"
log "prompts: '$PROMPT' is $P_SHORT tokens (run.c -n $STEPS, mdi_pipeline -n $NEW); prefill prompt $P_LONG tokens ($OUT/prefill_prompt.txt)"

# --- the description of the benchmark ---------------------------------------------
BINDS_JSON=$(printf '"%s",' $BINDS)
THREADS_JSON=$(printf '%s,' $THREADS)
QMODELS_JSON=$(for k in "${!QMODEL[@]}"; do printf '"%s": "%s",' "$k" "${QMODEL[$k]}"; done)
QBPT_JSON=$(for k in "${!QBPT[@]}"; do printf '"%s": %s,' "$k" "${QBPT[$k]}"; done)
PERF_CMDLINE=$CMDLINE PERF_PIPELINE=$PIPELINE PERF_LLAMA2C=${RUNC:+$LLAMA2C} PERF_LLAMA2C_NOTE=$LLAMA2C_NOTE \
  PERF_LLAMACPP=$LLAMACPP PERF_LLAMACPP_NOTE=$LLAMACPP_NOTE PERF_BIG_NOTE=$BIG_NOTE PERF_PROMPT=$PROMPT \
  python3 - "$META" <<EOF
import json, os, platform, subprocess, sys
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""
e = os.environ
bpt = {"$PRESET": int("$BPT")}
bpt.update({$QBPT_JSON})
if "$BIG_BPT": bpt["$BIG_PRESET"] = int("$BIG_BPT")
meta = {
    "command": e["PERF_CMDLINE"].strip(),
    "date_utc": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    "host_cpus": os.cpu_count(),
    "cpu_model": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
    "mem_total_kb": int(sh("awk '/^MemTotal:/ { print \$2 }' /proc/meminfo") or 0),
    "kernel": platform.release(),
    "os": sh(". /etc/os-release && echo \$PRETTY_NAME"),
    "gcc": sh("gcc --version | head -1"),
    "mdi_pipeline": sh("'" + e["PERF_PIPELINE"] + "' --version"),
    "mpirun": sh("mpirun --version | head -1"),
    "blis": sh("dpkg-query -W -f='\${Package} \${Version}' libblis4-openmp 2>/dev/null"),
    "model": "$PRESET", "model_file": "$MODEL", "seed": $SEED,
    "big_model": "$BIG_PRESET" if "$BIG_MODEL" else None, "big_note": e["PERF_BIG_NOTE"],
    "quantized_models": {$QMODELS_JSON}, "quant_types": "$QTYPES".split(),
    "llamacpp": e["PERF_LLAMACPP"] or None, "llamacpp_note": e["PERF_LLAMACPP_NOTE"],
    "llamacpp_commit": sh("cat '" + e["PERF_LLAMACPP"] + "/src/COMMIT' 2>/dev/null") if e["PERF_LLAMACPP"] else None,
    "q4_k_m_model": "$MODEL_Q4KM", "q4_k_m_gguf": "$GGUF_Q4KM",
    "llama2c": e["PERF_LLAMA2C"] or None, "llama2c_note": e["PERF_LLAMA2C_NOTE"],
    "llama2c_build": "gcc -Ofast -march=native -fopenmp run.c -lm -o runomp",
    "threads": [$THREADS_JSON], "binds": [$BINDS_JSON], "repeats": $REPEATS, "quick": $QUICK == 1,
    "steps": $STEPS, "new_tokens": $NEW, "prompt": e["PERF_PROMPT"], "prompt_tokens": $P_SHORT,
    "prefill_prompt_tokens": $P_LONG, "prefill_passes": $PREFILL_PASSES, "max_seq_len": $MAXSEQ, "stream_mib": $STREAM_MIB,
    "bytes_per_token": bpt, "bound_bandwidth": "read_best_gbs",
    "notes": {
        "tok_per_s": "ours: mdi_pipeline --stats tok_per_s = generated tokens / wall_s (wall_s from the first micro-batch to the last token: the prompt pass is inside, loading is not); run.c: its 'achieved tok/s' line (forward passes after the first / time)",
        "ratios": "per round, against the mean of the reference runs just before and after; the median over rounds is reported",
        "bound": "decode tok/s bound = read-only bandwidth on huge pages (stream_triad read_best_gbs: fastest pass of the round, same threads) / bytes_per_token; read_4k_*: the same read on 4 KiB pages",
        "per_cpu": "value_per_cpu: the ratio with every run's speed divided by its CPU share, cpu_s / (elapsed_s x threads x ranks), load phase included",
        "prefill": "prompt tokens / wall_s of a -n 1 run of $PREFILL_PASSES sequences of the same prompt one after another (-b 1; the first, cold pass included); llama-bench: -p with -r $PREFILL_PASSES after its warm-up pass",
    },
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF

# --- the rounds --------------------------------------------------------------------
single() { # TAG LABEL FILE THREADS
  mdi "$1" "$2" "$3" "$4" 1 none -p "$PROMPT" -n "$NEW" -b 1 --micro-batches 1 --max-seq-len "$MAXSEQ"
}
batch() { # TAG LABEL FILE THREADS B M SEQUENCES NP BIND
  mdi "$1" "$2" "$3" "$4" "$8" "$9" -p "$PROMPT" --n-samples "$7" -n "$NEW" -b "$5" --micro-batches "$6" \
    --max-seq-len "$MAXSEQ"
}
prefill() { # LABEL FILE THREADS
  mdi P "$1" "$2" "$3" 1 none -p "$LONG_PROMPT" --n-samples "$PREFILL_PASSES" -n 1 -b 1 --micro-batches 1 \
    --max-seq-len $((P_LONG + 8))
}
for ((ROUND = 1; ROUND <= REPEATS; ROUND++)); do
  log "round $ROUND of $REPEATS"
  for T in $THREADS; do
    stream "$T"
    [ "$BIG_ONLY" = 0 ] || continue
    runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
    single S "$PRESET" "$MODEL" "$T"
    llama_tg "$PRESET" "$T"
    prefill "$PRESET" "$MODEL" "$T"
    llama_pp "$PRESET" "$T"
    runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
    batch B16 "$PRESET" "$MODEL" "$T" 16 1 16 1 none
    llama_batch LB16 "$PRESET" "$T" 16
    runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
    batch B64 "$PRESET" "$MODEL" "$T" 64 1 64 1 none
    llama_batch LB64 "$PRESET" "$T" 64
    runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
    for q in $QTYPES; do
      label=$PRESET.$q
      single S "$label" "${QMODEL[$label]}" "$T"
      llama_tg "$label" "$T"
      runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
      # batches and prefill of Q8_0 and Q4_K (not in --quick)
      [ "$QUICK" = 0 ] && [ "$q" != q4_0 ] || continue
      prefill "$label" "${QMODEL[$label]}" "$T"
      llama_pp "$label" "$T"
      batch B16 "$label" "${QMODEL[$label]}" "$T" 16 1 16 1 none
      llama_batch LB16 "$label" "$T" 16
      runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
      batch B64 "$label" "${QMODEL[$label]}" "$T" 64 1 64 1 none
      llama_batch LB64 "$label" "$T" 64
      runc "$PRESET" "$MODEL" "$T" "$STEPS" "$PROMPT"
    done
  done
  if [ "$BIG_ONLY" = 0 ]; then
  # each rank's weights of llama.cpp's Q4_K_M file against the GGUF's tensors (once)
  [ "$ROUND" != 1 ] || [ -z "$MODEL_Q4KM" ] ||
    mdi K2 "$PRESET.q4_k_m" "$MODEL_Q4KM" 1 2 none -p "$PROMPT" -n 8 -b 1 --max-seq-len "$MAXSEQ"
  # 2 ranks x 1 thread against 1 rank x 1 thread, 16 sequences: fp32, and Q8_0 when measured
  for label in "$PRESET" ${QMODEL[$PRESET.q8_0]:+"$PRESET.q8_0"}; do
    file=$MODEL
    [ "$label" = "$PRESET" ] || file=${QMODEL[$label]}
    batch A "$label" "$file" 1 16 1 16 1 none
    for b in $BINDS; do
      batch "N2_$b" "$label" "$file" 1 8 2 16 2 "$b"
      batch C "$label" "$file" 1 8 2 16 1 none
      batch A "$label" "$file" 1 16 1 16 1 none
    done
  done
  fi
  if [ -n "$BIG_MODEL" ]; then
    for T in $THREADS; do
      runc "$BIG_PRESET" "$BIG_MODEL" "$T" "$STEPS" "$PROMPT"
      single S "$BIG_PRESET" "$BIG_MODEL" "$T"
      llama_tg "$BIG_PRESET" "$T"
      runc "$BIG_PRESET" "$BIG_MODEL" "$T" "$STEPS" "$PROMPT"
      for q in $QTYPES; do
        single S "$BIG_PRESET.$q" "${QMODEL[$BIG_PRESET.$q]}" "$T"
        llama_tg "$BIG_PRESET.$q" "$T"
        runc "$BIG_PRESET" "$BIG_MODEL" "$T" "$STEPS" "$PROMPT"
      done
    done
  fi
done

# --- kernels: mdi_matmul (float32, quantized) against BLIS sgemm, stories110M's FFN shape ----
KERNELS=$BUILD_DIR/mdi_bench_kernels
if [ "$BIG_ONLY" = 1 ]; then
  log "--big-only: kernel comparison skipped"
elif [ -x "$KERNELS" ]; then
  if [ "$QUICK" = 1 ]; then kargs=(--rows "1 16" --layers 2 --seconds 0.1); else kargs=(--seconds 1); fi
  kargs+=(--types "f32 q8_0 q4_0 q4_k")
  log "kernels: $KERNELS --threads \"$THREADS\" ${kargs[*]}"
  "$KERNELS" --threads "$THREADS" "${kargs[@]}" --csv "$OUT/kernels.csv" >"$OUT/kernels.txt" 2>&1 ||
    { FAILED_RUNS=$((FAILED_RUNS + 1)); log "mdi_bench_kernels failed: $(tail -n 3 "$OUT/kernels.txt")"; }
else
  log "no $KERNELS: kernel comparison skipped"
fi

# --- results -------------------------------------------------------------------------
for f in "$OUT"/runs/*/command.txt; do
  echo "# ${f#"$OUT"/}"
  sed -e "s|$OUT|\$OUT|g" -e "s|$CACHE|\$CACHE|g" -e "s|$BUILD_DIR|\$BUILD|g" ${LLAMACPP:+-e "s|$LLAMACPP|\$LLAMACPP|g"} "$f"
done >"$COMMANDS"
echo
python3 "$REPORT" report "$RUNS" --meta "$META" --csv "$OUT/perf.csv" --json "$OUT/perf.json" \
  --plot-data "$SCRATCH/perf.dat"
if command -v gnuplot >/dev/null && [ -s "$SCRATCH/perf.dat" ] && [ "$(wc -l <"$SCRATCH/perf.dat")" -gt 1 ]; then
  gnuplot -e "data='$SCRATCH/perf.dat'; out='$OUT/perf.png'" "$BENCH_DIR/perf/perf.gp" 2>"$SCRATCH/gnuplot.txt" ||
    log "gnuplot failed: $(head -c 300 "$SCRATCH/gnuplot.txt")"
fi
[ ! -s "$OUT/kernels.txt" ] || { echo; cat "$OUT/kernels.txt"; }
if [ -x "$OUT/vnni_peak" ]; then
  "$OUT/vnni_peak" 1 >"$OUT/peak.txt" 2>&1 || log "vnni_peak failed"
  echo; echo "instruction peaks, 1 thread, by CPU time ($OUT/peak.txt):"; cat "$OUT/peak.txt"
fi
echo "results: $OUT/perf.csv, $OUT/perf.json$([ ! -s "$OUT/perf.png" ] || echo ", $OUT/perf.png"); runs in $OUT/runs, commands in $COMMANDS ($((SECONDS - start)) s)"
if [ "$FAILED_RUNS" -gt 0 ]; then
  log "$FAILED_RUNS runs failed (see above)"
  exit 1
fi
exit 0

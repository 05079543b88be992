#!/bin/sh
# Build the libFuzzer harnesses of tests/fuzz/ with clang (MDI_FUZZ=ON, ASan +
# UBSan) into build-fuzz/ and run each one for a fixed time on its seed corpus.
#
#   tests/fuzz/run_fuzz.sh [NAME...]     (default: every harness)
#
# Environment:
#   MDI_FUZZ_SECONDS    seconds per harness (default 30)
#   MDI_FUZZ_JOBS       harnesses run at once (default: the number of cores)
#   MDI_FUZZ_BUILD_DIR  build tree (default build-fuzz)
#
# The seeds (tests/fuzz/corpus/NAME/) and the regression inputs
# (tests/fuzz/regressions/NAME/) are only read; what a run finds goes to
# BUILD/fuzz-work/NAME/ (its growing corpus, its log, and any crash-*,
# leak-*, timeout-* or oom-* input).  A finding fails the script: fix the
# code, then keep the input as tests/fuzz/regressions/NAME/<what>, so that
# CTest (fuzz.replay.NAME) replays it in every build.
set -eu
cd "$(dirname "$0")/../.."
SRC=$(pwd)
ALL="gguf llama2c_model llama2c_tokenizer prompt_encode config hf_tokenizer json prompts journal"
NAMES=${*:-$ALL}
SECS=${MDI_FUZZ_SECONDS:-30}
JOBS=${MDI_FUZZ_JOBS:-$(nproc)}
BUILD=${MDI_FUZZ_BUILD_DIR:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD=$SRC/$BUILD ;; esac

for n in $NAMES; do
  case " $ALL " in *" $n "*) ;; *) echo "run_fuzz.sh: unknown harness '$n' (known: $ALL)" >&2; exit 2 ;; esac
done
command -v clang >/dev/null || { echo "run_fuzz.sh: clang is needed (scripts/setup.sh installs it)" >&2; exit 2; }

echo "run_fuzz.sh: building the harnesses in $BUILD"
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMDI_FUZZ=ON \
  >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log"; exit 1; }
targets=""
for n in $NAMES; do targets="$targets fuzz_$n"; done
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$(nproc)" --target $targets

# run_one NAME: fuzz for SECS seconds; the log and findings go to fuzz-work/NAME/
run_one() {
  work=$BUILD/fuzz-work/$1
  rm -rf "$work"
  mkdir -p "$work/corpus"
  set -- "$1" "$work" "$SRC/tests/fuzz/corpus/$1"
  [ -d "$SRC/tests/fuzz/regressions/$1" ] && set -- "$@" "$SRC/tests/fuzz/regressions/$1"
  # the first corpus directory receives the new inputs; -close_fd_mask=2 mutes
  # the parsers' warnings (libFuzzer keeps its own stderr for reports)
  "$BUILD/tests/fuzz/fuzz_$1" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$2/" \
    "$2/corpus" "$3" ${4:+"$4"} >"$2/log" 2>&1
}

echo "run_fuzz.sh: $SECS s per harness, $JOBS at a time: $NAMES"
failed=""
set -- $NAMES
while [ $# -gt 0 ]; do
  batch="" # NAME:PID of the harnesses running now
  while [ $# -gt 0 ] && [ "$(echo $batch | wc -w)" -lt "$JOBS" ]; do
    run_one "$1" &
    batch="$batch $1:$!"
    shift
  done
  for job in $batch; do
    n=${job%%:*}
    status=0
    wait "${job#*:}" || status=$?
    work=$BUILD/fuzz-work/$n
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
    found=$(cd "$work" && ls crash-* leak-* timeout-* oom-* 2>/dev/null || true)
    if [ "$status" -ne 0 ] || [ -n "$found" ]; then
      echo "run_fuzz.sh: $n: FINDING (status $status) after ${runs:-?} runs: $work/$found"
      grep -E 'ERROR|runtime error|fuzz check failed|SUMMARY|^ +#[0-9]' "$work/log" | head -20 | sed 's/^/  | /'
      failed="$failed $n"
    else
      echo "run_fuzz.sh: $n: ${runs:-?} runs, $cov, no finding"
    fi
  done
done
if [ -n "$failed" ]; then
  echo "run_fuzz.sh: findings in:$failed (inputs and logs in $BUILD/fuzz-work/)" >&2
  exit 1
fi
echo "run_fuzz.sh: no finding"

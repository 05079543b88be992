#!/bin/bash
# A small run of the scaling benchmark (well under 2 minutes on 2 cores):
# the shipped stories260K and a random-weight stories15M-shape model, 1 and 2
# ranks on plain local mpirun (no namespaces, no root needed), then the plots.
#
#   bench/quick.sh --out DIR
#
# DIR gets results.csv, results.json and plots/*.png. Environment:
# MDI_BUILD_DIR (default build). The speeds it prints are those of ranks
# sharing this machine's cores: a check that the harness works, not a result.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(opt_value "$@"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quick.sh: unknown argument '$1' (usage: bench/quick.sh --out DIR)" >&2; exit 2 ;;
  esac
done
[ -n "$OUT" ] || { echo "quick.sh: usage: bench/quick.sh --out DIR" >&2; exit 2; }

MODELS="stories260K stories15M"
if ! "$CONVERT" random --help >/dev/null 2>&1; then
  echo "quick.sh: this mdi_convert cannot write random models: stories260K only" >&2
  MODELS="stories260K"
fi
start=$SECONDS
"$BENCH_DIR/scaling.sh" --out "$OUT" --no-netns --models "$MODELS" --ranks "1 2" \
  --sequences 8 --new-tokens 32 --batch 4 --repeats 1 --start-timeout 60 --run-timeout 120
"$BENCH_DIR/plot.sh" "$OUT"
echo "quick.sh: done in $((SECONDS - start)) s"

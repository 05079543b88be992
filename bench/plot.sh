#!/bin/bash
# PNG plots of a benchmark's results: bench/plot.sh DIR
# reads DIR/results.json (written by bench/scaling.sh with results.csv) and
# writes DIR/plots/*.png:
#   throughput_MODEL.png           aggregate tokens/s vs devices, with the linear line
#   speedup.png                    speedup over 1 device, every model and link
#   breakdown_MODEL_LINK.png       per-rank compute / recv wait / send wait / other
#   memory_MODEL.png               weights and peak RSS per device vs devices
#   single_vs_recurrent_MODEL.png  one sequence vs the recurrent pipeline
# Needs gnuplot (Debian gnuplot-nox) and python3 (standard library only).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: bench/plot.sh DIR" >&2; exit 2; }
DIR=$1
[ -s "$DIR/results.json" ] || { echo "plot.sh: $DIR/results.json not found (run bench/scaling.sh --out $DIR)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$DIR/plots/data"
jobs=$(python3 "$BENCH_DIR/lib/plotdata.py" "$DIR/results.json" "$DIR/plots/data" "$DIR/plots")
n=0
while IFS=$'\t' read -r script args; do
  [ -n "$script" ] || continue
  gnuplot -e "dir=\"$BENCH_DIR/plot/\"; $args" "$BENCH_DIR/plot/$script"
  n=$((n + 1))
done <<<"$jobs"
echo "plot.sh: $n plots in $DIR/plots"
ls "$DIR/plots"/*.png

#!/bin/bash
# The server under load: mdi_pipeline --serve at 1..N ranks (and llama.cpp's
# llama-server --parallel SLOTS on the same model when given), 1..64
# concurrent streaming clients, greedy requests of --max-tokens tokens.
# Reports throughput (generated tokens per second of wall time), time to
# first token and inter-token latency, p50 and p99.
#
#   bench/serve.sh --out DIR [--ranks "1 2 3"] [--clients "1 2 4 8 16 32 64"]
#                  [--requests 128] [--max-tokens 64] [--slots 64] [--rounds 3]
#                  [--model stories260K.h5] [--llamacpp DIR [--gguf FILE]] [--quick]
#
# DIR gets runs.csv (one row per round, server, ranks and client count),
# results.csv (the medians over the rounds), results.md (the same as a
# table) and serve.png (gnuplot).  The rounds interleave the servers, so a
# slow moment of a shared machine does not fall on one of them only.
#   --requests N   requests per point (at least 2 per client)
#   --slots S      sequences in the ring at once: -b ceil(S/M) with M = ranks
#                  micro-batches; llama-server gets --parallel S
#   --llamacpp DIR a llama.cpp build (DIR/build/bin/llama-server); --gguf the
#                  same model as GGUF (default: models/stories260K.gguf)
#   --quick        1 rank, clients "1 4", 16 requests, 1 round (a smoke test)
# Environment: MDI_BUILD_DIR (default build).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

OUT="" RANKS="1 2 3" CLIENTS="1 2 4 8 16 32 64" REQUESTS=128 MAX_TOKENS=64 SLOTS=64 ROUNDS=3
MODEL="" LLAMACPP="" GGUF="$SRC_DIR/models/stories260K.gguf"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(opt_value_or_empty "$@"); shift 2 ;;
    --ranks) RANKS=$(opt_value_or_empty "$@"); shift 2 ;;
    --clients) CLIENTS=$(opt_value_or_empty "$@"); shift 2 ;;
    --requests) REQUESTS=$(opt_value_or_empty "$@"); shift 2 ;;
    --max-tokens) MAX_TOKENS=$(opt_value_or_empty "$@"); shift 2 ;;
    --slots) SLOTS=$(opt_value_or_empty "$@"); shift 2 ;;
    --rounds) ROUNDS=$(opt_value_or_empty "$@"); shift 2 ;;
    --model) MODEL=$(opt_value_or_empty "$@"); shift 2 ;;
    --llamacpp) LLAMACPP=$(opt_value_or_empty "$@"); shift 2 ;;
    --gguf) GGUF=$(opt_value_or_empty "$@"); shift 2 ;;
    --quick) RANKS=1 CLIENTS="1 4" REQUESTS=16 ROUNDS=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$OUT" ] || { echo "serve.sh: --out DIR is required (see --help)" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -z "$MODEL" ]; then
  MODEL=$OUT/stories260K.h5
  [ -f "$MODEL" ] || "$CONVERT" llama2c "$SRC_DIR/models/stories260K.bin" --tokenizer "$SRC_DIR/models/tok512.bin" \
    "$MODEL" >/dev/null
fi
LLAMA_SERVER=""
if [ -n "$LLAMACPP" ]; then
  LLAMA_SERVER=$LLAMACPP/build/bin/llama-server
  [ -x "$LLAMA_SERVER" ] || { echo "serve.sh: no $LLAMA_SERVER" >&2; exit 2; }
  [ -f "$GGUF" ] || { echo "serve.sh: no GGUF model $GGUF (--gguf)" >&2; exit 2; }
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader,tcp} OMPI_MCA_btl_vader_single_copy_mechanism=none
LOAD="python3 $BENCH_DIR/lib/serve_load.py"
PROMPTS=$SRC_DIR/models/prompts.txt

SERVER_PID="" PORT=""
stop_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "${SIGNAL_PID:-$SERVER_PID}" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID="" SIGNAL_PID=""
}
trap stop_server EXIT

# mdi_pipeline on np ranks; rank 0 prints its port and pid
start_mdi() {
  local np=$1 log=$OUT/server.mdi.np$1.log
  local b=$(((SLOTS + np - 1) / np))
  mpirun -np "$np" --oversubscribe --bind-to none "$PIPELINE" -m "$MODEL" --serve 127.0.0.1:0 -b "$b" \
    --micro-batches "$np" -q -n "$MAX_TOKENS" --max-queue 100000 2>"$log" >/dev/null &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    if grep -q "on port" "$log"; then
      PORT=$(sed -n 's/.* on port \([0-9]*\) (pid \([0-9]*\).*/\1/p' "$log")
      SIGNAL_PID=$(sed -n 's/.* on port \([0-9]*\) (pid \([0-9]*\).*/\2/p' "$log")
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "serve.sh: mdi_pipeline did not start (see $log)" >&2
  return 1
}

start_llama() {
  local log=$OUT/server.llamacpp.log
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # one compute thread: OpenMP threads spinning against a loaded 2-core
  # machine make it far slower (see docs/SERVING.md)
  "$LLAMA_SERVER" -m "$GGUF" --host 127.0.0.1 --port "$PORT" --parallel "$SLOTS" -c $((SLOTS * 512)) -t 1 \
    --no-webui >"$log" 2>&1 &
  SERVER_PID=$!
  SIGNAL_PID=$SERVER_PID
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "serve.sh: llama-server did not start (see $log)" >&2
  return 1
}

RUNS=$OUT/runs.csv
echo "round,server,ranks,clients,requests,errors,tokens,wall_s,tok_per_s,ttft_p50_ms,ttft_p99_ms,itl_p50_ms,itl_p99_ms" >"$RUNS"
SERVERS=""
for np in $RANKS; do SERVERS="$SERVERS mdi:$np"; done
[ -n "$LLAMA_SERVER" ] && SERVERS="$SERVERS llamacpp:1"
start=$SECONDS
for round in $(seq 1 "$ROUNDS"); do
  for s in $SERVERS; do
    name=${s%%:*} np=${s##*:}
    if [ "$name" = mdi ]; then start_mdi "$np"; else start_llama; fi
    # one request first: page in the model, open the connections
    $LOAD --port "$PORT" --clients 1 --requests 1 --max-tokens 8 --prompts "$PROMPTS" >/dev/null
    for c in $CLIENTS; do
      n=$REQUESTS
      [ "$n" -ge $((2 * c)) ] || n=$((2 * c))
      $LOAD --port "$PORT" --clients "$c" --requests "$n" --max-tokens "$MAX_TOKENS" --prompts "$PROMPTS" \
        --csv "$round,$name,$np" >>"$RUNS"
      tail -1 "$RUNS"
    done
    stop_server
  done
done

python3 - "$OUT" <<'EOF'
import csv, os, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "runs.csv"))))
keys = ["tok_per_s", "ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms"]
groups = {}
for r in rows:
    groups.setdefault((r["server"], int(r["ranks"]), int(r["clients"])), []).append(r)
with open(os.path.join(out, "results.csv"), "w") as f, open(os.path.join(out, "results.md"), "w") as md:
    f.write("server,ranks,clients,rounds,errors," + ",".join(keys) + "\n")
    md.write("| server | ranks | clients | tok/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |\n")
    md.write("|---|---|---|---|---|---|---|---|\n")
    for (server, np, c), rs in sorted(groups.items()):
        med = {k: statistics.median(float(r[k]) for r in rs) for k in keys}
        errors = sum(int(r["errors"]) for r in rs)
        f.write(f"{server},{np},{c},{len(rs)},{errors}," + ",".join(f"{med[k]:.3f}" for k in keys) + "\n")
        label = "llama-server" if server == "llamacpp" else "mdi_pipeline"
        md.write(f"| {label} | {np if server == 'mdi' else '-'} | {c} | {med['tok_per_s']:.0f} | {med['ttft_p50_ms']:.2f} | "
                 f"{med['ttft_p99_ms']:.2f} | {med['itl_p50_ms']:.2f} | {med['itl_p99_ms']:.2f} |\n")
    # one data block per server line, for gnuplot
    with open(os.path.join(out, "plot.dat"), "w") as d:
        for server, np in sorted({(s, n) for s, n, _ in groups}):
            title = "llama-server" if server == "llamacpp" else f"mdi np {np}"
            d.write(f'"{title}"\n')
            for (s2, n2, c), rs in sorted(groups.items()):
                if (s2, n2) == (server, np):
                    d.write(f"{c} " + " ".join(str(statistics.median(float(r[k]) for r in rs)) for k in keys) + "\n")
            d.write("\n\n")
print(open(os.path.join(out, "results.md")).read(), end="")
EOF

if command -v gnuplot >/dev/null; then
  n_blocks=$(grep -c '^"' "$OUT/plot.dat")
  gnuplot <<EOF
set terminal pngcairo size 1500,450 font ",10"
set output "$OUT/serve.png"
set multiplot layout 1,3 title "Serving stories260K: ${MAX_TOKENS}-token greedy requests, medians of ${ROUNDS} round(s)"
set logscale x 2
set xlabel "concurrent clients"
set key top left
set grid
set ylabel "tokens/s"
set title "throughput"
plot for [i=0:$((n_blocks - 1))] "$OUT/plot.dat" index i using 1:2 with linespoints title columnheader(1)
set ylabel "ms"
set logscale y
set title "time to first token, p50 (p99 dashed)"
plot for [i=0:$((n_blocks - 1))] "$OUT/plot.dat" index i using 1:3 with linespoints lc i+1 title columnheader(1), \
     for [i=0:$((n_blocks - 1))] "$OUT/plot.dat" index i using 1:4 with lines dt 2 lc i+1 notitle
set title "inter-token latency, p50 (p99 dashed)"
plot for [i=0:$((n_blocks - 1))] "$OUT/plot.dat" index i using 1:5 with linespoints lc i+1 title columnheader(1), \
     for [i=0:$((n_blocks - 1))] "$OUT/plot.dat" index i using 1:6 with lines dt 2 lc i+1 notitle
unset multiplot
EOF
fi
echo "serve.sh: done in $((SECONDS - start)) s: $OUT/results.csv, $OUT/results.md, $OUT/serve.png"

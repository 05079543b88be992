#!/bin/bash
# Scaling benchmark of the recurrent pipeline: tokens/s, per-rank time and
# memory of mdi_pipeline over 1..N emulated devices (bench/cluster/), for a set
# of models, link profiles, micro-batch sizes and micro-batch counts.
#
#   bench/scaling.sh --out DIR [options]
#
#   --out DIR               results: DIR/results.csv, DIR/results.json, DIR/runs/... (required)
#   --ranks "1 2 3 4"       ranks (= emulated devices) per run
#   --links "fast"          link profiles: gbe (1 Gbit/s), wifi (100 Mbit/s), fast (no limit)
#   --models "stories260K"  stories260K (the shipped model), a preset of
#                           `mdi_convert random` (stories15M, stories110M,
#                           nanollama304m, tinyllama1.1b, ...: random weights,
#                           real shapes), or the path of an .h5 model file
#   --sequences N           sequences per run (default 16); prompts cycle models/prompts.txt
#   --new-tokens N          new tokens per sequence (default 64)
#   --batch "B..."          sequences per micro-batch (default 4)
#   --micro-batches "M..."  micro-batches in flight; "ranks" = the number of ranks (default),
#                           "Kranks" = K times the number of ranks
#   --repeats R             repeats of every point (default 1)
#   --cpu-quota FRACTION    CPU per device, in cores (default 0.5; "none" = uncapped); a comma
#                           list (1.0,0.5,0.25) gives device i the i-th value: heterogeneous
#                           devices (a shorter list repeats its last value)
#   --splits "auto"         mdi_pipeline --split of each run, swept: auto, calibrate, or
#                           explicit layer counts (4,4,4: used only at the matching rank count)
#   --no-single             skip the single-sequence point (1 sequence, B=1, M=1) per model/link/ranks
#   --no-netns              plain local mpirun: no namespaces, links or CPU quotas; no root needed
#   --max-seq-len N         KV-cache positions per sequence (default new tokens + 64)
#   --temperature T         sampling temperature (default 0: greedy)
#   --seed S                seed of the random models (default 1)
#   --cache DIR             converted/generated models (default BUILD/bench-models)
#   --start-timeout S       a launch whose ranks have not all loaded after S seconds is retried (default 180)
#   --run-timeout S         a run that takes longer is ended and recorded as failed (default 1800)
#   --retries K             launch retries per run (default 3)
#   --wait-idle CORES       before each launch, wait until other processes use at most
#                           CORES of the host's CPUs (1 s samples; default 0 = do not wait)
#   --wait-idle-max S       ... but at most S seconds, then run anyway (default 300)
#
# Every run is `mdi_pipeline --stats -o`; each becomes one row of results.csv
# and results.json (both rewritten after every run, so an interrupted
# benchmark keeps what it measured). Environment: MDI_BUILD_DIR (default build).
# Needs root unless --no-netns. There is no latency emulation (no netem in this
# kernel): links only limit the rate.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"

die() { echo "scaling.sh: error: $*" >&2; exit 2; }
log() { echo "scaling.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

OUT="" RANKS="1 2 3 4" LINKS="" MODELS="stories260K" SEQUENCES=16 NEW_TOKENS=64
BATCHES="4" MICROS="ranks" SPLITS="auto" REPEATS=1 QUOTA=0.5 SINGLE=1 NETNS=1 MAX_SEQ="" TEMP=0 SEED=1
CACHE="" START_TIMEOUT=180 RUN_TIMEOUT=1800 MAX_RETRIES=3 WAIT_IDLE=0 WAIT_IDLE_MAX=300
CMDLINE=$(printf "%q " "$0" "$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$(opt_value_or_empty "$@"); shift 2 ;;
    --ranks) RANKS=$(opt_value_or_empty "$@"); shift 2 ;;
    --links) LINKS=$(opt_value_or_empty "$@"); shift 2 ;;
    --models) MODELS=$(opt_value_or_empty "$@"); shift 2 ;;
    --sequences) SEQUENCES=$(opt_value_or_empty "$@"); shift 2 ;;
    --new-tokens) NEW_TOKENS=$(opt_value_or_empty "$@"); shift 2 ;;
    --batch) BATCHES=$(opt_value_or_empty "$@"); shift 2 ;;
    --micro-batches) MICROS=$(opt_value_or_empty "$@"); shift 2 ;;
    --splits) SPLITS=$(opt_value_or_empty "$@"); shift 2 ;;
    --repeats) REPEATS=$(opt_value_or_empty "$@"); shift 2 ;;
    --cpu-quota) QUOTA=$(opt_value_or_empty "$@"); shift 2 ;;
    --no-single) SINGLE=0; shift ;;
    --no-netns) NETNS=0; shift ;;
    --max-seq-len) MAX_SEQ=$(opt_value_or_empty "$@"); shift 2 ;;
    --temperature) TEMP=$(opt_value_or_empty "$@"); shift 2 ;;
    --seed) SEED=$(opt_value_or_empty "$@"); shift 2 ;;
    --cache) CACHE=$(opt_value_or_empty "$@"); shift 2 ;;
    --start-timeout) START_TIMEOUT=$(opt_value_or_empty "$@"); shift 2 ;;
    --run-timeout) RUN_TIMEOUT=$(opt_value_or_empty "$@"); shift 2 ;;
    --retries) MAX_RETRIES=$(opt_value_or_empty "$@"); shift 2 ;;
    --wait-idle) WAIT_IDLE=$(opt_value_or_empty "$@"); shift 2 ;;
    --wait-idle-max) WAIT_IDLE_MAX=$(opt_value_or_empty "$@"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[ -n "$OUT" ] || { usage >&2; die "--out DIR is required"; }
is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }
[[ "$WAIT_IDLE" =~ ^[0-9]*\.?[0-9]+$ ]] || die "--wait-idle: '$WAIT_IDLE' is not a number of cores"
for v in $RANKS $BATCHES "$SEQUENCES" "$NEW_TOKENS" "$REPEATS" "$START_TIMEOUT" "$RUN_TIMEOUT" "$MAX_RETRIES" "$SEED" "$WAIT_IDLE_MAX"; do
  is_int "$v" || die "'$v' is not a non-negative integer"
done
for v in $SPLITS; do [[ "$v" =~ ^(auto|calibrate|[0-9]+(,[0-9]+)*)$ ]] || die "--splits: '$v' is not auto, calibrate or layer counts (4,4,4)"; done
[[ "$QUOTA" = none || "$QUOTA" =~ ^[0-9]*\.?[0-9]+(,[0-9]*\.?[0-9]+)*$ ]] || die "--cpu-quota: '$QUOTA' is not a fraction of a core, a comma list of them, or none"
for v in $MICROS; do [[ "$v" =~ ^[0-9]*ranks$ ]] || is_int "$v" || die "--micro-batches: '$v' is not a number, 'ranks' or 'Kranks'"; done
[ -n "$MAX_SEQ" ] || MAX_SEQ=$((NEW_TOKENS + 64))
[ -x "$PIPELINE" ] && [ -x "$CONVERT" ] || die "$PIPELINE or $CONVERT is missing: build first (scripts/setup.sh)"
command -v mpirun >/dev/null || die "mpirun not found (scripts/setup.sh installs openmpi-bin)"
command -v python3 >/dev/null || die "python3 not found"
MAXRANK=0
for n in $RANKS; do [ "$n" -ge 1 ] || die "--ranks: $n"; [ "$n" -gt "$MAXRANK" ] && MAXRANK=$n; done

if [ "$NETNS" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "the emulated cluster needs root (network namespaces, tc, cgroups): run as root, or pass --no-netns for plain local runs"
  [ -n "$LINKS" ] || LINKS=fast
  # shellcheck source=cluster/cluster.sh
  source "$BENCH_DIR/cluster/cluster.sh"
  for l in $LINKS; do mdi_cluster_profile "$l" >/dev/null || die "unknown link profile '$l' (gbe, wifi, fast)"; done
else
  if [ -n "$LINKS" ] && [ "$LINKS" != local ]; then
    log "--no-netns: no link emulation, ignoring --links '$LINKS'"
  fi
  LINKS=local
  [ "$QUOTA" = none ] || [ "$QUOTA" = 0.5 ] || log "--no-netns: no CPU quotas, ignoring --cpu-quota $QUOTA"
  QUOTA=none
fi
[ "$(id -u)" != 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${CACHE:-$BUILD_DIR/bench-models}
mkdir -p "$CACHE" "$OUT/runs" "$OUT/prompts"
CACHE=$(cd "$CACHE" && pwd)
ROWS=$OUT/rows.jsonl
FAILED=$OUT/failed.txt
: >"$ROWS"
: >"$FAILED"

# --- cleanup: the cluster (if up) and any launch still running -------------
CHILD=""
OWN_CLUSTER=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_child
  if [ "$OWN_CLUSTER" = 1 ] && [ -e "$MDI_CLUSTER_STATE/created" ]; then
    mdi_cluster_down || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# --- models ------------------------------------------------------------------
# model_file NAME: the .h5 file of NAME, converted or generated once into the cache.
model_file() {
  local name=$1 f
  case "$name" in
    *.h5)
      [ -r "$name" ] || die "model file $name not found"
      echo "$name"
      return
      ;;
    stories260K)
      f=$CACHE/stories260K.h5
      # newer than mdi_convert: a rebuilt converter may write another layout
      if ! { [ -s "$f" ] && [ "$f" -nt "$CONVERT" ]; }; then
        "$CONVERT" llama2c "$SRC_DIR/models/stories260K.bin" --tokenizer "$SRC_DIR/models/tok512.bin" "$f.tmp" >&2 ||
          die "converting stories260K failed"
        mv "$f.tmp" "$f"
      fi
      ;;
    *)
      f=$CACHE/$name.seed$SEED.h5
      if ! { [ -s "$f" ] && [ "$f" -nt "$CONVERT" ]; }; then
        if ! "$CONVERT" random --help >/dev/null 2>&1; then
          die "model '$name': this mdi_convert has no 'random' subcommand (random-weight presets); use stories260K or an .h5 file"
        fi
        log "generating $name (random weights, seed $SEED) into $f"
        "$CONVERT" random --preset "$name" "$f.tmp" --seed "$SEED" >&2 || die "mdi_convert random --preset $name failed"
        mv "$f.tmp" "$f"
      fi
      ;;
  esac
  echo "$f"
}
model_label() { local n=${1##*/}; echo "${n%.h5}"; }

# prompts N: a prompt file with N lines cycling models/prompts.txt
prompts() {
  local n=$1 f=$OUT/prompts/p$1.txt
  if [ ! -s "$f" ]; then
    awk -v n="$n" '{ l[NR] = $0 } END { for (i = 0; i < n; i++) print l[i % NR + 1] }' "$SRC_DIR/models/prompts.txt" >"$f"
  fi
  echo "$f"
}

# --- CPU counters around each run: per device (cgroups) and for the host ----
cpu_snapshot() {
  if [ "$NETNS" = 1 ]; then
    mdi_cluster_cpu_snapshot "$1"
  else
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print "host", $2 + $3 + $4 + $7 + $8 + $9, $9, hz }' /proc/stat
    echo "clock $(date +%s.%N)"
  fi
}

# host_busy_cores: CPUs busy over the next second, in cores (/proc/stat)
host_busy_cores() {
  local a b
  a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 1
  b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  echo "$a $b" | awk -v n="$(nproc)" '{ t = $4 - $2; printf "%.2f\n", (t > 0 ? n * ($3 - $1) / t : 0) }'
}

# wait_idle: with --wait-idle, wait (up to --wait-idle-max) until the host is
# quiet; sets WAITED (seconds) and BUSY_BEFORE (cores busy just before).
wait_idle() {
  local t0=$SECONDS said=0
  WAITED=0
  BUSY_BEFORE=""
  [ "$WAIT_IDLE" != 0 ] || return 0
  while :; do
    BUSY_BEFORE=$(host_busy_cores)
    awk -v b="$BUSY_BEFORE" -v w="$WAIT_IDLE" 'BEGIN { exit !(b <= w) }' && break
    if [ $((SECONDS - t0)) -ge "$WAIT_IDLE_MAX" ]; then
      log "the host is still busy ($BUSY_BEFORE cores) after $WAIT_IDLE_MAX s: running anyway"
      break
    fi
    [ "$said" = 1 ] || log "other processes use $BUSY_BEFORE cores: waiting for <= $WAIT_IDLE"
    said=1
    sleep 2
  done
  WAITED=$((SECONDS - t0))
}

# --- one run, with retries of failed launches --------------------------------
# run_point MODEL_NAME MODEL_FILE MODE LINK NP B M SEQS REPEAT SPLIT
run_point() {
  local name=$1 file=$2 mode=$3 link=$4 np=$5 B=$6 M=$7 seqs=$8 rep=$9 split=${10}
  local dir=$OUT/runs/$name/$link/np$np-$mode-b$B-m$M-s$seqs-r$rep
  [ "$split" = auto ] || dir=$dir-split${split//,/-}
  local pfile attempt=0 rc started t0 nloaded
  mkdir -p "$dir"
  pfile=$(prompts "$seqs")
  local cmd=("$PIPELINE" -m "$file" -f "$pfile" -b "$B" --micro-batches "$M" -n "$NEW_TOKENS"
    -t "$TEMP" --max-seq-len "$MAX_SEQ" --split "$split" --timeout 120 -v -o "$dir/journal.jsonl" --stats "$dir/stats.json")
  local launch
  if [ "$NETNS" = 1 ]; then
    read -r -a launch <<<"mpirun $(mdi_cluster_mpirun_args "$np")"
  else
    launch=(mpirun -np "$np" --oversubscribe --bind-to none)
  fi
  echo "${launch[*]} ${cmd[*]}" >"$dir/command.txt"
  while :; do
    rm -f "$dir/stats.json" "$dir/journal.jsonl"
    wait_idle
    cpu_snapshot "$np" >"$dir/cpu.before"
    started=0
    t0=$SECONDS
    timeout -k 15 "$RUN_TIMEOUT" "${launch[@]}" "${cmd[@]}" >/dev/null 2>"$dir/stderr.txt" &
    CHILD=$!
    # a launch that fails across namespaces usually hangs before every rank
    # has loaded its layers (each prints one "layers [" line with -v)
    while kill -0 "$CHILD" 2>/dev/null; do
      if [ "$started" = 0 ]; then
        nloaded=$(grep -c 'mdi_pipeline: layers \[' "$dir/stderr.txt" 2>/dev/null || true)
        if [ "${nloaded:-0}" -ge "$np" ]; then
          started=1
        elif [ $((SECONDS - t0)) -ge "$START_TIMEOUT" ]; then
          echo "scaling.sh: no start after $START_TIMEOUT s: ending the launch" >>"$dir/stderr.txt"
          kill -TERM "$CHILD" 2>/dev/null || true
        fi
      fi
      sleep 0.2
    done
    rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    [ "$started" = 1 ] || [ "$(grep -c 'mdi_pipeline: layers \[' "$dir/stderr.txt" || true)" -lt "$np" ] || started=1
    if [ "$rc" = 0 ] && [ -s "$dir/stats.json" ]; then
      break
    fi
    mv "$dir/stderr.txt" "$dir/stderr.attempt$attempt.txt"
    [ "$NETNS" = 0 ] || mdi_cluster_kill_strays
    if [ "$started" = 1 ]; then
      # not a launch failure: the run itself failed; do not hide it by retrying
      log "FAILED after start (exit $rc): $name $mode $link np=$np B=$B M=$M; see $dir/stderr.attempt$attempt.txt"
      tail -n 5 "$dir/stderr.attempt$attempt.txt" >&2 || true
      echo "$name $mode $link np=$np B=$B M=$M seqs=$seqs repeat=$rep: failed after start (exit $rc), $dir" >>"$FAILED"
      return 0
    fi
    attempt=$((attempt + 1))
    if [ "$attempt" -gt "$MAX_RETRIES" ]; then
      log "FAILED to launch $MAX_RETRIES+1 times: $name $mode $link np=$np; see $dir/stderr.attempt*.txt"
      tail -n 5 "$dir/stderr.attempt$((attempt - 1)).txt" >&2 || true
      echo "$name $mode $link np=$np B=$B M=$M seqs=$seqs repeat=$rep: launch failed $attempt times, $dir" >>"$FAILED"
      return 0
    fi
    log "launch failed (exit $rc), retry $attempt of $MAX_RETRIES: $name $mode $link np=$np"
    sleep 1
  done
  cpu_snapshot "$np" >"$dir/cpu.after"
  python3 "$BENCH_DIR/lib/results.py" add "$ROWS" --stats "$dir/stats.json" --info "$file.info.txt" \
    --cpu "$dir/cpu.before" "$dir/cpu.after" idle_wait_s="$WAITED" host_busy_before="$BUSY_BEFORE" model="$name" mode="$mode" link="$link" link_mbit="$(link_mbit "$link")" \
    latency_emulated=0 netns="$NETNS" cpu_quota="$(uniform_quota)" device_quota="$(device_quotas "$np")" split_arg="$split" \
    new_tokens="$NEW_TOKENS" temperature="$TEMP" repeat="$rep" retries="$attempt" \
    timestamp="$(date -u +%Y-%m-%dT%H:%M:%SZ)" run_dir="${dir#"$OUT"/}"
  python3 "$BENCH_DIR/lib/results.py" write "$ROWS" --meta "$OUT/meta.json" --csv "$OUT/results.csv" --json "$OUT/results.json"
  local tps
  tps=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print("%.2f tok/s, %d tokens in %.2f s" % (s["tok_per_s"], s["generated_tokens"], s["wall_s"]))' "$dir/stats.json")
  log "$name $mode link=$link np=$np B=$B M=$M seqs=$seqs split=$split repeat=$rep: $tps$([ "$attempt" = 0 ] || echo " ($attempt launch retries)")"
}

# device_quotas NP: the CPU quota of devices 0..NP-1, ';'-joined ("" when uncapped)
device_quotas() {
  [ "$QUOTA" != none ] || return 0
  python3 -c 'import sys; q = sys.argv[1].split(","); n = int(sys.argv[2]); print(";".join((q + [q[-1]] * n)[:n]))' "$QUOTA" "$1"
}

# uniform_quota: the quota of every device when all are equal ("" otherwise)
uniform_quota() {
  [[ "$QUOTA" = none || "$QUOTA" =~ , ]] || echo "$QUOTA"
}

link_mbit() {
  case "$1" in gbe) echo 1000 ;; wifi) echo 100 ;; *) echo "" ;; esac
}

# --- the description of the whole benchmark ----------------------------------
write_meta() {
  BENCH_CMDLINE=$CMDLINE BENCH_PIPELINE=$PIPELINE python3 - "$OUT/meta.json" <<EOF
import json, os, platform, subprocess, sys
def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""
meta = {
    "command": os.environ["BENCH_CMDLINE"].strip(),
    "date_utc": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    "host_cpus": os.cpu_count(),
    "cpu_model": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
    "kernel": platform.release(),
    "mdi_pipeline": sh("'" + os.environ["BENCH_PIPELINE"] + "' --version"),
    "mpirun": sh("mpirun --version | head -1"),
    "netns": $NETNS == 1,
    "cpu_quota_per_device": None if "$QUOTA" == "none" else ([float(x) for x in "$QUOTA".split(",")] if "," in "$QUOTA" else float("$QUOTA")),
    "cpu_quota_period_us": 10000,
    "device_group_cpu_shares": None if "$QUOTA" == "none" else int(os.environ.get("MDI_CLUSTER_SHARES", "16384")),
    "links": {
        "fast": "no rate limit (veth + bridge)",
        "wifi": "tc tbf rate 100mbit burst 8kb latency 100ms, both directions per device",
        "gbe": "tc tbf rate 1gbit burst 64kb latency 100ms, both directions per device; 2 host cores cannot drive it faithfully",
        "local": "plain local mpirun (no namespaces)",
    },
    "latency_emulated": False,
    "latency_note": "netem does not exist in this kernel: no latency or loss emulation; a message pays only its serialization time at the link rate and the real veth/bridge path",
    "new_tokens": $NEW_TOKENS, "max_seq_len": $MAX_SEQ, "temperature": float("$TEMP"), "seed": $SEED,
    "single_sequence_point": $SINGLE == 1,
    "fields": {
        "tok_per_s": "generated tokens / wall_s (mdi_pipeline --stats)",
        "compute_s,recv_wait_s,send_wait_s,idle_s": "per rank, seconds within wall_s (idle = wall - compute)",
        "throttled_s": "per device: time its cgroup was throttled by the CPU quota during the launch (netns with a quota only)",
        "cpu_s": "per device: CPU time its processes used during the launch (cpuacct; netns only)",
        "launch_s": "wall time of the whole launch (mpirun start to exit: includes start-up and loading)",
        "host_busy_s,host_steal_s": "host CPU time busy / stolen by the hypervisor during the launch (/proc/stat, all CPUs)",
        "idle_wait_s,host_busy_before": "with --wait-idle: seconds waited for a quiet host before the launch, and the cores other processes used just before it",
        "host_other_cpu_s": "host busy time not used by the devices: mpirun, the system and anything else running (netns only)",
        "retries": "failed launches retried before this run started",
    },
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
}

# --- main loop -----------------------------------------------------------------
write_meta
declare -A MFILE
for m in $MODELS; do
  f=$(model_file "$m")
  [ -s "$f.info.txt" ] && [ "$f.info.txt" -nt "$f" ] || "$CONVERT" info "$f" >"$f.info.txt" || die "mdi_convert info $f failed"
  MFILE[$m]=$f
done
if [ "$NETNS" = 1 ]; then
  # refuse before owning anything: a cluster that is up belongs to someone else
  mdi_cluster_check_free "$MAXRANK" || exit 1
  OWN_CLUSTER=1
  mdi_cluster_up "$MAXRANK" "$QUOTA"
fi
for link in $LINKS; do
  [ "$NETNS" = 0 ] || mdi_cluster_link "$link"
  for ((rep = 1; rep <= REPEATS; rep++)); do
    for m in $MODELS; do
      name=$(model_label "$m")
      for np in $RANKS; do
        for B in $BATCHES; do
          for M in $MICROS; do
            if [[ "$M" =~ ^([0-9]*)ranks$ ]]; then M=$((${BASH_REMATCH[1]:-1} * np)); fi
            for split in $SPLITS; do
              # explicit layer counts apply to their own rank count only
              if [[ "$split" =~ , || "$split" =~ ^[0-9]+$ ]] && [ "$(awk -F, '{ print NF }' <<<"$split")" != "$np" ]; then
                continue
              fi
              run_point "$name" "${MFILE[$m]}" recurrent "$link" "$np" "$B" "$M" "$SEQUENCES" "$rep" "$split"
            done
          done
        done
        if [ "$SINGLE" = 1 ]; then
          run_point "$name" "${MFILE[$m]}" single "$link" "$np" 1 1 1 "$rep" auto
        fi
      done
    done
  done
done
python3 "$BENCH_DIR/lib/results.py" write "$ROWS" --meta "$OUT/meta.json" --csv "$OUT/results.csv" --json "$OUT/results.json"
echo
python3 "$BENCH_DIR/lib/results.py" show "$ROWS"
nfail=$(wc -l <"$FAILED")
echo "results: $OUT/results.csv, $OUT/results.json ($(wc -l <"$ROWS") runs, $nfail failed)"
if [ "$nfail" -gt 0 ]; then
  echo "failed runs:" >&2
  cat "$FAILED" >&2
  exit 1
fi

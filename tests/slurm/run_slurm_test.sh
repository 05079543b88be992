#!/bin/bash
# run_slurm_test.sh BUILD_DIR
#
# Starts a one-node Slurm cluster (munged, slurmctld, slurmd) in a temporary
# directory, submits the job scripts of jobs/ to it and checks their outputs:
#  - jobs/mdi_pipeline.sbatch on 3 tasks (srun --mpi=pmix, then mpirun) gives
#    the same greedy tokens as a plain local run of mdi_pipeline;
#  - jobs/scaling.sbatch on 3 tasks writes one CSV row per rank count with
#    tok_per_s > 0, and the same tokens for every rank count.
# Jobs are followed with `scontrol show job` every 0.2 s.  Every daemon and
# job is stopped on exit, also on failure; nothing outside the temporary
# directory is configured (SLURM_CONF points into it).
# Needs root (it runs the Slurm and munge daemons); otherwise it exits with 77,
# CTest's skip code.  MDI_SLURM_KEEP=1 keeps the temporary directory.
#
# Every process started here carries MDI_SLURM_TEST_DIR=<temporary directory>
# in its environment.  A watchdog (this script with --watchdog, detached in its
# own session) kills those processes and removes the directory if this script
# is killed before its EXIT trap can run (CTest's timeout sends SIGKILL; job
# steps, started by slurmd in their own sessions, would survive it).
set -eu

tagged_pids() { # TAG: processes whose environment holds TAG, but this shell
  local d p
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = $$ ] && continue
    { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qxF "$1" && echo "$p"
  done
  return 0
}

if [ "${1:-}" = --watchdog ]; then # --watchdog OWNER_PID DIR
  while kill -0 "$2" 2>/dev/null; do sleep 0.5; done
  [ -d "$3" ] || exit 0
  for _ in 1 2 3; do # processes may fork while we kill
    left=$(tagged_pids "MDI_SLURM_TEST_DIR=$3")
    [ -n "$left" ] || break
    echo "watchdog: the test $2 died; killing its processes $left" >&2
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    sleep 0.2
  done
  rm -rf "$3"
  exit 0
fi

me=run_slurm_test
SKIP=77
log() { echo "$me: $*"; }
fail() { echo "$me: FAIL: $*" >&2; exit 1; }

[ $# = 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
START=$(date +%s)
DEADLINE=$((START + 240)) # ends before CTest's TIMEOUT (300 s) so that cleanup runs

if [ "$(id -u)" != 0 ]; then
  log "SKIP: needs root to run the munge and Slurm daemons (slurmd runs jobs as any user)"
  exit $SKIP
fi

# --- packages (scripts/setup.sh --with-test-tools adds slurmctld slurmd slurm-client munge)
PATH=$PATH:/usr/sbin:/sbin # the daemons live there
need_install=""
for c in munged slurmctld slurmd sbatch srun scontrol sinfo scancel python3; do
  command -v "$c" >/dev/null || need_install="$need_install $c"
done
if [ -n "$need_install" ]; then
  log "missing:$need_install; installing the packages with scripts/setup.sh --no-build --with-test-tools"
  "$SRC/scripts/setup.sh" --no-build --with-test-tools || fail "installing the Slurm packages failed"
fi

# a Slurm environment around this test (e.g. CI inside a Slurm job) must not leak in
for v in $(compgen -e); do
  case $v in SLURM_*|SBATCH_*|SALLOC_*|SRUN_*) unset "$v" ;; esac
done

T=$(mktemp -d /tmp/mdi-slurm.XXXXXX)
TAG="MDI_SLURM_TEST_DIR=$T" # in the environment of every daemon and job started here
export SLURM_CONF=$T/slurm.conf
job_ids=""
# double fork: the watchdog belongs neither to this process tree nor to its session
( setsid bash "$0" --watchdog $$ "$T" </dev/null >/dev/null 2>&1 & echo $! >"$T/watchdog.pid" )

alive() { # PID: running and not a zombie
  local s
  s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  case $s in Z*) return 1 ;; esac
}

stop_pids() { # PID...: SIGTERM, up to 15 s, then SIGKILL; reap our children
  local p left
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 150); do
    left=""
    for p in "$@"; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
  done
  for p in $left; do
    log "process $p did not stop after SIGTERM: SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
  done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

# shellcheck disable=SC2086 # PID and job id lists are split on purpose
cleanup() {
  local rc=$? id busy ctld sd mu left
  set +e
  trap - EXIT INT TERM HUP
  if [ -n "$job_ids" ] && alive "${ctld_pid:-0}"; then
    scancel $job_ids 2>/dev/null
    for _ in $(seq 100); do # until every job has left the node
      busy=""
      for id in $job_ids; do
        scontrol show job "$id" 2>/dev/null | grep -qE 'JobState=(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED)' &&
          busy="$busy $id"
      done
      [ -z "$busy" ] && break
      sleep 0.1
    done
  fi
  ctld=${ctld_pid:-}; sd=${slurmd_pid:-}; mu=${munged_pid:-}
  # slurmd and slurmctld first (both still need munge to shut down cleanly)
  [ -z "$sd$ctld" ] || stop_pids $sd $ctld
  [ -z "$mu" ] || stop_pids $mu
  left=$(tagged_pids "$TAG")
  if [ -n "$left" ]; then
    log "killing processes left by the test:"
    ps -o pid,ppid,stat,args -p "$(echo $left | tr ' ' ',')" 2>/dev/null
    kill -KILL $left 2>/dev/null
  fi
  # the watchdog leads its own process group: stop it and its sleep
  kill -TERM -- "-$(cat "$T/watchdog.pid" 2>/dev/null)" 2>/dev/null
  if [ "${MDI_SLURM_KEEP:-0}" = 1 ]; then
    log "kept $T"
  else
    rm -rf "$T"
  fi
  log "$( [ $rc = 0 ] && echo PASS || echo "exit status $rc" ) after $(( $(date +%s) - START )) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
  local f
  for f in "$T"/munged.log "$T"/slurmctld.log "$T"/slurmd.log "$T"/*.stderr; do
    [ -s "$f" ] || continue
    echo "----- last lines of $f"
    tail -n 15 "$f"
  done
}

# --- the model and a local reference run (1 rank, no MPI launcher)
# a copy of the programs: every run of the test uses the same ones even if the
# build tree is rebuilt meanwhile
mkdir "$T/bin"
cp "$BUILD/mdi_pipeline" "$BUILD/mdi_convert" "$T/bin/" || fail "no programs in $BUILD: build first"
BIN=$T/bin
MODEL=$T/stories260K.h5
"$BIN/mdi_convert" llama2c "$SRC/models/stories260K.bin" --tokenizer "$SRC/models/tok512.bin" "$MODEL" >/dev/null ||
  fail "converting the model failed"
RUN_ARGS="-m $MODEL -n 16 -t 0 -q"
# shellcheck disable=SC2086
"$BIN/mdi_pipeline" -c "$SRC/configs/stories260K.ini" $RUN_ARGS -o "$T/local.jsonl" >/dev/null ||
  fail "the local run of mdi_pipeline failed"

# --- munge and Slurm, configured in $T only
host=$(hostname -s)
read -r ctld_port slurmd_port <<EOF
$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
EOF
mkdir -p "$T/state" "$T/spool" "$T/tmp"
# another instance of this test may run on the same machine: distinct job ids
# and temporary directories keep the PMIx and Open MPI session files apart
export TMPDIR=$T/tmp
first_job=$(( (RANDOM * 32768 + RANDOM) % 60000000 + 1000 ))
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$T/munge.key"
cat >"$SLURM_CONF" <<EOF
ClusterName=mditest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$T/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
KillWait=2
FirstJobId=$first_job
TmpFS=$T/tmp
ReturnToService=2
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF

# the daemons run in the foreground as children of this shell: their PIDs are
# known at once and they are reaped here
env "$TAG" munged --foreground --force --socket="$T/munge.socket" --key-file="$T/munge.key" \
  --log-file="$T/munged.log" --pid-file="$T/munged.pid" --seed-file="$T/munged.seed" \
  </dev/null >"$T/munged.stderr" 2>&1 &
munged_pid=$!
for _ in $(seq 50); do [ -S "$T/munge.socket" ] && break; alive $munged_pid || break; sleep 0.1; done
[ -S "$T/munge.socket" ] || { show_logs; fail "munged did not start"; }
env "$TAG" slurmctld -D -f "$SLURM_CONF" </dev/null >"$T/slurmctld.stderr" 2>&1 &
ctld_pid=$!
env "$TAG" slurmd -D -f "$SLURM_CONF" </dev/null >"$T/slurmd.stderr" 2>&1 &
slurmd_pid=$!
log "munged $munged_pid, slurmctld $ctld_pid, slurmd $slurmd_pid (ports $ctld_port, $slurmd_port) in $T"

state=""
for _ in $(seq 150); do # 30 s
  state=$(sinfo -h -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  { alive $ctld_pid && alive $slurmd_pid; } || break
  sleep 0.2
done
[ "$state" = idle ] || { show_logs; fail "the node never became idle (sinfo says \"$state\")"; }
log "node $host idle after $(( $(date +%s) - START )) s"

# --- jobs (submitted from the repository's top directory, as documented)
submit() { # NAME sbatch-arguments...: sets JOB_ID
  local name=$1 out
  shift
  out=$(cd "$SRC" && env "$TAG" sbatch --parsable -J "$name" -o "$T/$name.out" "$@") ||
    fail "sbatch $name failed"
  JOB_ID=${out%%;*}
  job_ids="$job_ids $JOB_ID"
}

wait_job() { # NAME ID: follows the job until it ends; fails unless COMPLETED 0:0
  local name=$1 id=$2 info st ec
  while :; do
    info=$(scontrol show job "$id" 2>&1) || { show_logs; fail "job $id ($name) vanished: $info"; }
    st=$(echo "$info" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    case $st in
      PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED|RESIZING) ;;
      *) break ;;
    esac
    [ "$(date +%s)" -lt $DEADLINE ] || { show_logs; fail "job $id ($name) still $st at the deadline"; }
    sleep 0.2
  done
  ec=$(echo "$info" | grep -o ' ExitCode=[0-9:]*' | cut -d= -f2)
  log "job $id ($name): $st, exit code $ec"
  if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then
    echo "----- $T/$name.out"
    cat "$T/$name.out" 2>/dev/null
    show_logs
    fail "job $id ($name) ended $st with exit code $ec"
  fi
}

export MDI_BUILD_DIR=$BIN MDI_ARGS=$RUN_ARGS
MDI_OUT_DIR=$T/pipeline.srun submit pipeline.srun -n 3 -O jobs/mdi_pipeline.sbatch
id_srun=$JOB_ID
MDI_OUT_DIR=$T/pipeline.mpirun MDI_LAUNCHER=mpirun submit pipeline.mpirun -n 3 -O jobs/mdi_pipeline.sbatch
id_mpirun=$JOB_ID
MDI_OUT_DIR=$T/scaling submit scaling -n 3 -O jobs/scaling.sbatch
id_scaling=$JOB_ID
log "submitted jobs $id_srun (srun), $id_mpirun (mpirun), $id_scaling (scaling)"
wait_job pipeline.srun "$id_srun"
wait_job pipeline.mpirun "$id_mpirun"
wait_job scaling "$id_scaling"

# --- outputs
cmp_tokens() { # what JOURNAL
  [ -s "$2" ] || fail "$1: no journal $2"
  python3 "$SRC/tests/support/compare_jsonl.py" "$T/local.jsonl" "$2" --fields tokens,finish_reason >"$T/cmp.txt" ||
    { cat "$T/cmp.txt"; fail "$1: tokens differ from the local run"; }
  log "$1: $(tail -n 1 "$T/cmp.txt")"
}
for l in srun mpirun; do
  grep -q "mdi_pipeline.sbatch: done; journal" "$T/pipeline.$l.out" || fail "pipeline.$l: no final status line"
  [ -s "$T/pipeline.$l/stats.json" ] || fail "pipeline.$l: no stats.json"
  python3 -c 'import json, sys; n = json.load(open(sys.argv[1]))["n_ranks"]; sys.exit(n != 3)' \
    "$T/pipeline.$l/stats.json" || fail "pipeline.$l: the run did not have 3 ranks"
  cmp_tokens "pipeline.$l (3 ranks)" "$T/pipeline.$l/out.jsonl"
done
grep -q '^srun --mpi=pmix ' "$T/pipeline.srun/command.txt" || fail "pipeline.srun was not launched with srun --mpi=pmix"
grep -q '^mpirun ' "$T/pipeline.mpirun/command.txt" || fail "pipeline.mpirun was not launched with mpirun"

csv=$T/scaling/scaling.csv
[ -s "$csv" ] || fail "scaling: no $csv"
echo "----- $csv"
cat "$csv"
python3 - "$csv" "$T/local.jsonl" <<'EOF' || fail "scaling: bad CSV"
import csv, json, sys
tokens = sum(len(json.loads(l)["tokens"]) for l in open(sys.argv[2]) if l.strip())
rows = list(csv.DictReader(open(sys.argv[1])))
want = ["ranks", "tok_per_s", "wall_s", "generated_tokens", "split"]
assert list(rows[0].keys()) == want, f"columns {list(rows[0].keys())}, expected {want}"
assert [int(r["ranks"]) for r in rows] == [1, 2, 3], f"ranks {[r['ranks'] for r in rows]}, expected 1,2,3"
for r in rows:
    assert float(r["tok_per_s"]) > 0 and float(r["wall_s"]) > 0, f"row {r}: no speed"
    assert int(r["generated_tokens"]) == tokens, f"row {r}: expected {tokens} tokens (the local run's)"
    assert len(r["split"].split(",")) == int(r["ranks"]), f"row {r}: split does not match ranks"
EOF
for k in 1 2 3; do
  [ -s "$T/scaling/ranks$k.stats.json" ] || fail "scaling: no ranks$k.stats.json"
  cmp_tokens "scaling ($k ranks)" "$T/scaling/ranks$k.jsonl"
done

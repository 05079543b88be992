#!/bin/bash
# An emulated edge cluster on one machine: one network namespace per device,
# linked through veth pairs to a bridge, `tc tbf` rate limits in both
# directions, and a cgroup v1 CPU quota per device.  Open MPI launches into the
# devices through agent.sh (its plm_rsh_agent).
#
#   cluster.sh up -n 4 [--link wifi] [--cpu-quota 0.4]   create devices 0..3
#                                                         (--cpu-quota 1.0,0.5,0.25: one per device)
#   cluster.sh link gbe|wifi|fast                         change the link profile
#   cluster.sh status                                     what exists, the qdiscs and quotas
#   cluster.sh run -np 3 -- CMD ARGS...                   mpirun CMD over devices 0..2
#   cluster.sh linktest [SECONDS]                         TCP throughput device 0 -> 1
#   cluster.sh down                                       remove everything created
#   cluster.sh with -n 4 [--link L] [--cpu-quota F] -- CMD...
#                                                         up, run CMD (any command), down
#
# Link profiles (rate in each direction, per device):
#   gbe   1 Gbit/s     wifi  100 Mbit/s     fast  no limit
# There is no latency emulation: `netem` does not exist in this kernel, so a
# message only pays its serialization time through the token bucket (and the
# real cost of the veth/bridge path, tens of microseconds).
#
# Everything created is listed in the state directory and removed by `down`
# (and by `with`, even on failure); nothing that was not created here is
# touched: `up` refuses when a name or the subnet is already in use.
#
# Environment: MDI_CLUSTER_PREFIX (default mdib: namespaces mdib0.., bridge
# mdibbr, veths mdibh0.., cgroups cpu/mdib and cpuacct/mdib), MDI_CLUSTER_SUBNET (first three
# octets, default 10.213.77: bridge .1, device i .(10+i)), MDI_CLUSTER_STATE
# (default /run/mdi-cluster-PREFIX), MDI_CLUSTER_SHARES (CFS weight of the
# capped devices' group, default 16384: other work on the host takes CPU from
# them less).
#
# This file can also be sourced: it then only defines the mdi_cluster_* functions.

MDI_CLUSTER_PREFIX=${MDI_CLUSTER_PREFIX:-mdib}
MDI_CLUSTER_SUBNET=${MDI_CLUSTER_SUBNET:-10.213.77}
MDI_CLUSTER_STATE=${MDI_CLUSTER_STATE:-/run/mdi-cluster-$MDI_CLUSTER_PREFIX}
MDI_CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MDI_CLUSTER_CGROOT=/sys/fs/cgroup/cpu
# cpuacct (mounted apart here) counts the CPU time each device really used
MDI_CLUSTER_ACCTROOT=/sys/fs/cgroup/cpuacct
# CFS period: short, because MPI ranks poll; with 100 ms a rank spends its
# quota spinning and then freezes for the rest of the period
MDI_CLUSTER_PERIOD_US=10000
# CFS weight of the group of capped devices (a process alone has 1024)
MDI_CLUSTER_SHARES=${MDI_CLUSTER_SHARES:-16384}
export MDI_CLUSTER_PREFIX MDI_CLUSTER_SUBNET MDI_CLUSTER_STATE

mdi_cluster_log() { echo "cluster: $*" >&2; }
mdi_cluster_die() { echo "cluster: error: $*" >&2; return 1; }

mdi_cluster_require_root() {
  if [ "$(id -u)" != 0 ]; then
    mdi_cluster_die "the emulated cluster needs root (network namespaces, tc, cgroups); run as root (bench/scaling.sh --no-netns runs plain local jobs without root)"
    return 1
  fi
  local t
  for t in ip tc unshare mpirun python3; do
    command -v "$t" >/dev/null 2>&1 || { mdi_cluster_die "'$t' not found (scripts/setup.sh installs it)"; return 1; }
  done
  [ -w "$MDI_CLUSTER_CGROOT" ] || { mdi_cluster_die "$MDI_CLUSTER_CGROOT is not a writable cgroup v1 cpu controller"; return 1; }
  [ -w "$MDI_CLUSTER_ACCTROOT" ] || { mdi_cluster_die "$MDI_CLUSTER_ACCTROOT is not a writable cgroup v1 cpuacct controller"; return 1; }
}

# Record one created object ("KIND NAME") so that `down` removes exactly it.
mdi_cluster_created() { echo "$1 $2" >>"$MDI_CLUSTER_STATE/created"; }

mdi_cluster_ns() { echo "${MDI_CLUSTER_PREFIX}$1"; }
mdi_cluster_ip() { echo "$MDI_CLUSTER_SUBNET.$((10 + $1))"; }
mdi_cluster_bridge() { echo "${MDI_CLUSTER_PREFIX}br"; }
mdi_cluster_veth() { echo "${MDI_CLUSTER_PREFIX}h$1"; }

# Refuse names, addresses and cgroups that exist already: they are not ours.
mdi_cluster_check_free() {
  local n=$1 i br
  br=$(mdi_cluster_bridge)
  [ ! -e "$MDI_CLUSTER_STATE/created" ] ||
    { mdi_cluster_die "$MDI_CLUSTER_STATE/created exists: a cluster is up (or was left over): bench/cluster/cluster.sh down removes it, or set another MDI_CLUSTER_PREFIX and MDI_CLUSTER_SUBNET"; return 1; }
  if ip -4 addr show | grep -qF "inet $MDI_CLUSTER_SUBNET."; then
    mdi_cluster_die "subnet $MDI_CLUSTER_SUBNET.0/24 is already used by an interface; set MDI_CLUSTER_SUBNET"
    return 1
  fi
  if ip -4 route show | awk '{ print $1 }' | grep -qF "$MDI_CLUSTER_SUBNET."; then
    mdi_cluster_die "subnet $MDI_CLUSTER_SUBNET.0/24 is already routed; set MDI_CLUSTER_SUBNET"
    return 1
  fi
  ! ip link show "$br" >/dev/null 2>&1 || { mdi_cluster_die "interface $br exists already; set MDI_CLUSTER_PREFIX"; return 1; }
  [ ! -e "$MDI_CLUSTER_CGROOT/$MDI_CLUSTER_PREFIX" ] ||
    { mdi_cluster_die "cgroup $MDI_CLUSTER_CGROOT/$MDI_CLUSTER_PREFIX exists already; set MDI_CLUSTER_PREFIX"; return 1; }
  [ ! -e "$MDI_CLUSTER_ACCTROOT/$MDI_CLUSTER_PREFIX" ] ||
    { mdi_cluster_die "cgroup $MDI_CLUSTER_ACCTROOT/$MDI_CLUSTER_PREFIX exists already; set MDI_CLUSTER_PREFIX"; return 1; }
  for ((i = 0; i < n; i++)); do
    [ ! -e "/run/netns/$(mdi_cluster_ns "$i")" ] ||
      { mdi_cluster_die "network namespace $(mdi_cluster_ns "$i") exists already; set MDI_CLUSTER_PREFIX"; return 1; }
    ! ip link show "$(mdi_cluster_veth "$i")" >/dev/null 2>&1 ||
      { mdi_cluster_die "interface $(mdi_cluster_veth "$i") exists already; set MDI_CLUSTER_PREFIX"; return 1; }
  done
}

# Write a value to a cgroup file and read it back: a quota the kernel rejects
# (EINVAL below 1000 us) would otherwise leave the device silently uncapped.
mdi_cluster_cg_write() {
  local file=$1 value=$2 got
  if ! echo "$value" >"$file" 2>/dev/null; then
    mdi_cluster_die "cannot write $value to $file"
    return 1
  fi
  got=$(cat "$file")
  [ "$got" = "$value" ] || { mdi_cluster_die "$file reads $got after writing $value"; return 1; }
}

# mdi_cluster_quota_us QUOTA N: the CFS quota of devices 0..N-1, in us per
# period, one per line. QUOTA is a fraction of a core (0.4) for every device,
# or a comma list (1.0,0.5,0.25) giving device i the i-th value; a list
# shorter than N repeats its last value.
mdi_cluster_quota_us() {
  python3 - "$1" "$2" "$MDI_CLUSTER_PERIOD_US" <<'PY' || { mdi_cluster_die "bad --cpu-quota '$1': give a fraction of a core (0.4) or a comma list (1.0,0.5,0.25), each >= 0.1"; return 1; }
import sys
q = [float(x) for x in sys.argv[1].split(",")]
n, period = int(sys.argv[2]), int(sys.argv[3])
us = [int(round(x * period)) for x in (q + [q[-1]] * n)[:n]]
if min(us) < 1000:
    sys.exit(1)  # the kernel rejects a quota under 1000 us
print("\n".join(map(str, us)))
PY
}

# mdi_cluster_up N QUOTA: N devices, each capped at QUOTA cores (a fraction
# such as 0.4, or a comma list per device, see mdi_cluster_quota_us; "none" =
# uncapped). The link profile starts as "fast".
mdi_cluster_up() {
  local n=$1 quota=${2:-none} i ns ip veth br quotas_us=()
  mdi_cluster_require_root || return 1
  [[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 200 ] || { mdi_cluster_die "bad device count '$n'"; return 1; }
  if [ "$quota" != none ]; then
    mapfile -t quotas_us < <(mdi_cluster_quota_us "$quota" "$n")
    [ "${#quotas_us[@]}" = "$n" ] || return 1
  fi
  mdi_cluster_check_free "$n" || return 1
  mkdir -p "$MDI_CLUSTER_STATE/tmp"
  : >"$MDI_CLUSTER_STATE/created"
  : >"$MDI_CLUSTER_STATE/hosts"
  echo "$quota" >"$MDI_CLUSTER_STATE/quota"
  br=$(mdi_cluster_bridge)

  ip link add "$br" type bridge || { mdi_cluster_die "cannot create bridge $br"; return 1; }
  mdi_cluster_created link "$br"
  ip addr add "$MDI_CLUSTER_SUBNET.1/24" dev "$br"
  ip link set "$br" up

  if [ "$quota" != none ]; then
    mkdir "$MDI_CLUSTER_CGROOT/$MDI_CLUSTER_PREFIX" || { mdi_cluster_die "cannot create cgroup $MDI_CLUSTER_PREFIX"; return 1; }
    mdi_cluster_created cgroup "$MDI_CLUSTER_CGROOT/$MDI_CLUSTER_PREFIX"
    # capped devices get a large CFS weight: other work on the host then
    # takes CPU from them less (a real device is not shared); the quotas
    # still bound them, so the host keeps what they leave
    mdi_cluster_cg_write "$MDI_CLUSTER_CGROOT/$MDI_CLUSTER_PREFIX/cpu.shares" "$MDI_CLUSTER_SHARES" || return 1
  fi
  mkdir "$MDI_CLUSTER_ACCTROOT/$MDI_CLUSTER_PREFIX" || { mdi_cluster_die "cannot create cpuacct group $MDI_CLUSTER_PREFIX"; return 1; }
  mdi_cluster_created cgroup "$MDI_CLUSTER_ACCTROOT/$MDI_CLUSTER_PREFIX"
  for ((i = 0; i < n; i++)); do
    ns=$(mdi_cluster_ns "$i")
    ip=$(mdi_cluster_ip "$i")
    veth=$(mdi_cluster_veth "$i")
    ip netns add "$ns" || { mdi_cluster_die "cannot create namespace $ns"; return 1; }
    mdi_cluster_created netns "$ns"
    # the peer is created with a unique name, moved, then renamed eth0
    ip link add "$veth" type veth peer name "${veth}p" || { mdi_cluster_die "cannot create veth $veth"; return 1; }
    mdi_cluster_created link "$veth"
    ip link set "${veth}p" netns "$ns"
    ip -n "$ns" link set "${veth}p" name eth0
    ip link set "$veth" master "$br"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$MDI_CLUSTER_SUBNET.1"
    local cg=-
    if [ "$quota" != none ]; then
      cg=$MDI_CLUSTER_CGROOT/$MDI_CLUSTER_PREFIX/$ns
      mkdir "$cg" || { mdi_cluster_die "cannot create cgroup $cg"; return 1; }
      mdi_cluster_created cgroup "$cg"
      mdi_cluster_cg_write "$cg/cpu.cfs_period_us" "$MDI_CLUSTER_PERIOD_US" || return 1
      mdi_cluster_cg_write "$cg/cpu.cfs_quota_us" "${quotas_us[$i]}" || return 1
    fi
    local acct=$MDI_CLUSTER_ACCTROOT/$MDI_CLUSTER_PREFIX/$ns
    mkdir "$acct" || { mdi_cluster_die "cannot create cpuacct group $acct"; return 1; }
    mdi_cluster_created cgroup "$acct"
    mkdir -p "$MDI_CLUSTER_STATE/tmp/$ns"
    echo "$ip $ns $cg $acct" >>"$MDI_CLUSTER_STATE/hosts"
  done
  echo fast >"$MDI_CLUSTER_STATE/link"
  local cpu="no CPU quota"
  [ "$quota" = none ] || cpu="cpu quota $quota (${quotas_us[*]} us per $MDI_CLUSTER_PERIOD_US us, group cpu.shares $MDI_CLUSTER_SHARES)"
  mdi_cluster_log "up: $n devices $(mdi_cluster_ns 0)..$(mdi_cluster_ns $((n - 1))) on $MDI_CLUSTER_SUBNET.0/24, $cpu, link fast"
}

# Rate and bucket of each profile. The bucket holds about 0.5 ms of traffic
# at the rate, so a message pays its serialization time even after an idle
# gap (a bucket of 128 KiB let a 24 KiB message through a 100 Mbit/s link in
# 0.2 ms instead of 2 ms); tbf cuts GSO packets larger than the bucket, and
# bulk TCP still reaches 95 Mbit/s (wifi) and ~890 Mbit/s (gbe: the 2 cores
# limit it) -- `cluster.sh linktest` measures both.
mdi_cluster_profile() {
  case "$1" in
    gbe) echo "1gbit 64kb" ;;
    wifi) echo "100mbit 8kb" ;;
    fast) echo "none" ;;
    *) return 1 ;;
  esac
}

# The rate in Mbit/s of a profile, for tables ("" = unlimited).
mdi_cluster_rate_mbit() {
  case "$1" in gbe) echo 1000 ;; wifi) echo 100 ;; *) echo "" ;; esac
}

# mdi_cluster_link PROFILE: a tbf on both ends of every device's veth pair:
# the host end shapes traffic into the device, eth0 inside shapes traffic out.
mdi_cluster_link() {
  local profile=$1 spec rate burst ip ns cg acct i
  spec=$(mdi_cluster_profile "$profile") || { mdi_cluster_die "unknown link profile '$profile' (gbe, wifi, fast)"; return 1; }
  [ -s "$MDI_CLUSTER_STATE/hosts" ] || { mdi_cluster_die "no cluster is up"; return 1; }
  i=0
  while read -r ip ns cg acct; do
    local veth
    veth=$(mdi_cluster_veth "$i")
    if [ "$spec" = none ]; then
      tc qdisc del dev "$veth" root 2>/dev/null || true
      ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
    else
      read -r rate burst <<<"$spec"
      tc qdisc replace dev "$veth" root tbf rate "$rate" burst "$burst" latency 100ms ||
        { mdi_cluster_die "tc tbf on $veth failed"; return 1; }
      ip netns exec "$ns" tc qdisc replace dev eth0 root tbf rate "$rate" burst "$burst" latency 100ms ||
        { mdi_cluster_die "tc tbf on $ns/eth0 failed"; return 1; }
    fi
    i=$((i + 1))
  done <"$MDI_CLUSTER_STATE/hosts"
  echo "$profile" >"$MDI_CLUSTER_STATE/link"
  mdi_cluster_log "link profile $profile ($spec; no latency emulation: netem is not available)"
}

# The processes still running inside our namespaces or cgroups (daemons left
# by a failed launch), and launch agents that never reached their namespace
# with their children. Only processes in objects created here.
mdi_cluster_stray_pids() {
  local pids="" ip ns cg acct p
  while read -r ip ns cg acct; do
    if [ -e "/run/netns/$ns" ]; then pids="$pids $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ' || true)"; fi
    if [ "$cg" != - ] && [ -e "$cg/cgroup.procs" ]; then pids="$pids $(tr '\n' ' ' <"$cg/cgroup.procs" || true)"; fi
    if [ -e "$acct/cgroup.procs" ]; then pids="$pids $(tr '\n' ' ' <"$acct/cgroup.procs" || true)"; fi
  done <"$MDI_CLUSTER_STATE/hosts"
  if [ -d "$MDI_CLUSTER_STATE/agents" ]; then
    for p in "$MDI_CLUSTER_STATE"/agents/*; do
      [ -e "$p" ] || continue
      p=${p##*/}
      if grep -q "agent.sh" "/proc/$p/cmdline" 2>/dev/null; then
        pids="$pids $p $(pgrep -P "$p" | tr '\n' ' ' || true)"
      else
        rm -f "$MDI_CLUSTER_STATE/agents/$p"
      fi
    done
  fi
  echo "$pids" | tr ' ' '\n' | { grep -E '^[0-9]+$' || true; } | sort -u | tr '\n' ' '
}

# End the stray processes: TERM, then KILL those still there a second later.
mdi_cluster_kill_strays() {
  local pids p
  [ -s "$MDI_CLUSTER_STATE/hosts" ] || return 0
  pids=$(mdi_cluster_stray_pids)
  [ -n "${pids// /}" ] || return 0
  mdi_cluster_log "ending stray processes of the emulated devices: $pids"
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  pids=$(mdi_cluster_stray_pids)
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  sleep 0.2
}

# Remove everything listed in the state directory, newest first.
mdi_cluster_down() {
  local kind name rc=0
  [ -e "$MDI_CLUSTER_STATE/created" ] || return 0
  mdi_cluster_kill_strays
  while read -r kind name; do
    case "$kind" in
      netns) ip netns del "$name" 2>/dev/null || { mdi_cluster_log "could not remove namespace $name"; rc=1; } ;;
      link) ! ip link show "$name" >/dev/null 2>&1 || ip link del "$name" || { mdi_cluster_log "could not remove $name"; rc=1; } ;;
      cgroup)
        local tries=0
        while [ -d "$name" ] && ! rmdir "$name" 2>/dev/null; do
          tries=$((tries + 1))
          [ "$tries" -lt 20 ] || { mdi_cluster_log "could not remove cgroup $name"; rc=1; break; }
          sleep 0.25
        done
        ;;
    esac
  done < <(tac "$MDI_CLUSTER_STATE/created")
  if [ "$rc" = 0 ]; then
    rm -rf "$MDI_CLUSTER_STATE"
    mdi_cluster_log "down: removed everything"
  else
    mdi_cluster_log "down: some objects remain, listed in $MDI_CLUSTER_STATE/created"
  fi
  return "$rc"
}

mdi_cluster_status() {
  local ip ns cg acct i=0
  [ -s "$MDI_CLUSTER_STATE/hosts" ] || { echo "no cluster is up ($MDI_CLUSTER_STATE)"; return 0; }
  echo "link profile: $(cat "$MDI_CLUSTER_STATE/link")   cpu quota: $(cat "$MDI_CLUSTER_STATE/quota")"
  while read -r ip ns cg acct; do
    local q=-
    [ "$cg" != - ] && q="$(cat "$cg/cpu.cfs_quota_us")/$(cat "$cg/cpu.cfs_period_us") us"
    echo "$ns $ip quota $q"
    echo "  into: $(tc qdisc show dev "$(mdi_cluster_veth "$i")" | head -1)"
    echo "  out:  $(ip netns exec "$ns" tc qdisc show dev eth0 | head -1)"
    i=$((i + 1))
  done <"$MDI_CLUSTER_STATE/hosts"
}

# CPU counters of the first NP devices and of the host, one line each:
#   dev NAME THROTTLED_NS USAGE_NS      (throttled by the quota; CPU time used)
#   host BUSY_TICKS STEAL_TICKS TICK_HZ (all CPUs, from /proc/stat)
#   clock SECONDS
mdi_cluster_cpu_snapshot() {
  local np=$1 i=0 ip ns cg acct thr
  while read -r ip ns cg acct && [ "$i" -lt "$np" ]; do
    thr=0
    [ "$cg" = - ] || thr=$(awk '$1 == "throttled_time" { print $2 }' "$cg/cpu.stat")
    echo "dev $ns $thr $(cat "$acct/cpuacct.usage")"
    i=$((i + 1))
  done <"$MDI_CLUSTER_STATE/hosts"
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print "host", $2 + $3 + $4 + $7 + $8 + $9, $9, hz }' /proc/stat
  echo "clock $(date +%s.%N)"
}

# The mpirun arguments that place rank i on device i, for NP ranks.
mdi_cluster_mpirun_args() {
  local np=$1 hosts ndev
  ndev=$(wc -l <"$MDI_CLUSTER_STATE/hosts")
  [ "$np" -le "$ndev" ] || { mdi_cluster_die "$np ranks but only $ndev devices"; return 1; }
  hosts=$(head -n "$np" "$MDI_CLUSTER_STATE/hosts" | awk '{print $1}' | paste -sd, -)
  echo "-np $np -H $hosts --bind-to none" \
    "--mca plm_rsh_agent $MDI_CLUSTER_DIR/agent.sh --mca plm_rsh_no_tree_spawn 1" \
    "--mca btl tcp,self --mca btl_tcp_if_include $MDI_CLUSTER_SUBNET.0/24" \
    "--mca oob_tcp_if_include $MDI_CLUSTER_SUBNET.0/24"
}

# TCP throughput from device 0 to device 1 through the current profile.
mdi_cluster_linktest() {
  local seconds=${1:-3} ns0 ns1 ip1 srv rc=0
  [ "$(wc -l <"$MDI_CLUSTER_STATE/hosts")" -ge 2 ] || { mdi_cluster_die "linktest needs 2 devices"; return 1; }
  ns0=$(mdi_cluster_ns 0)
  ns1=$(mdi_cluster_ns 1)
  ip1=$(mdi_cluster_ip 1)
  ip netns exec "$ns1" python3 "$MDI_CLUSTER_DIR/linktest.py" server --port 5599 --once &
  srv=$!
  sleep 0.5
  ip netns exec "$ns0" python3 "$MDI_CLUSTER_DIR/linktest.py" client "$ip1" --port 5599 --seconds "$seconds" || rc=$?
  wait "$srv" || rc=$?
  return "$rc"
}

mdi_cluster_usage() {
  sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

mdi_cluster_main() {
  set -euo pipefail
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  local n=0 link=fast quota=none np=0
  case "$cmd" in
    up | with)
      while [ $# -gt 0 ]; do
        case "$1" in
          -n) n=$2; shift 2 ;;
          --link) link=$2; shift 2 ;;
          --cpu-quota) quota=$2; shift 2 ;;
          --) shift; break ;;
          *) mdi_cluster_die "unknown argument '$1'"; exit 2 ;;
        esac
      done
      [ "$n" -gt 0 ] || { mdi_cluster_die "give the number of devices with -n"; exit 2; }
      mdi_cluster_profile "$link" >/dev/null || { mdi_cluster_die "unknown link profile '$link'"; exit 2; }
      mdi_cluster_require_root
      # refuse before owning anything: a cluster that is up belongs to someone else
      mdi_cluster_check_free "$n"
      if [ "$cmd" = with ]; then
        [ $# -gt 0 ] || { mdi_cluster_die "give a command after --"; exit 2; }
        trap 'mdi_cluster_down' EXIT
        trap 'exit 130' INT TERM
        mdi_cluster_up "$n" "$quota"
        mdi_cluster_link "$link"
        "$@"
      else
        trap 'mdi_cluster_down' EXIT
        mdi_cluster_up "$n" "$quota"
        mdi_cluster_link "$link"
        trap - EXIT
      fi
      ;;
    link) mdi_cluster_require_root; mdi_cluster_link "${1:?give a profile: gbe, wifi or fast}" ;;
    status) mdi_cluster_status ;;
    down) mdi_cluster_require_root; mdi_cluster_down ;;
    linktest) mdi_cluster_require_root; mdi_cluster_linktest "${1:-3}" ;;
    run)
      mdi_cluster_require_root
      while [ $# -gt 0 ]; do
        case "$1" in
          -np) np=$2; shift 2 ;;
          --) shift; break ;;
          *) mdi_cluster_die "unknown argument '$1'"; exit 2 ;;
        esac
      done
      [ "$np" -gt 0 ] && [ $# -gt 0 ] || { mdi_cluster_die "usage: run -np N -- CMD ARGS..."; exit 2; }
      export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      # shellcheck disable=SC2046
      exec mpirun $(mdi_cluster_mpirun_args "$np") "$@"
      ;;
    -h | --help | help) mdi_cluster_usage ;;
    *) mdi_cluster_usage >&2; exit 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  mdi_cluster_main "$@"
fi

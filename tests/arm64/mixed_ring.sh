#!/bin/sh
# A mixed ring: rank 0 on x86, ranks 1 and 2 on arm64, in one mpirun.
#
#   mixed_ring.sh X86_PIPELINE ARM64_PIPELINE OUT_JSONL -- PIPELINE_ARGS...
#
# Two emulated hosts on this machine, each a network namespace on a bridge
# (10.213.91.0/24): "x86" runs the x86 build, "arm64" the arm64 build inside
# the arm64 root under qemu (tests/arm64/agent.sh starts Open MPI's daemon
# there).  mpirun runs outside both, as on a login node, with one app context
# per architecture: rank 0 from the first, ranks 1-2 from the second, the
# same PIPELINE_ARGS for all.  The output (rank 0 writes it, -o OUT_JSONL is
# appended) is compared by the caller; here the run's --stats show that rank
# 0 ran on the x86 host and ranks 1-2 on the arm64 one, and the two programs
# are checked to be x86-64 and AArch64 executables.  Everything created is
# removed at exit.
# Environment: MDI_SOURCE_DIR, MDI_BUILD_DIR, MDI_ARM64_ROOT, MDI_ARM64_BUILD
# (set by CTest); MDI_MIXED_SUBNET (default 10.213.91).
set -eu
[ $# -ge 4 ] && [ "$4" = -- ] || { echo "usage: mixed_ring.sh X86_PIPELINE ARM64_PIPELINE OUT_JSONL -- ARGS..." >&2; exit 2; }
x86_exe=$1
arm_exe=$2
out=$3
shift 4
src=${MDI_SOURCE_DIR:?}
subnet=${MDI_MIXED_SUBNET:-10.213.91}
tag=mdx$$ # names of what is created here (interfaces: at most 15 characters)
state=$(mktemp -d /tmp/mdi-mixed.XXXXXX)
export MDI_MIXED_STATE=$state

# e_machine of an ELF file: 62 x86-64, 183 AArch64
elf_machine() { od -An -tu2 -j18 -N2 "$1" | tr -d ' '; }
[ "$(elf_machine "$x86_exe")" = 62 ] || { echo "mixed_ring.sh: $x86_exe is not an x86-64 program" >&2; exit 1; }
[ "$(elf_machine "$arm_exe")" = 183 ] || { echo "mixed_ring.sh: $arm_exe is not an AArch64 program" >&2; exit 1; }

if ip -4 addr show | grep -qF "inet $subnet."; then
  echo "mixed_ring.sh: $subnet.0/24 is in use here; set MDI_MIXED_SUBNET" >&2
  exit 1
fi

cleanup() {
  rc=$?
  for ns in ${tag}x ${tag}a; do
    if [ -e "/run/netns/$ns" ]; then
      # daemons or ranks left by a failed launch
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  for l in ${tag}br ${tag}x ${tag}a; do ip link del "$l" 2>/dev/null || true; done
  [ "$rc" = 0 ] || { echo "--- agent log"; cat "$state/agent.log" 2>/dev/null || true; }
  rm -rf "$state"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip link add ${tag}br type bridge
ip addr add "$subnet.1/24" dev ${tag}br
ip link set ${tag}br up
i=10
: >"$state/hosts"
for kind in x86 arm64; do
  ns=${tag}$(echo $kind | cut -c1)
  ip netns add "$ns"
  ip link add "$ns" type veth peer name "${ns}p"
  ip link set "${ns}p" netns "$ns"
  ip -n "$ns" link set "${ns}p" name eth0
  ip link set "$ns" master ${tag}br
  ip link set "$ns" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$subnet.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$subnet.1"
  echo "$subnet.$i $ns $kind" >>"$state/hosts"
  i=$((i + 1))
done

# the arm64 host sees the source and build trees at their own paths
binds="--bind $src --bind $MDI_BUILD_DIR --bind $MDI_ARM64_BUILD"
export MDI_MIXED_IN_ROOT="$src/tests/arm64/in_root.sh $MDI_ARM64_ROOT $binds"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "mpirun: rank 0 on $subnet.10 (x86), ranks 1-2 on $subnet.11 (arm64 under qemu)"
stats=${out%.jsonl}.stats.json
rm -f "$out" "$stats"
mpirun --bind-to none --mca plm_rsh_agent "$src/tests/arm64/agent.sh" --mca plm_rsh_no_tree_spawn 1 \
  --mca btl tcp,vader,self --mca btl_tcp_if_include "$subnet.0/24" --mca oob_tcp_if_include "$subnet.0/24" \
  -np 1 --host "$subnet.10:1" "$x86_exe" "$@" -o "$out" --stats "$stats" \
  : -np 2 --host "$subnet.11:2" "$arm_exe" "$@" -o "$out" --stats "$stats"
# each rank reports the host name its daemon was given by agent.sh
python3 - "$stats" "${tag}x" "${tag}a" <<'PY'
import json, sys
ranks = json.load(open(sys.argv[1]))["ranks"]
hosts = [r["host"] for r in sorted(ranks, key=lambda r: r["rank"])]
want = [sys.argv[2], sys.argv[3], sys.argv[3]]
print("ranks ran on", hosts)
sys.exit(hosts != want)
PY

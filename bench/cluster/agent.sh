#!/bin/sh
# Open MPI launch agent (--mca plm_rsh_agent) for the emulated cluster of
# cluster.sh. Open MPI calls it as ssh: `agent.sh HOST WORDS...`, the words
# forming one remote shell command (some quoted, the first with a leading
# space), so they are re-parsed with sh -c as a remote shell would.
#
# HOST is a device address; the command runs
#  - in the device's cgroups (this shell joins them before exec: the daemon
#    and its ranks inherit the CPU quota and are counted by cpuacct),
#  - in the device's network namespace,
#  - in a UTS namespace of its own with the device's host name, and with its
#    own TMPDIR: Open MPI names its session directory after the host name, and
#    daemons sharing one hang in MPI_Init.
set -eu
host=$1
shift
state=${MDI_CLUSTER_STATE:?agent.sh: MDI_CLUSTER_STATE is not set}
# cluster.sh ends agents still alive after a failed launch: list this one
mkdir -p "$state/agents"
: >"$state/agents/$$"
line=$(awk -v h="$host" '$1 == h || $2 == h { print; exit }' "$state/hosts")
if [ -z "$line" ]; then
  echo "agent.sh: $host is not a device of the emulated cluster ($state/hosts)" >&2
  exit 1
fi
ns=$(echo "$line" | awk '{ print $2 }')
cg=$(echo "$line" | awk '{ print $3 }')
acct=$(echo "$line" | awk '{ print $4 }')
if [ "$cg" != - ]; then
  echo $$ >"$cg/tasks" || { echo "agent.sh: cannot join cgroup $cg" >&2; exit 1; }
fi
echo $$ >"$acct/tasks" || { echo "agent.sh: cannot join cgroup $acct" >&2; exit 1; }
tmp=$state/tmp/$ns
mkdir -p "$tmp"
echo "$(date +%T) $ns: $*" >>"$state/agent.log"
exec ip netns exec "$ns" unshare --uts /bin/sh -c "hostname $ns && TMPDIR=$tmp && export TMPDIR && $*"

#!/bin/sh
# Open MPI launch agent (--mca plm_rsh_agent) of tests/arm64/mixed_ring.sh.
# Open MPI calls it as it would call ssh: `agent.sh HOST WORDS...`, the words
# forming one remote shell command (re-parsed with sh -c, as a remote shell
# would).  HOST is the address of a device in $MDI_MIXED_STATE/hosts
# ("address namespace kind"): the command runs in the device's network
# namespace with a host name of its own (daemons sharing a host name and a
# session directory hang in MPI_Init), and for kind arm64 inside the arm64
# root under emulation, with the source and build trees at their paths.
set -eu
host=$1
shift
state=${MDI_MIXED_STATE:?agent.sh: MDI_MIXED_STATE is not set}
line=$(awk -v h="$host" '$1 == h { print; exit }' "$state/hosts")
[ -n "$line" ] || { echo "agent.sh: $host is not a device of $state/hosts" >&2; exit 1; }
ns=$(echo "$line" | awk '{ print $2 }')
kind=$(echo "$line" | awk '{ print $3 }')
echo "$(date +%T) $ns ($kind): $*" >>"$state/agent.log"
MDI_REMOTE_CMD="$*"
export MDI_REMOTE_CMD
case "$kind" in
  x86)
    mkdir -p "$state/tmp/$ns"
    exec ip netns exec "$ns" unshare --uts /bin/sh -c \
      "hostname $ns && TMPDIR=$state/tmp/$ns && export TMPDIR && exec /bin/sh -c \"\$MDI_REMOTE_CMD\""
    ;;
  arm64)
    # in_root.sh keeps the environment: the command is expanded inside
    exec ip netns exec "$ns" unshare --uts /bin/sh -c \
      "hostname $ns && exec $MDI_MIXED_IN_ROOT -- /bin/sh -c \"\$MDI_REMOTE_CMD\""
    ;;
  *) echo "agent.sh: unknown device kind $kind" >&2; exit 1 ;;
esac

#!/bin/sh
# in_root.sh ROOT [--bind DIR]... [--] COMMAND [ARGS...]
# Runs COMMAND inside the arm64 root made by scripts/arm64-root.sh, under
# qemu-user emulation (binfmt_misc), as the same user in the same directory.
# Every DIR given with --bind (typically the source and build trees) appears
# inside the root at the same absolute path, so paths in test commands and
# the files they write mean the same on both sides.
#
# The mounts (/proc, /sys, /dev, the binds) are made in a private mount
# namespace (unshare --mount): they vanish with the command, whatever way it
# ends, and are never visible to the host (an `rm -rf` of the build tree
# cannot descend into a leftover /dev or /proc bind).  Needs root.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: in_root.sh ROOT [--bind DIR]... [--] COMMAND [ARGS...]" >&2
  exit 2
fi
root=$(cd "$1" 2>/dev/null && pwd) || {
  echo "in_root.sh: $1: no arm64 root there (make it with scripts/arm64-root.sh)" >&2
  exit 1
}
shift
binds=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bind) binds="$binds $(cd "$2" && pwd)"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ ! -e "$root/.mdi-arm64-root-ready" ]; then
  echo "in_root.sh: $root is not a finished arm64 root (make it with scripts/arm64-root.sh)" >&2
  exit 1
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "in_root.sh: qemu-aarch64 is not registered with binfmt_misc (scripts/arm64-root.sh does it)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "in_root.sh: needs root (chroot and mounts)" >&2
  exit 1
fi

# The inner script runs in the new mount namespace; its arguments are the
# root, the directories to bind, then the command.
MDI_IN_ROOT_CWD=$(pwd) MDI_IN_ROOT_BINDS=$binds exec unshare --mount --propagation private sh -c '
  set -eu
  root=$1; shift
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  for d in $MDI_IN_ROOT_BINDS; do
    mkdir -p "$root$d"
    mount --bind "$d" "$root$d"
  done
  cwd=$MDI_IN_ROOT_CWD
  [ -d "$root$cwd" ] || cwd=/
  unset MDI_IN_ROOT_CWD MDI_IN_ROOT_BINDS
  export PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
  exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' in_root "$root" "$@"

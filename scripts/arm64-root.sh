#!/bin/sh
# An arm64 Debian 12 root for building and testing mdi-llm under qemu-user
# emulation, then the project built natively inside it (docs/CLUSTER.md,
# "Testing the arm64 build on x86").  Needs root; idempotent: a finished root
# is detected and reused, and the build is incremental.
#
#   scripts/arm64-root.sh              make (or reuse) the root, build inside it
#   scripts/arm64-root.sh --no-build   only the root
#   scripts/arm64-root.sh --rebuild    remove the root and make it again
#   scripts/arm64-root.sh --build-only only the build, in a finished root (no
#                                      package installation; the arm64.build test)
#
# Then `ctest -L arm64` in the Release build tree runs the arm64 subset
# (tests/arm64/CMakeLists.txt).  Phases and their durations are printed.
#
# Environment:
#   MDI_BUILD_DIR    the host build tree (default build)
#   MDI_ARM64_ROOT   the root (default $MDI_BUILD_DIR/arm64-root)
#   MDI_ARM64_BUILD  the arm64 build tree, seen at the same path inside the
#                    root (default $MDI_BUILD_DIR/arm64)
#   MDI_ARM64_CPU    -mcpu of the arm64 build (default cortex-a76, the CPU of a
#                    Raspberry Pi 5 and of RK3588's big cores: NEON and the
#                    dot-product instructions; qemu's default CPU has both)
#   MDI_ARM64_MIRROR the Debian archive (default: the host's apt source)
#
# How it is fast enough for CI (measured phases in docs/CLUSTER.md):
#  - every package is named to debootstrap's first stage (--include), which
#    downloads and unpacks them natively; no apt run under emulation;
#  - --variant=minbase, no recommends, and dpkg told not to fsync
#    (force-unsafe-io) nor to unpack documentation, manuals and translations;
#  - only the packages the build and the arm64 tests need (not gnuplot,
#    Slurm, clang);
#  - only the targets the arm64 subset runs are built (mdi_arm64_subset).
set -eu
cd "$(dirname "$0")/.."
SRC=$(pwd)
HOST_BUILD=${MDI_BUILD_DIR:-build}
ROOT=${MDI_ARM64_ROOT:-$HOST_BUILD/arm64-root}
ARM_BUILD=${MDI_ARM64_BUILD:-$HOST_BUILD/arm64}
ARM_CPU=${MDI_ARM64_CPU:-cortex-a76}
SUITE=bookworm

# What the build and the arm64 tests need; automake only because debootstrap
# cannot resolve libltdl-dev's virtual dependency (automake-1.16), which
# libopenmpi-dev pulls in through libhwloc-dev.
PACKAGES="gcc libc6-dev make cmake pkg-config openmpi-bin libopenmpi-dev
libhdf5-dev hdf5-tools libblis-dev libiniparser-dev libcjson-dev libmicrohttpd-dev
libonig-dev libutf8proc-dev python3 automake"
# Bumped when the recipe changes: a root made by another recipe is remade.
RECIPE=2

BUILD=1
REBUILD=0
BUILD_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --rebuild) REBUILD=1 ;;
    --build-only) BUILD_ONLY=1 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "arm64-root.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "arm64-root: $*"; }
die() { echo "arm64-root: error: $*" >&2; exit 1; }
# CPU seconds (user + system) of this script's finished children, from the
# shell's `times`: on a shared machine the wall time of an emulated phase
# says more about the other load than about the phase.
TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT
# cpu_now: CPU_S=that figure.  `times` must run in this shell, not in a
# subshell ($(...), a pipe), which would count the subshell's children only.
cpu_now() {
  times >"$TIMES"
  CPU_S=$(awk 'NR == 2 { split($0, f, /[ms ]+/); print int(f[1] * 60 + f[2] + f[3] * 60 + f[4]) }' "$TIMES")
}
T0=$(date +%s)
PHASE_T=$T0
cpu_now
PHASE_CPU=$CPU_S
PHASES=""
# phase_done NAME: print and remember how long the phase since the last call took
phase_done() {
  now=$(date +%s)
  cpu_now
  cpu=$CPU_S
  log "phase $1: $((now - PHASE_T)) s ($((cpu - PHASE_CPU)) s of CPU)"
  PHASES="$PHASES $1=$((now - PHASE_T))s/$((cpu - PHASE_CPU))cpu"
  PHASE_T=$now
  PHASE_CPU=$cpu
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, binfmt_misc); run it as root or with sudo"

# --- host tools ----------------------------------------------------------
missing=""
[ "$BUILD_ONLY" = 1 ] || for p in debootstrap qemu-user-static; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $missing >/dev/null || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends $missing >/dev/null
  }
fi

# --- qemu-aarch64 registered with binfmt_misc ------------------------------
# A fresh machine (or a container) may have binfmt_misc unmounted and
# nothing registered; systemd-binfmt does it on a booted Debian.
BINFMT=/proc/sys/fs/binfmt_misc
if [ ! -e "$BINFMT/register" ]; then
  mount -t binfmt_misc binfmt_misc "$BINFMT" || die "cannot mount binfmt_misc on $BINFMT"
fi
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
  conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -r "$conf" ] || die "$conf is missing (package qemu-user-static)"
  cat "$conf" >"$BINFMT/register" || die "cannot register $conf with binfmt_misc"
  log "registered qemu-aarch64 with binfmt_misc"
fi
[ "$(cat "$BINFMT/status")" = enabled ] || die "binfmt_misc is disabled ($BINFMT/status)"
head -1 "$BINFMT/qemu-aarch64" | grep -q enabled || die "the qemu-aarch64 binfmt entry is disabled"
phase_done host-tools

# --- the root --------------------------------------------------------------
MARK=$ROOT/.mdi-arm64-root-ready
want_mark=$(printf 'recipe %s\nsuite %s\npackages %s\n' "$RECIPE" "$SUITE" "$(echo $PACKAGES)")

# Nothing may be mounted below the root before it is removed (in_root.sh
# mounts in private namespaces only, so this holds unless a mount was made
# by hand).
remove_root() {
  abs=$(cd "$ROOT" && pwd)
  if awk -v r="$abs/" '{ if (index($5 "/", r) == 1) found = 1 } END { exit !found }' /proc/self/mountinfo; then
    die "something is mounted below $abs: unmount it before the root is remade"
  fi
  rm -rf "$abs"
}

if [ "$REBUILD" = 1 ] && [ -e "$ROOT" ]; then
  log "--rebuild: removing $ROOT"
  remove_root
fi
if [ -e "$MARK" ] && [ "$(cat "$MARK")" = "$want_mark" ]; then
  log "reusing the finished root $ROOT"
elif [ "$BUILD_ONLY" = 1 ]; then
  die "no finished arm64 root at $ROOT (or one of another recipe): make it with scripts/arm64-root.sh"
else
  if [ -e "$ROOT" ]; then
    log "$ROOT is unfinished or from another recipe: making it again"
    remove_root
  fi
  command -v debootstrap >/dev/null || die "debootstrap not found"
  MIRROR=${MDI_ARM64_MIRROR:-}
  if [ -z "$MIRROR" ]; then
    # the archive apt already uses (deb822 or one-line format)
    MIRROR=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $3 ~ /^bookworm/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
  fi
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
  MARK=$ROOT/.mdi-arm64-root-ready
  include=$(echo $PACKAGES | tr ' ' ',')
  log "first stage: debootstrap --foreign --arch=arm64 --variant=minbase $SUITE from $MIRROR"
  debootstrap --foreign --arch=arm64 --variant=minbase --include="$include" "$SUITE" "$ROOT" "$MIRROR" \
    >"$ROOT.debootstrap1.log" 2>&1 || {
    tail -20 "$ROOT.debootstrap1.log" >&2
    die "the first stage failed (log: $ROOT.debootstrap1.log)"
  }
  phase_done first-stage

  # dpkg under emulation: no fsync, no documentation
  mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
  cat >"$ROOT/etc/dpkg/dpkg.cfg.d/mdi-arm64-root" <<'EOF'
# scripts/arm64-root.sh: an emulated build root, not a system to keep safe
force-unsafe-io
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
EOF
  # The second stage: dpkg and every maintainer script run inside the root
  # under emulation, but debootstrap's own shell work (dependency lists
  # through sed and perl over the package indices) runs here natively, from
  # the root's copy of debootstrap pointed at the root
  # (--second-stage-target) instead of under emulation inside it.  The /proc
  # and /sys it mounts in the root live in a private mount namespace and end
  # with it.
  log "second stage: installing $(ls "$ROOT/var/cache/apt/archives" | grep -c '\.deb$') packages (dpkg under emulation)"
  DEBOOTSTRAP_DIR=$ROOT/debootstrap unshare --mount --propagation private \
    sh "$ROOT/debootstrap/debootstrap" --second-stage --second-stage-target="$ROOT" \
    >"$ROOT.debootstrap2.log" 2>&1 || {
    tail -20 "$ROOT.debootstrap2.log" >&2
    [ -e "$ROOT/debootstrap/debootstrap.log" ] && tail -30 "$ROOT/debootstrap/debootstrap.log" >&2
    die "the second stage failed (logs: $ROOT.debootstrap2.log, $ROOT/debootstrap/debootstrap.log)"
  }
  phase_done second-stage

  # apt can add packages later (apt-get update inside); the downloaded
  # packages are not needed any more
  echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"
  cp /etc/hosts "$ROOT/etc/hosts"
  [ -e /etc/resolv.conf ] && cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  rm -f "$ROOT"/var/cache/apt/archives/*.deb
  # the interpreter must be reachable inside the root unless binfmt_misc
  # opened it at registration (flag F, as Debian's qemu-user-static does)
  if ! grep -q '^flags:.*F' "$BINFMT/qemu-aarch64"; then
    interp=$(awk '$1 == "interpreter" { print $2 }' "$BINFMT/qemu-aarch64")
    mkdir -p "$ROOT$(dirname "$interp")"
    cp -L "$interp" "$ROOT$interp"
  fi
  versions=$(chroot "$ROOT" /bin/sh -c 'uname -m; gcc -dumpfullversion; cmake --version | head -1; mpirun --version | head -1' 2>&1) ||
    die "the root does not run: $versions"
  log "inside: $(echo "$versions" | tr '\n' ';')"
  echo "$want_mark" >"$MARK"
  phase_done finish-root
fi

# --- the build -------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  mkdir -p "$ARM_BUILD"
  ARM_BUILD=$(cd "$ARM_BUILD" && pwd)
  # the source and build trees appear inside the root at their own paths
  binds="--bind $SRC"
  case "$ARM_BUILD/" in
    "$SRC"/*) ;;
    *) binds="$binds --bind $ARM_BUILD" ;;
  esac
  in_root() { tests/arm64/in_root.sh "$ROOT" $binds -- "$@"; }
  jobs=$(nproc)
  if [ ! -e "$ARM_BUILD/CMakeCache.txt" ]; then
    log "configuring $ARM_BUILD inside the root (-mcpu=$ARM_CPU)"
    # tests run 4 times slower under emulation: scale their time limits
    in_root cmake -S "$SRC" -B "$ARM_BUILD" -DCMAKE_BUILD_TYPE=Release -DMDI_NATIVE=OFF -DMDI_CPU="$ARM_CPU" \
      -DMDI_TEST_TIMEOUT_SCALE=4 >"$ARM_BUILD/configure.log" 2>&1 || {
      cat "$ARM_BUILD/configure.log" >&2
      die "configuring inside the root failed"
    }
    phase_done configure
  fi
  log "building mdi_arm64_subset inside the root (log: $ARM_BUILD/build.log)"
  in_root cmake --build "$ARM_BUILD" -j "$jobs" --target mdi_arm64_subset >"$ARM_BUILD/build.log" 2>&1 || {
    tail -40 "$ARM_BUILD/build.log" >&2
    die "the build inside the root failed"
  }
  phase_done build
fi
log "done in $(($(date +%s) - T0)) s:$PHASES"

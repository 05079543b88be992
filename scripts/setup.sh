#!/bin/sh
# Install the Debian 12 packages mdi-llm needs (idempotent), then configure
# and build a Release tree in build/.
#   scripts/setup.sh                         install + build
#   scripts/setup.sh --no-build              install only
#   scripts/setup.sh --with-test-tools ...   also what the test suite needs
#                                            (a local Slurm for tests/slurm, curl,
#                                            node and npm for tests/serve, debootstrap
#                                            and qemu for the arm64 root, iproute2 for
#                                            its mixed ring)
# Environment: MDI_BUILD_DIR (default build), MDI_PRESET (CMake preset, optional).
set -eu
cd "$(dirname "$0")/.."

# Runtime: Open MPI (src/ring/comm.c), HDF5 (src/model/weights_h5.c), iniparser
# (src/app/config.c); JSON is our own parser (src/base/json.c).  Benchmarks: BLIS
# (bench/kernels), gnuplot.  Tests: hdf5-tools, python3-numpy, clang and its
# runtime (fuzzing, sanitizers), iproute2, procps.
PACKAGES="build-essential cmake pkg-config git ca-certificates
openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools libblis-dev
libiniparser-dev libmicrohttpd-dev libonig-dev libutf8proc-dev gnuplot-nox python3 python3-numpy
clang libclang-rt-14-dev libomp-dev iproute2 procps"

BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --with-test-tools)
      PACKAGES="$PACKAGES slurmctld slurmd slurm-client munge curl debootstrap qemu-user-static iproute2"
      # node and npm run the OpenAI client test (tests/serve); a node that is
      # already installed (with its own npm) is kept
      command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm" ;;
    *) echo "setup.sh: unknown argument $arg (see the comment at the top)" >&2; exit 2 ;;
  esac
done

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing packages:$missing" >&2
    echo "setup.sh: run as root (or install them with sudo apt-get install)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # a fresh machine has no package lists yet; refresh them only when needed
  apt-get install -y --no-install-recommends $missing || {
    apt-get update
    apt-get install -y --no-install-recommends $missing
  }
fi

[ "$BUILD" = 1 ] || exit 0

BUILD_DIR=${MDI_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"

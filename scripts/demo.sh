#!/bin/sh
# Install, build, convert the shipped stories260K model to HDF5 and generate:
# first one greedy story on one rank, then 8 prompts on a 3-rank ring.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
B=${MDI_BUILD_DIR:-build}
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
"$B/mdi_convert" llama2c models/stories260K.bin --tokenizer models/tok512.bin models/stories260K.h5
echo "--- one rank, greedy, from BOS:"
"$B/mdi_pipeline" -m models/stories260K.h5 -t 0 -n 100
echo "--- three ranks, configs/stories260K.ini (8 prompts, micro-batches of 4):"
mpirun -np 3 --oversubscribe "$B/mdi_pipeline" -c configs/stories260K.ini -n 40 -o "$B/demo.jsonl"
echo "--- journal: $B/demo.jsonl"

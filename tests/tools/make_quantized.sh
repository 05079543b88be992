#!/bin/sh
# usage: make_quantized.sh MDI_CONVERT STORIES260K.h5 SMALL.h5 DIR
#
# The Q8_0 models the quantize tests run (DIR is emptied first):
#   q8.h5                    stories260K quantized (shared classifier: /embedding is Q8_0)
#   q8s3.rank00[012].h5      q8.h5 split for 3 ranks (auto: 1,2,2)
#   small.q8.h5              the random small model (separate classifier) quantized
#   small.q8.rank00[01].h5   small.q8.h5 split for 2 ranks
set -u
convert=$1
model=$2
small=$3
dir=$4
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$convert" quantize --type q8_0 "$model" "$dir/q8.h5" || fail "quantize stories260K"
"$convert" split "$dir/q8.h5" --ranks 3 "$dir/q8s3" || fail "split q8.h5 --ranks 3"
"$convert" quantize --type q8_0 "$small" "$dir/small.q8.h5" || fail "quantize small.h5"
"$convert" split "$dir/small.q8.h5" --ranks 2 "$dir/small.q8" || fail "split small.q8.h5 --ranks 2"
ls -l "$dir" "$model"
echo PASS

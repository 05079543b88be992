#!/bin/sh
# usage: make_rankfiles.sh MDI_CONVERT MODEL.h5 DIR
#
# The per-rank files the rankfiles tests run (DIR is emptied first):
#   s2.rank00[01].h5         MODEL split for 2 ranks (auto: 2,3)
#   s3.rank00[012].h5        MODEL split for 3 ranks (auto: 1,2,2)
#   x3.rank00[012].h5        MODEL split 2,1,2
#   o3.rank00[012].h5        another model of the same shape (random weights) split for 3
#   mix_model.rank00[012].h5 s3 with o3's rank 1 file: a file of another model
#   mix_split.rank00[012].h5 s3 with x3's rank 1 file: a file of another split
#   missing.rank00[01].h5    s3 without its rank 2 file
set -u
convert=$1
model=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$convert" split "$model" --ranks 2 "$dir/s2" || fail "split --ranks 2"
"$convert" split "$model" --ranks 3 "$dir/s3" || fail "split --ranks 3"
"$convert" split "$model" --ranks 3 --split 2,1,2 "$dir/x3" || fail "split --ranks 3 --split 2,1,2"
"$convert" random --preset stories260K --seed 7 "$dir/other.h5" || fail "random model"
"$convert" split "$dir/other.h5" --ranks 3 "$dir/o3" || fail "split of the random model"
for r in 0 1 2; do
  other=s3
  [ $r -eq 1 ] && other=o3
  cp "$dir/$other.rank00$r.h5" "$dir/mix_model.rank00$r.h5" || exit 1
  other=s3
  [ $r -eq 1 ] && other=x3
  cp "$dir/$other.rank00$r.h5" "$dir/mix_split.rank00$r.h5" || exit 1
  [ $r -lt 2 ] && { cp "$dir/s3.rank00$r.h5" "$dir/missing.rank00$r.h5" || exit 1; }
done
ls -l "$dir"
echo PASS

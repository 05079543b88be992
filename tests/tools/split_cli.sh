#!/bin/sh
# usage: split_cli.sh MDI_CONVERT MODEL.h5 MISSING_DATASET.h5 DIR
#
# mdi_convert split's failures: one error line each, exit status 1 (bad
# input) or 2 (command line), and no file left behind.  A split that fails
# half-way (the source lacks /layers/003/w2, which rank 2's file would get
# after ranks 0 and 1 are written) leaves no partial file and keeps an
# earlier split with the same prefix as it was.
set -u
convert=$1
model=$2
broken=$3
dir=$4
here=$(cd "$(dirname "$0")" && pwd)
expect_fail=$here/../support/expect_fail.sh
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
# expect STATUS REGEX ARGS...: one error line matching REGEX and exit STATUS
expect() {
  want=$1
  shift
  sh "$expect_fail" --one-error "$@" >"$dir/log" 2>&1 || { cat "$dir/log"; fail "mdi_convert $*"; }
  grep -q "^exit status: $want\$" "$dir/log" || { cat "$dir/log"; fail "exit status is not $want: $*"; }
  sed -n 's/^  | //p' "$dir/log"
}

# an earlier split of the same prefix, which the failed split must not touch
"$convert" split -q "$model" --ranks 3 "$dir/p" || fail "first split"
cp "$dir/p.rank000.h5" "$dir/p.rank000.before" || exit 1
rm "$dir/p.rank002.h5"
expect 1 'missing_dataset\.h5: dataset /layers/003/w2 is missing' "$convert" split "$broken" --ranks 3 "$dir/p"
cmp "$dir/p.rank000.h5" "$dir/p.rank000.before" || fail "the failed split changed p.rank000.h5"
[ -e "$dir/p.rank002.h5" ] && fail "the failed split left p.rank002.h5"
ls "$dir" | grep -q '\.tmp$' && fail "the failed split left temporary files: $(ls "$dir")"

expect 1 '7 ranks need at least 6 layers' "$convert" split "$model" --ranks 7 "$dir/q"
expect 1 '--split 1,1,1: the counts add up to 3 but the model has 5 layers' \
  "$convert" split "$model" --ranks 3 --split 1,1,1 "$dir/q"
expect 1 'p\.rank000\.h5 is one rank.s part of a split model' "$convert" split "$dir/p.rank000.h5" --ranks 2 "$dir/q"
cp "$model" "$dir/q.rank000.h5" || exit 1
expect 1 'q\.rank000\.h5: output is the input file' "$convert" split "$dir/q.rank000.h5" --ranks 2 "$dir/q"
expect 1 'cannot create the output: directory .*/nonexistent' "$convert" split "$model" --ranks 2 "$dir/nonexistent/q"
expect 2 'split: --ranks N is required' "$convert" split "$model" "$dir/q"
expect 2 'split: --ranks: "0" is not an integer in \[1, 1024\]' "$convert" split "$model" --ranks 0 "$dir/q"
expect 2 'split: --rank0-layers applies to --split auto only' \
  "$convert" split "$model" --ranks 3 --split 1,2,2 --rank0-layers 1 "$dir/q"
expect 2 'split: expected MODEL\.h5 and PREFIX' "$convert" split "$model" --ranks 3
ls "$dir" | grep -q '^q\.rank00[1-9]' && fail "a failed split left files: $(ls "$dir")"

# --rank0-layers reaches the planner: rank 0 gets exactly K layers
"$convert" split -q "$model" --ranks 3 --rank0-layers 0 "$dir/z" || fail "split --rank0-layers 0"
"$convert" info "$dir/z.rank000.h5" | grep -Eq '^layers +\[0,0\) \(split 0,3,2\)' || fail "--rank0-layers 0"
"$convert" split --help | grep -q '^usage: mdi_convert split' || fail "split --help"
echo PASS

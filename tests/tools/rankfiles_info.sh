#!/bin/sh
# usage: rankfiles_info.sh MDI_CONVERT DIR
#
# What the per-rank files of make_rankfiles.sh hold, as `mdi_convert info`
# sees them: rank 0 the embedding, final norm, tokenizer and its layers; a
# stage only its layers (no embedding, no tokenizer); the split is the one
# mdi_pipeline plans (docs/PIPELINE.md: 2,3 at np 2, 1,2,2 at np 3); every
# file of one model has the same fingerprint, whatever the split, and another
# model another one.
set -u
convert=$1
dir=$2
fail() { echo "FAIL: $*"; exit 1; }
info() { "$convert" info "$dir/$1.h5" > "$dir/$1.info" 2>&1 || { cat "$dir/$1.info"; fail "info $1.h5"; }; }
has() { grep -Eq -- "$2" "$dir/$1.info" || fail "$1.h5: info does not show /$2/"; }
hasnt() { grep -Eq -- "$2" "$dir/$1.info" && fail "$1.h5: info shows /$2/"; return 0; }
fingerprint() { sed -n 's/^model_fingerprint *//p' "$dir/$1.info"; }

for f in s2.rank000 s2.rank001 s3.rank000 s3.rank001 s3.rank002 x3.rank001 o3.rank001; do info $f; done
cat "$dir/s3.rank002.info"

has s3.rank002 '^rank +2 of 3 '
has s3.rank002 '^layers +\[3,5\) \(split 1,2,2\)'
has s3.rank002 ' /layers/003/wq$'
has s3.rank002 ' /layers/004/w2$'
hasnt s3.rank002 ' /embedding$'
hasnt s3.rank002 ' /final_norm$'
hasnt s3.rank002 ' /tokenizer/'
hasnt s3.rank002 ' /layers/00[012]/'
has s3.rank002 '^total: 18 datasets'
has s3.rank002 '^tokenizer: +none'

has s3.rank000 '^rank +0 of 3 '
has s3.rank000 '^layers +\[0,1\) \(split 1,2,2\)'
has s3.rank000 ' /embedding$'
has s3.rank000 ' /final_norm$'
has s3.rank000 ' /tokenizer/piece_bytes$'
has s3.rank000 '^  bos_id +1 '
hasnt s3.rank000 ' /layers/00[1-4]/'

has s3.rank001 '^layers +\[1,3\) \(split 1,2,2\)'
has s2.rank000 '^layers +\[0,2\) \(split 2,3\)'
has s2.rank001 '^layers +\[2,5\) \(split 2,3\)'
has x3.rank001 '^layers +\[2,3\) \(split 2,1,2\)'

fp=$(fingerprint s3.rank000)
echo "fingerprint $fp"
echo "$fp" | grep -Eq '^[0-9a-f]{16}$' || fail "fingerprint '$fp' is not 16 hex digits"
for f in s2.rank000 s2.rank001 s3.rank001 s3.rank002 x3.rank001; do
  [ "$(fingerprint $f)" = "$fp" ] || fail "$f.h5 has fingerprint $(fingerprint $f), not $fp"
done
[ "$(fingerprint o3.rank001)" != "$fp" ] || fail "another model has the same fingerprint"
echo PASS

#!/bin/sh
# usage: export.sh MDI_CONVERT STORIES260K.h5 DIR
#
# mdi_convert export-llama2c: the converted stories260K.h5 exports to the
# shipped models/stories260K.bin (header and weights byte for byte; the RoPE
# tables within one ulp, see compare_llama2c.py) and to models/tok512.bin
# byte for byte.  Random models with a shared and a separate classifier make
# the round trip export -> mdi_convert llama2c with bit-identical tensors and
# tokenizer.  Bad uses fail with one message and leave no file.
set -u
convert=$1
model=$2
dir=$3
here=$(cd "$(dirname "$0")" && pwd)
src=${MDI_SOURCE_DIR:-$here/../..}
expect_fail=$here/../support/expect_fail.sh
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
# h5diff exits 0 for objects it cannot compare: that counts as a difference
same() {
  log=$(h5diff -r "$1" "$2" 2>&1)
  rc=$?
  echo "$log" | grep -qi "not comparable" && return 1
  [ $rc -eq 0 ] || return 1
  [ "$(echo "$log" | grep -c '^0 differences found$')" -ge "$3" ]
}

"$convert" export-llama2c "$model" "$dir/s.bin" --tokenizer-out "$dir/s.tok" || fail "export stories260K.h5"
python3 "$here/compare_llama2c.py" "$src/models/stories260K.bin" "$dir/s.bin" || fail "s.bin != stories260K.bin"
cmp "$src/models/tok512.bin" "$dir/s.tok" || fail "s.tok != tok512.bin"

# round trips; attributes, datasets and tokenizer members all compared
roundtrip() { # NAME MIN_COMPARED RANDOM_ARGS...
  name=$1 min=$2
  shift 2
  "$convert" random -q "$@" "$dir/$name.h5" || fail "random $*"
  "$convert" export-llama2c -q "$dir/$name.h5" "$dir/$name.bin" --tokenizer-out "$dir/$name.tok" ||
    fail "export $name.h5"
  "$convert" llama2c -q "$dir/$name.bin" --tokenizer "$dir/$name.tok" "$dir/$name.back.h5" ||
    fail "llama2c $name.bin"
  same "$dir/$name.h5" "$dir/$name.back.h5" "$min" || fail "$name: the round trip changed something: $log"
  echo "$name: round trip identical"
}
# objects compared: 3 layers * 9 + embedding, final_norm (+ classifier) datasets,
# 4 tokenizer datasets, 13 root and 3 tokenizer attributes
roundtrip shared 49 --dim 48 --hidden-dim 100 --layers 3 --heads 6 --kv-heads 2 --vocab 300 --seq-len 64 --seed 1
roundtrip separate 50 --dim 48 --hidden-dim 100 --layers 3 --heads 6 --kv-heads 2 --vocab 300 --seq-len 64 \
  --classifier separate --seed 2
h5dump -A "$dir/separate.back.h5" | grep -A4 'ATTRIBUTE "shared_classifier"' | grep -q '(0): 0' ||
  fail "separate classifier lost in the round trip"
# the legacy file: a negative vocab_size, the classifier after the RoPE tables
python3 - "$dir/separate.bin" <<'PY' || fail "separate.bin layout"
import struct, sys
d = open(sys.argv[1], "rb").read()
h = struct.unpack("<7i", d[:28])
dim, hid, L, nh, nkv, v, seq = h
kv = dim // nh * nkv
floats = -v * dim + L * (2 * dim + 2 * dim * dim + 2 * kv * dim + 3 * hid * dim) + dim + seq * (dim // nh) - v * dim
assert v == -300 and len(d) == 28 + 4 * floats, (h, len(d))
PY

# bad uses
bad() {
  want=$1
  shift
  sh "$expect_fail" --one-error "$@" >"$dir/log" 2>&1 || { cat "$dir/log"; fail "$*"; }
  grep -q "^exit status: $want\$" "$dir/log" || { cat "$dir/log"; fail "exit status is not $want: $*"; }
}
"$convert" split -q "$model" --ranks 2 "$dir/part" || fail "split"
bad 1 'part\.rank000\.h5 is one rank.s part of a split model' \
  "$convert" export-llama2c "$dir/part.rank000.h5" "$dir/x.bin"
bad 1 'shared\.h5: output is the input file' "$convert" export-llama2c "$dir/shared.h5" "$dir/shared.h5"
bad 2 'export-llama2c: --tokenizer-out .*x\.bin is also the checkpoint.s name' \
  "$convert" export-llama2c "$model" "$dir/x.bin" --tokenizer-out "$dir/x.bin"
bad 2 'export-llama2c: expected IN\.h5 and OUT\.bin' "$convert" export-llama2c "$model"
bad 1 'missing\.h5: cannot open model file' "$convert" export-llama2c "$dir/missing.h5" "$dir/x.bin"
[ -e "$dir/x.bin" ] && fail "a failed export left x.bin"
echo PASS

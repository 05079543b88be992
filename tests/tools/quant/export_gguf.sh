#!/bin/sh
# usage: export_gguf.sh MDI_CONVERT STORIES260K.h5 KMIX.h5 DIR
#
# mdi_convert export-gguf, then mdi_convert gguf of what it wrote: the same
# model file back, float32 (stories260K) and quantized (kmix: every block
# type, kept as blocks) alike; bad uses fail with one error line.
set -u
convert=$1
stories=$2
kmix=$3
dir=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
# h5diff exits 0 for objects it cannot compare: that counts as a difference
same() {
  log=$(h5diff "$1" "$2" "$3" "$3" 2>&1)
  rc=$?
  echo "$log" | grep -qi "not comparable" && return 1
  [ $rc -eq 0 ]
}
for m in stories kmix; do
  eval src=\$$m
  "$convert" export-gguf -q "$src" "$dir/$m.gguf" || fail "export-gguf $m"
  "$convert" gguf -q "$dir/$m.gguf" "$dir/$m.back.h5" || fail "gguf of the exported $m"
  for obj in /embedding /final_norm /layers /tokenizer; do
    same "$src" "$dir/$m.back.h5" $obj || fail "$m: $obj differs after export-gguf and gguf: $log"
  done
done
# the blocks keep their types through GGUF
"$convert" info "$dir/kmix.back.h5" | grep -Eq '^  Q5_K +\[128\]\[256\] +22528 +5\.5  /layers/000/wk$' ||
  fail "kmix: /layers/000/wk is not Q5_K after the round trip"
expect() { # REGEX ARGS...
  sh "$here/../../support/expect_fail.sh" --one-error "$@" >"$dir/log" 2>&1 || { cat "$dir/log"; fail "$*"; }
}
"$convert" split -q "$stories" --ranks 2 "$dir/s" || fail "split"
expect 's\.rank001\.h5 is one rank.s part of a split model; export the whole model file' \
  "$convert" export-gguf "$dir/s.rank001.h5" "$dir/out.gguf"
expect 'export-gguf: expected IN\.h5 and OUT\.gguf' "$convert" export-gguf "$stories"
[ -e "$dir/out.gguf" ] && fail "a failed export left its output"
echo PASS

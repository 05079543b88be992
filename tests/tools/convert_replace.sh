#!/bin/sh
# usage: convert_replace.sh MDI_CONVERT STORIES260K.h5 DIR
#
# Every mdi_convert subcommand that writes a file writes OUT.tmp and renames
# it over OUT when complete, so:
#  - a program that has OUT open (a running job reading its model) keeps
#    reading the old file: OUT is replaced, never truncated under it;
#  - a conversion that fails half-way leaves an earlier OUT as it was;
#  - neither leaves OUT.tmp behind.
set -u
convert=$1
model=$2
dir=$3
here=$(cd "$(dirname "$0")" && pwd)
src=${MDI_SOURCE_DIR:-$here/../..}
models=$src/models
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
old='the previous contents of this file'

# replaced NAME OUT CHECK ARGS...: run `mdi_convert ARGS...` (which writes
# OUT) while OUT, holding $old, is open for reading; CHECK (a command given
# OUT) must accept the new OUT.
replaced() {
  name=$1 out=$2 check=$3
  shift 3
  echo "$old" > "$out" || exit 1
  exec 3< "$out"
  "$convert" "$@" || fail "$name: mdi_convert $*"
  [ "$(cat <&3)" = "$old" ] || fail "$name: $out was overwritten in place under a reader"
  exec 3<&-
  [ -e "$out.tmp" ] && fail "$name: $out.tmp was left behind"
  $check "$out" || fail "$name: the new $out is not what $1 writes"
  echo "ok: $name replaces $out"
}
is_h5() { "$convert" info "$1" > "$1.info" 2>&1 || { cat "$1.info"; return 1; }; }
is_gguf() { [ "$(head -c 4 "$1")" = GGUF ]; }
is_bin() { [ "$(wc -c < "$1")" -gt 100000 ]; }

replaced llama2c "$dir/a.h5" is_h5 llama2c -q "$models/stories260K.bin" --tokenizer "$models/tok512.bin" "$dir/a.h5"
replaced gguf "$dir/b.h5" is_h5 gguf -q "$models/stories260K.gguf" "$dir/b.h5"
replaced random "$dir/c.h5" is_h5 random -q --dim 64 --hidden-dim 96 --layers 2 --heads 4 --vocab 320 --seq-len 64 --seed 3 "$dir/c.h5"
replaced quantize "$dir/d.h5" is_h5 quantize -q --type q8_0 "$model" "$dir/d.h5"
replaced export-gguf "$dir/e.gguf" is_gguf export-gguf -q "$model" "$dir/e.gguf"
# export-llama2c writes two files; the tokenizer is replaced the same way
echo "$old" > "$dir/f.tok" || exit 1
exec 4< "$dir/f.tok"
replaced export-llama2c "$dir/f.bin" is_bin export-llama2c -q "$model" "$dir/f.bin" --tokenizer-out "$dir/f.tok"
[ "$(cat <&4)" = "$old" ] || fail "export-llama2c: f.tok was overwritten in place under a reader"
exec 4<&-
cmp -s "$dir/f.tok" "$models/tok512.bin" || fail "export-llama2c: f.tok is not tok512.bin"
[ -e "$dir/f.tok.tmp" ] && fail "export-llama2c: f.tok.tmp was left behind"

# a conversion that fails while writing (a Q8_0 block with a NaN scale is
# found when its tensor is copied) leaves the earlier OUT as it was
python3 "$here/make_bad_input.py" gguf_nan_scale "$models" "$dir/bad.gguf" || exit 1
echo "$old" > "$dir/g.h5" || exit 1
"$convert" gguf -q "$dir/bad.gguf" "$dir/g.h5" 2> "$dir/g.err" && fail "gguf of bad.gguf succeeded"
grep -q 'NaN or infinite' "$dir/g.err" || { cat "$dir/g.err"; fail "gguf of bad.gguf: not the NaN scale error"; }
[ "$(cat "$dir/g.h5")" = "$old" ] || fail "a failed gguf conversion changed or removed the earlier g.h5"
[ -e "$dir/g.h5.tmp" ] && fail "a failed gguf conversion left g.h5.tmp behind"
echo "ok: a failed conversion leaves the earlier output as it was"

# OUT.tmp is checked like OUT: never a FIFO or a device replaced, never an input
mkfifo "$dir/h.h5.tmp" || exit 1
"$convert" gguf -q "$models/stories260K.gguf" "$dir/h.h5" 2> "$dir/h.err" && fail "gguf onto h.h5 with a FIFO h.h5.tmp succeeded"
grep -q 'h\.h5\.tmp: output is a FIFO' "$dir/h.err" || { cat "$dir/h.err"; fail "h.h5.tmp: not the FIFO error"; }
[ -p "$dir/h.h5.tmp" ] || fail "the FIFO h.h5.tmp was replaced"
[ -e "$dir/h.h5" ] && fail "h.h5 was written"
cp "$models/stories260K.gguf" "$dir/i.h5.tmp" || exit 1
"$convert" gguf -q "$dir/i.h5.tmp" "$dir/i.h5" 2> "$dir/i.err" && fail "gguf of i.h5.tmp onto i.h5 succeeded"
grep -q 'i\.h5\.tmp: output is the input file' "$dir/i.err" || { cat "$dir/i.err"; fail "i.h5.tmp: not the input error"; }
cmp -s "$dir/i.h5.tmp" "$models/stories260K.gguf" || fail "the input i.h5.tmp was modified"
echo "ok: OUT.tmp is checked like OUT"
exit 0

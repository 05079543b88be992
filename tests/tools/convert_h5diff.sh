#!/bin/sh
# usage: convert_h5diff.sh MDI_CONVERT
#
# Cross-check with the HDF5 tools: the three shipped stories260K files
# convert to models whose weight datasets h5diff finds identical, the
# tokenizer scores too (the pieces differ on purpose: BOS/EOS are spelled
# "<s>"/"</s>" in the GGUF), and whose root attributes h5dump shows.
set -u
convert=$1
here=$(cd "$(dirname "$0")" && pwd)
models=${MDI_SOURCE_DIR:-$here/../..}/models
dir=${MDI_BINARY_DIR:-/tmp}/tests/convert_h5diff
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$convert" llama2c "$models/stories260K.bin" --tokenizer "$models/tok512.bin" "$dir/legacy.h5" ||
  fail "legacy conversion"
"$convert" llama2c "$models/stories260K.v1.bin" --tokenizer "$models/tok512.bin" "$dir/v1.h5" ||
  fail "version 1 conversion"
"$convert" gguf "$models/stories260K.gguf" "$dir/gguf.h5" || fail "GGUF conversion"

# h5diff exits 0 for objects it cannot compare (other shape or type): that
# counts as a difference here
same() {
  log=$(h5diff "$dir/$1" "$dir/$2" "$3" "$3" 2>&1)
  rc=$?
  echo "$log" | grep -qi "not comparable" && return 1
  return $rc
}
for other in v1 gguf; do
  for obj in /embedding /layers /final_norm /tokenizer/scores /tokenizer/stop_ids; do
    same legacy.h5 "$other.h5" "$obj" || fail "h5diff legacy.h5 $other.h5 $obj: $log"
  done
done
# the comparison must notice a difference, or the checks above prove nothing
same legacy.h5 gguf.h5 /tokenizer/piece_offsets && fail "no difference seen in the BOS/EOS pieces"
same legacy.h5 gguf.h5 /tokenizer/piece_bytes && fail "no difference seen in the piece bytes"
for f in legacy v1 gguf; do
  h5dump -A "$dir/$f.h5" > "$dir/$f.attrs" || fail "h5dump -A $f.h5"
  grep -q '"mdi-llm"' "$dir/$f.attrs" || fail "$f.h5: no format attribute"
  "$convert" info "$dir/$f.h5" > "$dir/$f.info" || fail "mdi_convert info $f.h5"
done
grep -q '^seq_len  *2048' "$dir/gguf.info" || fail "gguf.h5 seq_len is not the GGUF's 2048"
grep -q '^seq_len  *512' "$dir/legacy.info" || fail "legacy.h5 seq_len is not 512"
echo PASS

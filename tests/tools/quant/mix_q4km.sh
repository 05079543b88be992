#!/bin/sh
# usage: mix_q4km.sh MDI_CONVERT STORIES260K.h5 LLAMACPP_Q4KM.h5 DIR
#
# mdi_convert quantize --type q4_k_m gives each matrix the type llama-quantize
# gives it in a Q4_K_M file, and the same blocks: stories260K quantized here
# against llama.cpp's Q4_K_M of it (tests/data/quant, imported), layer by
# layer (w2, whose rows of 172 are not whole blocks, is float32 here and F16
# in llama.cpp's file, so it is left out; so is the classifier, which
# llama.cpp's stories260K.gguf keeps apart from the embedding).
set -u
convert=$1
stories=$2
theirs=$3
dir=$4
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
"$convert" quantize -q --type q4_k_m "$stories" "$dir/q4km.h5" || fail "quantize --type q4_k_m"
"$convert" info "$dir/q4km.h5" >"$dir/info.txt" || fail "info"
grep -Eq '^quantization +Q4_K_M$' "$dir/info.txt" || fail "no quantization = Q4_K_M"
# Q4_K falls back to Q5_0 on rows of 64; attn_v of layers 2 and 4 (use_more_bits) Q6_K -> Q8_0
for l in 0 1 2 3 4; do
  for m in wq wk wv wo w1 w3; do
    log=$(h5diff "$dir/q4km.h5" "$theirs" /layers/00$l/$m /layers/00$l/$m 2>&1) ||
      fail "/layers/00$l/$m differs from llama.cpp's Q4_K_M: $log"
  done
done
grep -Eq '^  Q8_0 +\[32\]\[64\] .* /layers/002/wv$' "$dir/info.txt" || fail "layer 2's wv is not Q8_0"
grep -Eq '^  Q5_0 +\[32\]\[64\] .* /layers/001/wv$' "$dir/info.txt" || fail "layer 1's wv is not Q5_0"
echo PASS

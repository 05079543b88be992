#!/bin/sh
# usage: make_gguf_models.sh MDI_CONVERT QDATA DIR
#
# The quantized GGUFs of tests/data/quant (made by llama.cpp,
# tests/reference/quant/make_quant_models.py) as model files (DIR is emptied):
#   kmix.h5                kmix.gguf imported: every block type, one F16 matrix
#   kmix.f32.h5            kmix.h5 dequantized (quantize --type f32): float activations
#   kmix3.rank00[012].h5   kmix.h5 split for 3 ranks
#   stories.h5             stories260K.Q4_K_M.gguf imported
#   stories.f32.h5         stories.h5 dequantized
set -u
convert=$1
data=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
"$convert" gguf -q "$data/kmix.gguf" "$dir/kmix.h5" || fail "gguf kmix.gguf"
"$convert" quantize -q --type f32 "$dir/kmix.h5" "$dir/kmix.f32.h5" || fail "quantize --type f32 kmix.h5"
"$convert" split -q "$dir/kmix.h5" --ranks 3 "$dir/kmix3" || fail "split kmix.h5 --ranks 3"
"$convert" gguf -q "$data/stories260K.Q4_K_M.gguf" "$dir/stories.h5" || fail "gguf stories260K.Q4_K_M.gguf"
"$convert" quantize -q --type f32 "$dir/stories.h5" "$dir/stories.f32.h5" || fail "quantize --type f32 stories.h5"
"$convert" info "$dir/kmix.h5" | grep -E '^quantization|^  (Q[0-9]_[0-9K]|float32) +[0-9]+ weights' || fail "info kmix.h5"
echo PASS

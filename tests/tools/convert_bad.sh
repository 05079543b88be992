#!/bin/sh
# usage: convert_bad.sh KIND MDI_CONVERT
#
# One robustness case of mdi_convert: make the corrupt input KIND (with
# make_bad_input.py, from the shipped models), run the conversion, and
# require a clean failure with one error line naming the file and the
# problem (expect_fail.sh).  No output file may be left behind.
set -u
kind=$1
convert=$2
here=$(cd "$(dirname "$0")" && pwd)
src=${MDI_SOURCE_DIR:-$here/../..}
models=$src/models
dir=${MDI_BINARY_DIR:-/tmp}/tests/convert_bad/$kind
rm -rf "$dir"
mkdir -p "$dir" || exit 1
out=$dir/out.h5
tok=$models/tok512.bin

make() { python3 "$here/make_bad_input.py" "$1" "$models" "$2" || exit 1; }

case $kind in
  missing_file)
    set -- "$dir/missing.bin: cannot open: No such file" llama2c "$dir/missing.bin" --tokenizer "$tok" "$out" ;;
  truncated_model|header_dim0|header_heads|header_layers)
    make "$kind" "$dir/bad.bin"
    case $kind in
      truncated_model) re='bad\.bin: file is 1000 bytes but the llama2\.c legacy header \(dim 64, .*\) needs 1056540' ;;
      header_dim0) re='bad\.bin: llama2\.c legacy header: dim = 0 is out of range' ;;
      header_heads) re='bad\.bin: llama2\.c legacy header: dim = 64 is not a multiple of n_heads = 7' ;;
      header_layers) re='bad\.bin: llama2\.c legacy header: n_layers = -3 is out of range' ;;
    esac
    set -- "$re" llama2c "$dir/bad.bin" --tokenizer "$tok" "$out" ;;
  tok_*)
    make "$kind" "$dir/bad_tok.bin"
    case $kind in
      tok_truncated) re="bad_tok\\.bin: truncated tokenizer: the file \\(5000 bytes\\) ends inside token 385 of the model's 512" ;;
      tok_short) re="bad_tok\\.bin: file is 3000 bytes, too short for the model's 512 tokens" ;;
      tok_absurd_len) re='bad_tok\.bin: token 5 has length 100000' ;;
      tok_negative_len) re='bad_tok\.bin: token 5 has length -5' ;;
      tok_absurd_max) re='bad_tok\.bin: max_token_length = 1073741824 is absurd' ;;
      tok_trailing) re='bad_tok\.bin: 100 bytes follow the model.s 512 tokens' ;;
      *) echo "unknown kind $kind"; exit 1 ;;
    esac
    set -- "$re" llama2c "$models/stories260K.bin" --tokenizer "$dir/bad_tok.bin" "$out" ;;
  gguf_*)
    make "$kind" "$dir/bad.gguf"
    case $kind in
      gguf_magic) re='bad\.gguf: not a GGUF file' ;;
      gguf_version) re='bad\.gguf: GGUF version 7 is not supported' ;;
      gguf_truncated) re='bad\.gguf: tensor [a-z0-9_.]+: data \(.*\) lies beyond the end of the file \(600000 bytes; truncated\?\)' ;;
      gguf_truncated_header) re='bad\.gguf: .*(beyond|past) the end of the file' ;;
      gguf_tensor_count) re='bad\.gguf: absurd tensor count 1099511627776' ;;
      gguf_key_count) re='bad\.gguf: absurd metadata key count 2097152' ;;
      gguf_string_length) re="bad\\.gguf: metadata key 'tokenizer\\.ggml\\.tokens': absurd string length 1099511627776" ;;
      gguf_value_type) re="bad\\.gguf: metadata key 'general\\.name' has unknown value type 77" ;;
      gguf_tensor_type) re='bad\.gguf: tensor blk\.0\.attn_q\.weight has type 99 \(unknown\)' ;;
      gguf_quantized) re='bad\.gguf: tensor blk\.0\.attn_q\.weight has type 16 \(IQ2_XXS\), which mdi-llm does not run' ;;
      gguf_ternary) re='bad\.gguf: tensor blk\.0\.attn_q\.weight has type 35 \(TQ2_0\), which mdi-llm does not run' ;;
      gguf_nan_min_k) re='bad\.gguf: tensor blk\.0\.attn_q\.weight \(for /layers/000/wq\), row 1, block 0: a Q4_K scale is NaN or infinite \(corrupt blocks\)' ;;
      gguf_block_rows) re='bad\.gguf: tensor blk\.0\.attn_q\.weight is Q4_K but its rows of 64 weights are not whole blocks of 256' ;;
      gguf_nan_scale) re='bad\.gguf: tensor blk\.0\.attn_q\.weight \(for /layers/000/wq\), row 0, block 0: a Q8_0 scale is NaN or infinite \(corrupt blocks\)' ;;
      gguf_misaligned) re='bad\.gguf: tensor output_norm\.weight: data offset 131076 is not a multiple of the alignment 32' ;;
      gguf_offset_beyond) re='bad\.gguf: tensor blk\.4\.ffn_norm\.weight: data \(256 bytes at offset [0-9]+\) lies beyond the end of the file' ;;
      gguf_dims) re='bad\.gguf: tensor blk\.2\.attn_k\.weight has dims \[64, 16\] but the metadata implies \[64, 32\]' ;;
      *) echo "unknown kind $kind"; exit 1 ;;
    esac
    set -- "$re" gguf "$dir/bad.gguf" "$out" ;;
  llama2c_given_gguf)
    set -- 'stories260K\.gguf: this is a GGUF file' llama2c "$models/stories260K.gguf" --tokenizer "$tok" "$out" ;;
  out_dir_missing)
    out=$dir/nodir/out.h5
    set -- 'nodir/out\.h5: cannot create the output: directory .*nodir: No such file' \
      llama2c "$models/stories260K.bin" --tokenizer "$tok" "$out" ;;
  out_is_fifo)
    out=$dir/fifo.h5
    mkfifo "$out" || exit 1
    set -- 'fifo\.h5: output is a FIFO, not a regular file; mdi_convert never replaces one' \
      llama2c "$models/stories260K.bin" --tokenizer "$tok" "$out" ;;
  out_is_device|quantize_out_is_device)
    # a node like /dev/null (as root, a rename over it would replace it);
    # without the right to make one, a FIFO stands in
    out=$dir/null.h5
    mknod "$out" c 1 3 2>/dev/null || mkfifo "$out" || exit 1
    re='null\.h5: output is a (device|FIFO), not a regular file; mdi_convert never replaces one'
    if [ "$kind" = out_is_device ]; then
      set -- "$re" llama2c "$models/stories260K.bin" --tokenizer "$tok" "$out"
    else
      set -- "$re" quantize --q8_0 "${MDI_BINARY_DIR:-.}/tests/stories260K.h5" "$out"
    fi ;;
  out_is_input)
    cp "$models/stories260K.gguf" "$dir/model.gguf" && chmod u+w "$dir/model.gguf" || exit 1
    out=$dir/model.gguf
    set -- 'model\.gguf: output is the input file' gguf "$dir/model.gguf" "$out" ;;
  *)
    echo "unknown kind $kind"
    exit 1 ;;
esac

re=$1
shift
sh "$here/../support/expect_fail.sh" --one-error "$re" "$convert" "$@" || exit 1
if [ "$kind" = out_is_input ]; then
  cmp "$out" "$models/stories260K.gguf" || { echo "FAIL: the input was modified"; exit 1; }
elif [ "$kind" = out_is_fifo ] || [ "$kind" = out_is_device ] || [ "$kind" = quantize_out_is_device ]; then
  [ -p "$out" ] || [ -c "$out" ] || { echo "FAIL: $out was replaced by a regular file"; exit 1; }
elif [ -e "$out" ]; then
  echo "FAIL: $out was left behind"
  exit 1
fi
exit 0

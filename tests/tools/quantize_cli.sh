#!/bin/sh
# usage: quantize_cli.sh MDI_CONVERT STORIES260K.h5 QDIR DIR
#
# mdi_convert quantize as the other subcommands see its output (QDIR is
# make_quantized.sh's): `info` lists the Q8_0 matrices with their bits per
# weight and the quantization attribute and finds the layout complete, for
# the whole file and for per-rank files; `split` copies the blocks (and
# their type) unchanged into their owner's file; `export-llama2c` refuses a
# quantized model.  Bad uses fail with one error line, exit status 1 (bad
# input) or 2 (command line), and leave neither an output nor its temporary.
set -u
convert=$1
model=$2
qdir=$3
dir=$4
here=$(cd "$(dirname "$0")" && pwd)
expect_fail=$here/../support/expect_fail.sh
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
info() { "$convert" info "$qdir/$1.h5" > "$dir/$1.info" 2>&1 || { cat "$dir/$1.info"; fail "info $1.h5"; }; }
has() { grep -Eq -- "$2" "$dir/$1.info" || { cat "$dir/$1.info"; fail "$1.h5: info does not show /$2/"; }; }
hasnt() { grep -Eq -- "$2" "$dir/$1.info" && fail "$1.h5: info shows /$2/"; return 0; }
# h5diff exits 0 for objects it cannot compare: that counts as a difference
same() {
  log=$(h5diff "$1" "$2" "$3" "$3" 2>&1)
  rc=$?
  echo "$log" | grep -qi "not comparable" && return 1
  [ $rc -eq 0 ]
}

# --- info: the whole file (stories260K: shared classifier, so /embedding is Q8_0;
# w2's rows of 172 are not whole blocks of 32 and stay float32)
info q8
sed -n '1,22p;/^total/,$p' "$dir/q8.info"
has q8 '^quantization +Q8_0$'
has q8 '^  Q8_0 +\[512\]\[64\] +34816 +8\.5  /embedding$'
has q8 '^  Q8_0 +\[64\]\[64\] +4352 +8\.5  /layers/000/wq$'
has q8 '^  float32 +\[64\]\[172\] +44032 +32  /layers/004/w2$'
has q8 '^  float32 +\[64\] +256 +32  /layers/004/ffn_norm$'
has q8 '^total: 51 datasets, [0-9]+ bytes; 260032 weight parameters in 440032 bytes, 13\.5378 bits per weight$'
has q8 '^  Q8_0 +204288 weights in 217056 bytes, 8\.5000 bits per weight$'
has q8 '^  float32 +55744 weights in 222976 bytes, 32\.0000 bits per weight$'
hasnt q8 '_scale$'
has q8 '^layout: every weight dataset is present with the expected shape$'
# a separate classifier: /classifier and /embedding are both Q8_0
info small.q8
has small.q8 '^  Q8_0 +\[320\]\[64\] +21760 +8\.5  /embedding$'
has small.q8 '^  Q8_0 +\[320\]\[64\] +21760 +8\.5  /classifier$'
has small.q8 '^layout: every weight dataset is present'

# --- split: per-rank files of the quantized model
for r in 0 1 2; do info q8s3.rank00$r; has q8s3.rank00$r '^quantization +Q8_0$'; done
has q8s3.rank000 '^  Q8_0 +\[512\]\[64\] +34816 +8\.5  /embedding$'
has q8s3.rank000 ' /layers/000/w1$'
hasnt q8s3.rank000 ' /layers/00[1-4]/'
has q8s3.rank002 '^layers +\[3,5\) \(split 1,2,2\)'
has q8s3.rank002 '^  Q8_0 +\[172\]\[64\] +11696 +8\.5  /layers/004/w3$'
has q8s3.rank002 '^  float32 +\[64\]\[172\] +44032 +32  /layers/004/w2$'
hasnt q8s3.rank002 ' /layers/00[012]/'
hasnt q8s3.rank002 ' /embedding'
has q8s3.rank002 '^layout: every weight dataset of layers \[3,5\) is present'
fp=$(sed -n 's/^model_fingerprint *//p' "$dir/q8s3.rank000.info")
for r in 1 2; do
  [ "$(sed -n 's/^model_fingerprint *//p' "$dir/q8s3.rank00$r.info")" = "$fp" ] || fail "q8s3.rank00$r: another fingerprint"
done
# the datasets are the whole file's, unchanged (their type attributes too)
same "$qdir/q8.h5" "$qdir/q8s3.rank000.h5" /embedding || fail "rank 0: /embedding differs: $log"
same "$qdir/q8.h5" "$qdir/q8s3.rank000.h5" /tokenizer || fail "rank 0: /tokenizer differs: $log"
for l in 0 1 2 3 4; do
  r=$(( l == 0 ? 0 : (l < 3 ? 1 : 2) ))
  same "$qdir/q8.h5" "$qdir/q8s3.rank00$r.h5" /layers/00$l || fail "rank $r: /layers/00$l differs: $log"
  [ "$(h5dump -a /layers/00$l/wq/quant_type "$qdir/q8s3.rank00$r.h5" | grep -c '"Q8_0"')" = 1 ] ||
    fail "rank $r: /layers/00$l/wq lost its quant_type"
done
# norms and the tokenizer are the float model's
same "$model" "$qdir/q8.h5" /final_norm || fail "/final_norm changed: $log"
same "$model" "$qdir/q8.h5" /tokenizer || fail "/tokenizer changed: $log"
echo "info and split: OK (fingerprint $fp)"

# --- bad uses: one error line, the exit status, no output
expect() { # STATUS REGEX ARGS...
  want=$1
  shift
  sh "$expect_fail" --one-error "$@" >"$dir/log" 2>&1 || { cat "$dir/log"; fail "mdi_convert $*"; }
  grep -q "^exit status: $want\$" "$dir/log" || { cat "$dir/log"; fail "exit status is not $want: $*"; }
  sed -n 's/^  | //p' "$dir/log"
}
"$convert" split -q "$model" --ranks 2 "$dir/f" || fail "split the float model"
expect 1 'q8\.h5 is already quantized \(root attribute quantization = "Q8_0"\)' \
  "$convert" quantize --type q4_k "$qdir/q8.h5" "$dir/out.h5"
expect 1 'f\.rank001\.h5 is one rank.s part of a split model; quantize the whole model file, then split' \
  "$convert" quantize --q8_0 "$dir/f.rank001.h5" "$dir/out.h5"
expect 1 'nope\.h5: cannot open model file: No such file' "$convert" quantize --q8_0 "$dir/nope.h5" "$dir/out.h5"
expect 1 'out\.h5: cannot create the output: directory .*/nodir: No such file' \
  "$convert" quantize --q8_0 "$model" "$dir/nodir/out.h5"
cp "$model" "$dir/in.h5" || exit 1
expect 1 'in\.h5: output is the input file' "$convert" quantize --q8_0 "$dir/in.h5" "$dir/in.h5"
expect 2 'quantize: say which type: --type q4_k' "$convert" quantize "$model" "$dir/out.h5"
expect 2 'quantize: --type q3_k: not a type' "$convert" quantize --type q3_k "$model" "$dir/out.h5"
expect 2 'quantize: --q8_0 and --type q4_0 disagree' "$convert" quantize --q8_0 --type q4_0 "$model" "$dir/out.h5"
expect 2 'quantize: expected IN\.h5 and OUT\.h5' "$convert" quantize --q8_0 "$model"
expect 2 'quantize: unknown option .--q4_0.' "$convert" quantize --q4_0 "$model" "$dir/out.h5"
expect 1 'q8\.h5 is quantized \(root attribute quantization = "Q8_0"\); llama2\.c.s run\.c reads float32 weights only' \
  "$convert" export-llama2c "$qdir/q8.h5" "$dir/out.bin" --tokenizer-out "$dir/out.tok"
ls "$dir" | grep -Eq '^out|\.tmp$' && fail "a failed command left a file: $(ls "$dir")"
cmp -s "$model" "$dir/in.h5" || fail "a failed quantize changed its input"
"$convert" quantize --help | grep -q '^usage: mdi_convert quantize --type TYPE IN\.h5 OUT\.h5' || fail "quantize --help"
"$convert" --help | grep -q '^  quantize --type TYPE IN\.h5 OUT\.h5' || fail "mdi_convert --help lacks quantize"
echo PASS

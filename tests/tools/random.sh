#!/bin/sh
# usage: random.sh MDI_CONVERT MDI_PIPELINE STORIES260K.h5 DIR
#
# mdi_convert random: the same seed gives the same file contents (every
# dataset and attribute: h5dump's text is identical, h5diff finds nothing),
# another seed other weights; the presets have their shapes (mdi_convert
# info; the large ones with one layer and a small vocabulary, which leaves
# every other shape as it is); the parameter counts of --preset list; the
# tokenizer (tok512.bin when it fits, else a synthesized one); a random
# model runs in mdi_pipeline; bad options fail with one message.
set -u
convert=$1
pipeline=$2
model=$3
dir=$4
here=$(cd "$(dirname "$0")" && pwd)
src=${MDI_SOURCE_DIR:-$here/../..}
expect_fail=$here/../support/expect_fail.sh
rm -rf "$dir"
mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
info() { "$convert" info "$dir/$1.h5" > "$dir/$1.info" 2>&1 || { cat "$dir/$1.info"; fail "info $1.h5"; }; }
has() { grep -Eq -- "$2" "$dir/$1.info" || fail "$1.h5: info does not show /$2/"; }
# h5diff exits 0 for objects it cannot compare: that counts as a difference
same() {
  log=$(h5diff -r "$dir/$1.h5" "$dir/$2.h5" 2>&1)
  rc=$?
  echo "$log" | grep -qi "not comparable" && return 1
  [ $rc -eq 0 ] || return 1
  # every compared object says so: stories260K's 47 weight and 4 tokenizer
  # datasets, 13 root and 3 tokenizer attributes
  [ "$(echo "$log" | grep -c '^0 differences found$')" -ge 67 ]
}

# --- determinism
"$convert" random -q --preset stories260K --seed 3 "$dir/a.h5" || fail "random seed 3"
"$convert" random -q --preset stories260K --seed 3 "$dir/b.h5" || fail "random seed 3 again"
"$convert" random -q --preset stories260K --seed 4 "$dir/c.h5" || fail "random seed 4"
same a b || fail "same seed, different contents: $log"
h5dump "$dir/a.h5" | tail -n +2 > "$dir/a.dump" && h5dump "$dir/b.h5" | tail -n +2 > "$dir/b.dump" ||
  fail "h5dump"
cmp -s "$dir/a.dump" "$dir/b.dump" || fail "same seed, different h5dump text"
grep -q 'DATASET "wq"' "$dir/a.dump" || fail "h5dump shows no data"
same a c && fail "seeds 3 and 4 give the same weights"
h5diff "$dir/a.h5" "$dir/c.h5" /layers/000/wq /layers/000/wq | grep -q '^4096 differences found' ||
  fail "seeds 3 and 4: /layers/000/wq should differ everywhere"
h5diff "$dir/a.h5" "$dir/c.h5" /final_norm /final_norm >/dev/null || fail "norm weights must all be 1"

# --- shapes
info a
has a '^dim +64$'
has a '^hidden_dim +172$'
has a '^n_layers +5$'
has a '^n_kv_heads +4 \(kv_dim 32\)$'
has a '^vocab_size +512$'
has a '^seq_len +512$'
has a '^shared_classifier +1$'
has a '\[32\]\[64\] +8192 +32  /layers/004/wk$'
has a '^layout: every weight dataset is present'
has a '^  byte pieces +256 of 256'
run_preset() { # NAME FILE ARGS...
  name=$1 file=$2
  shift 2
  "$convert" random -q --preset "$name" "$@" "$dir/$file.h5" || fail "random --preset $name"
  info "$file"
  rm -f "$dir/$file.h5"
  has "$file" '^layout: every weight dataset is present'
}
run_preset stories15M s15 --layers 1
has s15 '^dim +288$'
has s15 '^n_heads +6 \(head_size 48\)$'
has s15 '^seq_len +256$'
has s15 '\[32000\]\[288\] .* /embedding$'
has s15 '\[768\]\[288\] .* /layers/000/w1$'
run_preset stories110M s110 --layers 1 --vocab 300
has s110 '^n_heads +12 \(head_size 64\)$'
has s110 '^n_kv_heads +12 \(kv_dim 768\)$'
has s110 '^seq_len +1024$'
has s110 '\[768\]\[2048\] .* /layers/000/w2$'
run_preset nanollama304m nano --layers 1 --vocab 300
has nano '^n_heads +16 \(head_size 64\)$'
has nano '^shared_classifier +0$'
has nano '\[2816\]\[1024\] .* /layers/000/w3$'
has nano '\[300\]\[1024\] .* /classifier$'
run_preset tinyllama1.1b tiny --layers 1 --vocab 300
has tiny '^n_kv_heads +4 \(kv_dim 256\)$'
has tiny '^seq_len +2048$'
has tiny '\[256\]\[2048\] .* /layers/000/wk$'
has tiny '\[5632\]\[2048\] .* /layers/000/w1$'
has tiny '\[300\]\[2048\] .* /classifier$'
"$convert" random --preset list > "$dir/list" || fail "--preset list"
cat "$dir/list"
for line in 'stories260K .* 260032 ' 'stories15M .* 15191712 ' 'stories110M .* 109529856 ' \
    'nanollama304m .* separate +373867520 ' 'tinyllama1\.1b .* separate +1100048384 '; do
  grep -Eq "^$line" "$dir/list" || fail "--preset list: no line /$line/"
done

# --- tokenizers: tok512.bin when it fits, else synthesized (with a warning)
"$convert" random -q --preset stories260K --tokenizer "$src/models/tok512.bin" "$dir/t.h5" ||
  fail "random --tokenizer"
h5diff -r "$dir/t.h5" "$model" /tokenizer /tokenizer >/dev/null || fail "the tokenizer is not tok512.bin's"
"$convert" random --preset stories260K --vocab 300 --tokenizer "$src/models/tok512.bin" "$dir/u.h5" \
  2> "$dir/u.err" || fail "random --tokenizer with another vocabulary"
grep -q 'tok512\.bin does not fit vocab_size 300 .*synthesized' "$dir/u.err" || fail "no warning: $(cat "$dir/u.err")"
info u
has u '^  vocab_size +300$'
has u '^  bos_id +1 "<s>"$'
has u '^  eos_id +2 "</s>"$'
has u '^  stop_ids +1 2$'
has u '^  byte pieces +256 of 256'

# --- a random model runs
"$pipeline" -m "$dir/a.h5" -n 8 -t 0 -q -o "$dir/a.jsonl" > /dev/null || fail "mdi_pipeline on a random model"
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); sys.exit(not r["tokens"])' \
  "$dir/a.jsonl" || fail "no tokens generated: $(cat "$dir/a.jsonl")"

# --- bad options
bad() {
  want=$1
  shift
  sh "$expect_fail" --one-error "$@" >"$dir/log" 2>&1 || { cat "$dir/log"; fail "$*"; }
  grep -q "^exit status: $want\$" "$dir/log" || { cat "$dir/log"; fail "exit status is not $want: $*"; }
}
bad 2 'random: --preset gpt5: unknown preset' "$convert" random --preset gpt5 "$dir/x.h5"
bad 2 'random: --hidden-dim is required without --preset' "$convert" random --dim 64 "$dir/x.h5"
bad 2 'random: random model: dim = 64 is not a multiple of n_heads = 7' "$convert" random --preset stories260K --heads 7 "$dir/x.h5"
bad 2 'random: --seed: "-1" is not a non-negative integer' "$convert" random --preset stories260K --seed -1 "$dir/x.h5"
bad 2 'random: --classifier tied: expected shared or separate' "$convert" random --preset stories260K --classifier tied "$dir/x.h5"
bad 1 '--vocab 100: a synthesized tokenizer needs at least 259 pieces' "$convert" random --preset stories260K --vocab 100 "$dir/x.h5"
[ -e "$dir/x.h5" ] && fail "a failed run left x.h5"
echo PASS

#!/bin/sh
# usage: make_journals.sh DIR MDI_PIPELINE MDI_CONVERT MODEL
#
# The journals of the --resume cases of tests/bad/CMakeLists.txt: one run
# (-p Once --n-samples 4 -n 8, stopped after two sequences: its journal is
# cut to two lines), one copy per case (each case locks its own file), a
# journal of an earlier version (lines end at "seed") and a Q8_0 copy of
# the model (the same hyperparameters and tokenizer, other weights).
set -eu
dir=$1 pipeline=$2 convert=$3 model=$4
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
"$pipeline" -m "$model" -p Once --n-samples 4 -n 8 -q -o full.jsonl > /dev/null
head -n 2 full.jsonl > base.jsonl
for c in seed prompt max_tokens temperature top_p top_k max_seq_len model; do cp base.jsonl "$c.jsonl"; done
# the same lines as an earlier version wrote them, one with another seed
sed 's/,"model":.*}$/}/' base.jsonl > old.jsonl
sed 's/,"model":.*}$/}/; 2s/"seed":[0-9]*/"seed":7/' base.jsonl > old_seed.jsonl
# two models in one journal
sed '2s/"model":"[0-9a-f]*"/"model":"0123456789abcdef"/' base.jsonl > two_models.jsonl
"$convert" quantize --q8_0 "$model" q8.h5 > /dev/null 2>&1

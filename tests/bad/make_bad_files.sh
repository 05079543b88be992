#!/bin/sh
# usage: make_bad_files.sh DIR MODEL
#
# Writes the paths of the bad-file cases of tests/bad/CMakeLists.txt into
# DIR: a FIFO, a loop of symbolic links, a config file with a byte order
# mark, a link to the model, per-rank names that are whole models, a prompt
# file, a config file and a copy of the model to lock.
set -eu
dir=$1
model=$2
rm -rf "$dir"
mkdir -p "$dir/sub"
cd "$dir"
mkfifo fifo.h5
ln -s loop_b.h5 loop_a.h5
ln -s loop_a.h5 loop_b.h5
printf '\357\273\277[model]\npath = %s\n' "$model" > bom.ini
printf '[model]\npath = %s\n[run]\nmax_new_tokens = 4\n' "$model" > run.ini
ln -s "$model" model_link.h5
for r in 000 001 002; do ln -s "$model" "whole.rank$r.h5"; done
printf 'Once upon a time\n' > prompts.txt
cp "$model" locked.h5

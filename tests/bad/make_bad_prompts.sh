#!/bin/sh
# usage: make_bad_prompts.sh DIR
#
# Writes the damaged prompt files of the mdi_pipeline robustness tests
# (tests/bad/CMakeLists.txt) into DIR.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
printf 'Once upon a time\nThe dog \377 ran\n' > invalid_utf8.txt
printf 'Once upon a time\nThe dog\000ran\n' > nul_byte.txt
: > empty.txt
printf '{"prompt": "Once upon a time"}\nthis is not JSON\n' > not_json.jsonl
printf '{"prompt": "Once upon a time", "colour": "red"}\n' > unknown_key.jsonl
printf '{"prompt": 42}\n' > prompt_not_string.jsonl
mkdir -p a_directory.txt

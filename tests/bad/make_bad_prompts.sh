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
printf '{"prompt_tokens": [1, 2.5]}\n' > prompt_tokens_not_ids.jsonl
printf '{"prompt_tokens": []}\n' > prompt_tokens_empty.jsonl
printf '{"prompt_tokens": [1, 512]}\n' > prompt_tokens_beyond_vocab.jsonl
printf '{"prompt": "Once", "prompt_tokens": [1]}\n' > prompt_and_tokens.jsonl
mkdir -p a_directory.txt
printf '{"prompt": "Once upon a time"}\n{"prompt": "x"} {"prompt": "y"}\n' > trailing_text.jsonl
printf '{"prompt": "Once", "seed": 3, "seed": 4}\n' > duplicate_key.jsonl
printf '{"prompt": "Once", "seed": 9223372036854775808}\n' > seed_range.jsonl
# one line of 1 MiB (no newline), and 4096 short prompts
head -c 1048576 /dev/zero | tr '\0' 'a' > huge.txt
i=0; while [ $i -lt 4096 ]; do echo "Once"; i=$((i + 1)); done > 4096.txt
printf '{"prompt": "Once \\ud800 upon"}\n' > lone_surrogate.jsonl
printf '{"prompt": "Once\tupon"}\n' > raw_tab.jsonl

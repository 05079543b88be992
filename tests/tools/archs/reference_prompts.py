#!/usr/bin/env python3
"""The prompts of a llama.cpp reference (tests/data/archs/FAMILY/reference.json) as a
mdi_pipeline prompt file, and llama.cpp's greedy ids as the expected journal.

usage: reference_prompts.py REFERENCE.json MODEL PROMPTS.jsonl EXPECTED.jsonl

MODEL names the entry of "models" (model.f32.gguf).  Each prompt line gives the
prompt's ids as "prompt_tokens" (fed as they are: the ids already start with BOS
when the family adds one), temperature 0 and max_tokens = the reference's 24 ids;
EXPECTED holds {"id", "prompt_tokens", "tokens"} for tests/support/compare_jsonl.py.
Standard library only."""
import json
import sys


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    ref = json.load(open(sys.argv[1], encoding="utf-8"))
    results = ref["models"][sys.argv[2]]["results"]
    with open(sys.argv[3], "w", encoding="utf-8") as p, open(sys.argv[4], "w", encoding="utf-8") as e:
        for i, r in enumerate(results):
            ids = r["generated_ids"]
            p.write(json.dumps({"prompt_tokens": r["prompt_ids"], "max_tokens": len(ids), "temperature": 0}) + "\n")
            e.write(json.dumps({"id": i, "prompt_tokens": r["prompt_ids"], "tokens": ids}) + "\n")


if __name__ == "__main__":
    main()

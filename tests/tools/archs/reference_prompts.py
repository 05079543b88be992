#!/usr/bin/env python3
"""The prompts of a llama.cpp reference (tests/data/archs/FAMILY/reference.json) as a
mdi_pipeline prompt file, and llama.cpp's greedy ids as the expected journal.

usage: reference_prompts.py REFERENCE.json MODEL PROMPTS.jsonl EXPECTED.jsonl [--text]

MODEL names the entry of "models" (model.f32.gguf).  Each prompt line gives the
prompt's ids as "prompt_tokens" (fed as they are: the ids already start with BOS
when the family adds one), temperature 0 and max_tokens = the reference's 24 ids;
EXPECTED holds {"id", "prompt_tokens", "tokens"} for tests/support/compare_jsonl.py.
With --text the lines give the prompt's text instead ("prompt"), and EXPECTED
also holds the text: the tokenizer must make the ids llama.cpp made of it.
Standard library only."""
import json
import sys


def main():
    text = sys.argv[5:] == ["--text"]
    if len(sys.argv) != 5 + text:
        sys.exit(__doc__)
    ref = json.load(open(sys.argv[1], encoding="utf-8"))
    results = ref["models"][sys.argv[2]]["results"]
    with open(sys.argv[3], "w", encoding="utf-8") as p, open(sys.argv[4], "w", encoding="utf-8") as e:
        for i, (prompt, r) in enumerate(zip(ref["prompts"], results)):
            ids = r["generated_ids"]
            line = {"prompt": prompt["text"]} if text else {"prompt_tokens": r["prompt_ids"]}
            p.write(json.dumps(dict(line, max_tokens=len(ids), temperature=0), ensure_ascii=False) + "\n")
            want = {"id": i, "prompt_tokens": r["prompt_ids"], "tokens": ids}
            if text:
                want["prompt"] = prompt["text"]
            e.write(json.dumps(want, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

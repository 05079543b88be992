#!/usr/bin/env python3
"""A copy of a Hugging Face checkpoint directory whose tokenizer.json uses GPT-2's
ByteLevel pre-tokenizer (no normalizer, no post-processor, merges always applied).

usage: bytelevel_copy.py SRC_DIR OUT_DIR

The architecture tests (tests/tools/archs) feed token ids, so the tokenizer takes no
part in their comparisons; the copy lets `mdi_convert hf` convert the checkpoints of
families whose tokenizer.json it does not read (Llama 3 and Qwen split regexes).  The
other files are symbolic links to the originals.  Standard library only."""
import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(src):
        link = os.path.join(out, name)
        if name == "tokenizer.json":
            continue
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(src, name), link)
    tok = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
    tok["normalizer"] = None
    tok["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tok["post_processor"] = None
    tok["model"]["ignore_merges"] = False
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks chat prompts of the Llama test checkpoint (chat format llama2):

    check_chat.py CKPT_DIR SYSTEM USER JOURNAL... [--raw JOURNAL] [--text JOURNAL]

Every journal's first sequence must have the prompt Llama 2 chat's template
renders for [system SYSTEM, user USER] and the prompt tokens of that text
with <s> as the BOS token and the rest encoded by Hugging Face's definition
(tests/reference/hf_common.py), and the journals must agree on the generated
tokens (the --chat run, a JSONL "messages" line).  The --raw journal has the
rendered text as a raw prompt with --parse-special: its typed <s> is the BOS
token, after the BOS the tokenizer adds itself, as Hugging Face's
encode(text, add_special_tokens=True) does.  The --text journal has the same
raw prompt without --parse-special: the typed <s> is text, encoded by the
model as any other characters (tokenizers' split_special_tokens=True)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "reference"))
import hf_common  # noqa: E402


def first_line(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(f.readline())


def main():
    ckpt, system, user, journals = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    raw = as_text = None
    if "--text" in journals:
        as_text = journals[journals.index("--text") + 1]
        journals = journals[:journals.index("--text")]
    if "--raw" in journals:
        raw = journals[journals.index("--raw") + 1]
        journals = journals[:journals.index("--raw")]
    text = "[INST] <<SYS>>\n%s\n<</SYS>>\n\n%s [/INST]" % (system, user)
    tok = hf_common.Tokenizer(os.path.join(ckpt, "tokenizer.json"), 1)
    want = [1] + tok.encode(text, False)
    bad = 0
    runs = [first_line(p) for p in journals]
    for path, r in zip(journals, runs):
        if r["prompt"] != "<s>" + text:
            print("%s: prompt %r, expected %r" % (path, r["prompt"], "<s>" + text))
            bad += 1
        if r["prompt_tokens"] != want:
            print("%s: prompt_tokens %s, expected %s" % (path, r["prompt_tokens"], want))
            bad += 1
        if r["tokens"] != runs[0]["tokens"]:
            print("%s: tokens %s differ from %s's %s" % (path, r["tokens"], journals[0], runs[0]["tokens"]))
            bad += 1
    if raw and first_line(raw)["prompt_tokens"] != [1] + want:
        print("%s: prompt_tokens %s, expected %s" % (raw, first_line(raw)["prompt_tokens"], [1] + want))
        bad += 1
    if as_text:
        want_text = [1] + tok.encode("<s>" + text, False)
        got = first_line(as_text)["prompt_tokens"]
        if got != want_text or 1 in got[1:]:
            print("%s: prompt_tokens %s, expected %s" % (as_text, got, want_text))
            bad += 1
    print("%d journals, %d prompt tokens, %d generated: %s" % (len(runs) + (raw is not None) + (as_text is not None),
                                                               len(want),
                                                               len(runs[0]["tokens"]), "ok" if not bad else
                                                               "%d differences" % bad))
    sys.exit(1 if bad else 0)


main()

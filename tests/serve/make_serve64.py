#!/usr/bin/env python3
"""Writes tests/data/serve64.jsonl: 64 requests for the concurrent-client test
(tests/serve/openai_test.py), every one with its own seed and settings, so the
same lines run offline (mdi_pipeline -f) and through the server give the same
tokens.  Deterministic: rerunning it rewrites the same file.

usage: make_serve64.py OUT.jsonl"""
import json
import sys

SUBJECTS = ["Once upon a time", "Lily and Ben", "The little dog", "A big red ball", "Tom was sad because",
            "The sun was shining", "Mom said", "One day, a cat"]
ENDINGS = ["", " went to the park", " found a box", " wanted to play", " saw a bird", " and the tree",
           " liked to sing", " was very happy"]

with open(sys.argv[1], "w") as f:
    for i in range(64):
        line = {"prompt": SUBJECTS[i % 8] + ENDINGS[(i * 3) % 8], "max_tokens": 8 + (i * 37) % 113, "seed": 1000 + 7 * i}
        if i % 4 == 0:
            line["temperature"] = 0
        else:
            line["temperature"] = [0.7, 1.0, 1.2][i % 3]
            line["top_p"] = [0.9, 1.0, 0.8, 0.95][i % 4]
        if i % 5 == 1:
            line["top_k"] = 20
        f.write(json.dumps(line) + "\n")

#!/usr/bin/env python3
"""A run of a model imported from a quantized GGUF, against the GGUF.

usage: check_quant_run.py GGUF STATS JOURNAL [--ids "ID ..."]

 - every rank's weights_bytes (--stats) equals the bytes of its share of the
   GGUF's tensors as stored, F16 tensors counted twice (they are widened to
   float32): quantized blocks take their file size in memory;
 - with --ids: the first sequence's generated tokens are these (llama.cpp's
   greedy ids, tests/data/quant/refs.txt)."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench", "lib"))
from gguf_bytes import F16, gguf_tensors, layer_of  # noqa: E402

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("stats")
    ap.add_argument("journal")
    ap.add_argument("--ids")
    a = ap.parse_args()
    tensors = gguf_tensors(a.gguf)
    ranks = json.load(open(a.stats))["ranks"]
    errors = []
    for r in ranks:
        first, last = r["layers"]
        want = gguf_bytes = 0
        for name, (t, size) in tensors.items():
            layer = layer_of(name)
            if (first <= layer < last) if layer is not None else r["rank"] == 0:
                gguf_bytes += size
                want += 2 * size if t == F16 else size
        have = r["weights_bytes"]
        print(f"rank {r['rank']}: layers [{first},{last}) weights_bytes {have:.0f}, its GGUF tensors {gguf_bytes} "
              f"bytes ({have / gguf_bytes:.4f}x; F16 widened: expected {want})")
        if have != want:
            errors.append(f"rank {r['rank']}: weights_bytes {have:.0f}, expected {want}")
    if a.ids is not None:
        rec = json.loads(open(a.journal).readline())
        ids = [int(x) for x in a.ids.split()]
        print(f"generated {rec['tokens']}\nllama.cpp {ids}")
        if rec["tokens"] != ids:
            errors.append("the greedy tokens are not llama.cpp's")
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


main()

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
import re
import struct
import sys

# ggml type -> (block, bytes)
SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 12: (256, 144),
         13: (256, 176), 14: (256, 210)}
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def gguf_tensors(path):
    """{name: (ggml type, bytes as stored)}"""
    data = open(path, "rb").read()
    pos = 24
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)

    def u32():
        nonlocal pos
        pos += 4
        return struct.unpack_from("<I", data, pos - 4)[0]

    def u64():
        nonlocal pos
        pos += 8
        return struct.unpack_from("<Q", data, pos - 8)[0]

    def string():
        nonlocal pos
        n = u64()
        pos += n
        return data[pos - n:pos].decode()

    def skip(t):
        nonlocal pos
        if t == 8:
            string()
        elif t == 9:
            et, n = u32(), u64()
            for _ in range(n):
                skip(et)
        else:
            pos += SCALAR[t]

    for _ in range(n_kv):
        string()
        skip(u32())
    out = {}
    for _ in range(n_tensors):
        name = string()
        dims = [u64() for _ in range(u32())]
        t = u32()
        u64()
        count = 1
        for d in dims:
            count *= d
        block, size = SIZES[t]
        out[name] = (t, count // block * size)
    return out


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
            m = re.match(r"blk\.(\d+)\.", name)
            mine = first <= int(m.group(1)) < last if m else r["rank"] == 0
            if mine:
                gguf_bytes += size
                want += 2 * size if t == 1 else size
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

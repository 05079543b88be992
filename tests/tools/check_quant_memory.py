#!/usr/bin/env python3
"""Compare the weights each rank holds in two runs of the same split.

usage: check_quant_memory.py FLOAT_STATS Q8_STATS --max-ratio R

Both --stats files come from runs at the same np and split, one on the
float32 model, one on its Q8_0 quantization.  Every stage rank (rank > 0)
must hold less than R times the float32 run's weights_bytes (Q8_0 stores
1.0625 bytes per weight against 4, plus what stays float32); rank 0's ratio
is printed as well."""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("float_stats")
    ap.add_argument("q8_stats")
    ap.add_argument("--max-ratio", type=float, required=True)
    a = ap.parse_args()
    fr = json.load(open(a.float_stats))["ranks"]
    qr = json.load(open(a.q8_stats))["ranks"]
    bad = 0
    if [r["layers"] for r in fr] != [r["layers"] for r in qr]:
        sys.exit(f"the runs are split differently: {[r['layers'] for r in fr]} vs {[r['layers'] for r in qr]}")
    for f, q in zip(fr, qr):
        ratio = q["weights_bytes"] / f["weights_bytes"]
        stage = f["rank"] > 0
        ok = ratio < a.max_ratio or not stage
        print(f"rank {f['rank']}: layers {f['layers']} float32 {f['weights_bytes']:.0f} bytes, Q8_0 "
              f"{q['weights_bytes']:.0f} bytes: {ratio:.3f}x{'' if stage else ' (rank 0, not checked)'}"
              f"{'' if ok else f' >= {a.max_ratio}'}")
        bad += not ok
    print("OK" if not bad else f"{bad} ranks hold too much")
    sys.exit(1 if bad else 0)


main()

#!/usr/bin/env python3
"""Check the files of a benchmark run (bench/quick.sh, bench/scaling.sh) for
shape only, never for speed.

usage: check_bench.py DIR [--min-rows N] [--min-png N]

 - results.csv has the header of results.json's "columns" and one row per
   entry of its "runs"; per-rank fields hold one value per rank;
 - results.json loads and every run has the required fields;
 - DIR/plots holds at least --min-png files that start with the PNG signature."""
import argparse
import csv
import glob
import json
import os
import sys

REQUIRED = ["model", "mode", "ranks", "link", "B", "M", "sequences", "repeat", "retries", "tok_per_s",
            "wall_s", "generated_tokens", "compute_s", "recv_wait_s", "send_wait_s", "idle_s",
            "weights_bytes", "peak_rss_bytes"]
PER_RANK = ["hosts", "layer_first", "layer_last", "weights_bytes", "kv_bytes", "peak_rss_bytes", "compute_s",
            "recv_wait_s", "send_wait_s", "idle_s"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--min-rows", type=int, default=1)
    ap.add_argument("--min-png", type=int, default=2)
    a = ap.parse_args()
    errors = []

    def expect(cond, msg):
        if not cond:
            errors.append(msg)

    doc = json.load(open(os.path.join(a.dir, "results.json")))
    runs, columns = doc.get("runs"), doc.get("columns")
    expect(isinstance(runs, list) and isinstance(columns, list), "results.json: no runs or columns list")
    runs, columns = runs or [], columns or []
    expect(len(runs) >= a.min_rows, f"results.json: {len(runs)} runs, expected at least {a.min_rows}")
    for i, r in enumerate(runs):
        for f in REQUIRED:
            expect(f in r and r[f] is not None, f"results.json run {i}: no {f}")
        n = r.get("ranks")
        for f in PER_RANK:
            expect(isinstance(r.get(f), list) and len(r[f]) == n, f"results.json run {i}: {f} is not a list of {n}")
        expect(r.get("generated_tokens", 0) > 0, f"results.json run {i}: no generated tokens")

    with open(os.path.join(a.dir, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    expect(len(rows) >= 1 and rows[0] == columns, "results.csv: the header differs from results.json's columns")
    body = rows[1:]
    expect(len(body) == len(runs), f"results.csv: {len(body)} rows but results.json has {len(runs)} runs")
    if rows:
        col = {c: k for k, c in enumerate(rows[0])}
        for i, row in enumerate(body):
            expect(len(row) == len(rows[0]), f"results.csv row {i + 1}: {len(row)} fields, header has {len(rows[0])}")
            if len(row) != len(rows[0]) or "ranks" not in col:
                continue
            n = int(row[col["ranks"]])
            float(row[col["tok_per_s"]])
            for f in PER_RANK:
                if f in col:
                    expect(len(row[col[f]].split(";")) == n, f"results.csv row {i + 1}: {f} has not {n} values")

    pngs = sorted(glob.glob(os.path.join(a.dir, "plots", "*.png")))
    expect(len(pngs) >= a.min_png, f"plots: {len(pngs)} PNG files, expected at least {a.min_png}")
    for p in pngs:
        with open(p, "rb") as f:
            expect(f.read(8) == PNG_MAGIC, f"{p}: not a PNG file")

    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print(f"{a.dir}: {len(runs)} runs in results.csv and results.json, {len(pngs)} PNG plots")


if __name__ == "__main__":
    main()

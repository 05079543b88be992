#!/usr/bin/env python3
"""Report of bench/archs.sh: per model and batch size, the median tokens/s of the
rounds, the FLOPs per generated token and GFLOP/s, and each preset's GFLOP/s over
its Llama 2 twin's: the median (and range) over rounds of the ratio of the pair's
runs in the same round.

usage: archs_report.py DIR --steps S --threads T --layers L --vocab V

Reads DIR/runs.jsonl (one line per run: model, preset, batch, stats file, info
file); writes DIR/archs.csv and DIR/archs.json and prints the table.  FLOPs per
token: 2 per multiply-add of every matrix product of a layer (wq, wk, wv, wo,
w1, w2, w3 from the shapes `mdi_convert info` lists), 4 x n_heads x head_size
per attended position (scores and weighted sum; the mean context of a
generated token, window included), 2 x vocab x dim for the classifier.
Standard library only."""
import csv
import json
import re
import statistics
import sys


def model_shape(info_path):
    """dims from `mdi_convert info`: dim, hidden_dim, n_layers, n_heads, head_size, kv_dim,
    vocab_size, window, and the matrices' element counts of layer 0."""
    text = open(info_path, encoding="utf-8").read()
    num = lambda key: int(re.search(r"^%s +(\d+)" % key, text, re.M).group(1))  # noqa: E731
    head = int(re.search(r"^n_heads +\d+ \(head_size (\d+)\)", text, re.M).group(1))
    kv = int(re.search(r"^n_kv_heads +\d+ \(kv_dim (\d+)\)", text, re.M).group(1))
    window = re.search(r"sliding_window (\d+)", text)
    mats = 0
    for m in re.finditer(r"\[(\d+)\]\[(\d+)\] +\d+ +(?:[\d.]+ +)?/layers/000/w[qkvo123]\b", text):
        mats += int(m.group(1)) * int(m.group(2))
    if mats == 0:
        sys.exit("%s: no matrix of layer 0 in the listing" % info_path)
    return dict(dim=num("dim"), hidden=num("hidden_dim"), layers=num("n_layers"), heads=num("n_heads"),
                head=head, kv_dim=kv, vocab=num("vocab_size"), window=int(window.group(1)) if window else 0,
                layer_mats=mats, options=(re.search(r"^options +(.*)$", text, re.M) or [None, "none"])[1])


def flops_per_token(s, prompt, steps):
    """Mean FLOPs of one generated token over positions prompt .. prompt+steps-1."""
    ctx = [p + 1 for p in range(prompt - 1, prompt - 1 + steps)]
    if s["window"]:
        ctx = [min(c, s["window"]) for c in ctx]
    attention = 4 * s["heads"] * s["head"] * statistics.mean(ctx)
    return s["layers"] * (2 * s["layer_mats"] + attention) + 2 * s["vocab"] * s["dim"]


def main():
    a = sys.argv[1:]
    if len(a) < 1:
        sys.exit(__doc__)
    out = a[0]
    opt = lambda name: int(a[a.index(name) + 1])  # noqa: E731
    steps, threads = opt("--steps"), opt("--threads")
    runs = [json.loads(l) for l in open(out + "/runs.jsonl", encoding="utf-8") if l.strip()]
    groups, per_round = {}, {}
    for r in runs:
        st = json.load(open(r["stats"], encoding="utf-8"))
        key = (r["preset"], r["model"], r["batch"])
        g = groups.setdefault(key, {"info": r["info"], "tps": [], "gen": []})
        g["tps"].append(st["tok_per_s"])
        g["gen"].append(st["generated_tokens"])
        per_round[(r["preset"], r["model"].endswith("-twin"), r["batch"], r["round"])] = st["tok_per_s"]
    rows = []
    for (preset, model, batch), g in groups.items():
        s = model_shape(g["info"])
        f = flops_per_token(s, 8, steps)
        tps = statistics.median(g["tps"])
        rows.append(dict(preset=preset, model=model, variant="twin" if model.endswith("-twin") else "preset",
                         batch=batch, threads=threads, rounds=len(g["tps"]), tok_per_s=round(tps, 2),
                         mflop_per_token=round(f / 1e6, 2), gflop_per_s=round(tps * f / 1e9, 3),
                         options=s["options"], generated_tokens=min(g["gen"])))
    by = {(r["preset"], r["variant"], r["batch"]): r for r in rows}
    for r in rows:
        twin = by.get((r["preset"], "twin", r["batch"]))
        r["per_flop_vs_twin"] = None
        if r["variant"] != "preset" or not twin:
            continue
        # the median over rounds of the pair's ratio, each pair measured back to back
        flops = r["mflop_per_token"] / twin["mflop_per_token"]
        ratios = [per_round[(r["preset"], False, r["batch"], k)] / per_round[(r["preset"], True, r["batch"], k)] * flops
                  for (p, tw, b, k) in per_round if p == r["preset"] and not tw and b == r["batch"]
                  and (p, True, b, k) in per_round]
        r["per_flop_vs_twin"] = round(statistics.median(ratios), 3)
        r["per_flop_vs_twin_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
    rows.sort(key=lambda r: (r["batch"], r["preset"], r["variant"] != "preset"))
    fields = ["preset", "variant", "batch", "threads", "rounds", "tok_per_s", "mflop_per_token", "gflop_per_s",
              "per_flop_vs_twin", "generated_tokens", "options"]
    with open(out + "/archs.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows({k: r[k] for k in fields} for r in rows)
    with open(out + "/archs.json", "w", encoding="utf-8") as f:
        json.dump({"steps": steps, "threads": threads, "rows": rows}, f, indent=1)
    print("%-13s %-6s %3s %9s %10s %8s %9s %15s  %s" % ("preset", "model", "B", "tok/s", "MFLOP/tok", "GFLOP/s",
                                                         "vs twin", "(range)", "options"))
    for r in rows:
        rng = r.get("per_flop_vs_twin_range")
        print("%-13s %-6s %3d %9.1f %10.1f %8.2f %9s %15s  %s" % (
            r["preset"], r["variant"], r["batch"], r["tok_per_s"], r["mflop_per_token"], r["gflop_per_s"],
            "%.3f" % r["per_flop_vs_twin"] if r["per_flop_vs_twin"] else "",
            "%.2f-%.2f" % tuple(rng) if rng else "", r["options"]))


if __name__ == "__main__":
    main()

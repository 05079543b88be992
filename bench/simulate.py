#!/usr/bin/env python3
"""Discrete-event model of the mdi-llm ring: predicts tokens/s and per-rank
idle time for N devices, any B (sequences per micro-batch) and M
(micro-batches in flight).

The model
  - Rank r owns c_r layers (the split); a trip of a micro-batch costs rank r
    c_r * t_layer(B) seconds, and rank 0 also t_head(B) (embedding, final
    norm, classifier, sampling).  Each rank handles micro-batches one at a
    time, in arrival order.
  - A message from rank r to r+1 carries rows x dim float32 plus a header;
    the link delivers it in latency + bytes / bandwidth, one message at a
    time per link (the way back to rank 0 carries one row per sequence).
  - M micro-batches circulate; each makes `trips` trips and produces B tokens
    per trip.  The run ends when the last trip returns to rank 0.

Calibration comes from a measured 1-rank run of the same model, B and CPU
quota: its compute time per trip is L * t_layer + t_head, split between the
two in proportion to their weights (layer parameters vs vocab x dim), as a
decode step reads each weight once.  The link's bandwidth is its emulated
rate times an efficiency (TCP over a tbf-shaped veth reaches ~95 % of the
rate: `cluster.sh linktest` measured 95-96 Mbit/s bulk and a 24 KiB
message in 2.06 ms against 1.97 ms of serialization on the 100 Mbit/s
profile, docs/RESULTS.md), and its latency is a parameter (no latency is
emulated on this kernel).

  simulate.py validate RESULTS.json [--out CSV]   measured vs predicted, np 2..N
  simulate.py predict RESULTS.json --ranks "8 16 32 64" [--link-mbit X] [--layers L] [--out CSV]
  simulate.py run --t-layer S --t-head S --layers L --dim D --ranks N --batch B
                  --micro-batches M --trips T [--link-mbit X]
RESULTS.json is bench/scaling.sh's results.json.  Python standard library only.
"""
import argparse
import csv
import heapq
import json
import statistics
import sys

HEADER_BYTES = 64  # the message's fixed header area (docs/PIPELINE.md), rounded
DEFAULT_EFFICIENCY = 0.95
DEFAULT_LATENCY_S = 0.0002


def auto_split(n_layers, n_ranks, layer_cost, head_cost):
    """Layers per rank as mdi_pipeline's --split auto plans them
    (src/model/split.c): rank 0 takes k0 layers plus the head, the stages share
    the rest evenly, the first ones taking the remainder; the smallest k0
    among equally good plans."""
    if n_ranks == 1:
        return [n_layers]
    best = None
    for k0 in range(0, n_layers - (n_ranks - 1) + 1):
        rest, stages = n_layers - k0, n_ranks - 1
        counts = [k0] + [rest // stages + (1 if i < rest % stages else 0) for i in range(stages)]
        worst = max(head_cost + k0 * layer_cost, max(c * layer_cost for c in counts[1:]))
        if best is None or worst < best[0]:
            best = (worst, counts)
    return best[1]


def simulate(split, t_layer, t_head, dim, B, M, trips, bw_bytes_s, latency_s, rows_out=None):
    """Returns (makespan_s, per-rank busy seconds).  Event-driven: a message
    is (time it is ready at a rank, micro-batch, trip)."""
    n = len(split)
    rows_out = rows_out or B
    compute = [c * t_layer + (t_head if r == 0 else 0.0) for r, c in enumerate(split)]
    # message sizes: forward links carry B rows; the last link carries one row per sequence
    size = [HEADER_BYTES + (rows_out if r == n - 1 else B) * dim * 4 for r in range(n)]
    rank_free = [0.0] * n      # when each rank can start its next micro-batch
    link_free = [0.0] * n      # link r: rank r -> rank r+1 (mod n)
    busy = [0.0] * n
    queue = []                 # (ready time, seq, rank, micro-batch, trip)
    seq = 0
    for mb in range(M):
        heapq.heappush(queue, (0.0, seq, 0, mb, 0))
        seq += 1
    end = 0.0
    while queue:
        ready, _, r, mb, trip = heapq.heappop(queue)
        start = max(ready, rank_free[r])
        finish = start + compute[r]
        rank_free[r] = finish
        busy[r] += compute[r]
        if n == 1:
            arrive = finish
        else:
            send = max(finish, link_free[r])
            link_free[r] = send + size[r] / bw_bytes_s
            arrive = link_free[r] + latency_s
        nxt = (r + 1) % n
        if nxt == 0:
            # rank 0 samples on arrival (its t_head covers that); the trip is done
            trip += 1
            end = max(end, arrive)
            if trip >= trips:
                continue
        heapq.heappush(queue, (arrive, seq, nxt, mb, trip))
        seq += 1
    return end, busy


def params_of(row):
    dim, hid, L = row["dim"], row["hidden_dim"], row["n_layers"]
    kv = dim * row["n_kv_heads"] // row["n_heads"]
    layer = 2 * dim + 2 * dim * dim + 2 * kv * dim + 3 * hid * dim
    head = row["vocab_size"] * dim
    return layer, head


def calibrate(one_rank_row):
    """t_layer and t_head from a 1-rank run: compute per trip = L t_layer + t_head."""
    layer, head = params_of(one_rank_row)
    per_trip = one_rank_row["compute_s"][0] / one_rank_row["trips"]
    L = one_rank_row["n_layers"]
    t_layer = per_trip / (L + head / layer)
    return t_layer, t_layer * head / layer


def predict_row(row, t_layer, t_head, efficiency, latency_s, ranks=None, split=None):
    n = ranks or row["ranks"]
    layer, head = params_of(row)
    if split is None:
        split = auto_split(row["n_layers"], n, layer, head)
    # recurrent runs keep one micro-batch per device; a single-sequence run stays at M = 1
    M = row["M"] if ranks is None or row.get("mode") == "single" else max(row["M"], n)
    trips_per_mb = row["trips"] / row["M"]
    bw = (row.get("link_mbit") or 1e6) * 1e6 / 8 * efficiency
    makespan, busy = simulate(split, t_layer, t_head, row["dim"], row["B"], M, round(trips_per_mb), bw,
                              latency_s)
    tokens = row["generated_tokens"] * (M / row["M"])
    return tokens / makespan, [(makespan - b) / makespan for b in busy], split


def load_runs(path):
    doc = json.load(open(path))
    return doc["runs"] if isinstance(doc, dict) else doc


def group_key(r):
    # runs of heterogeneous devices or of a forced split are not comparable
    # with a 1-rank calibration: they form groups of their own
    return (r["model"], r.get("mode", "pipeline"), r["link"], r["B"], r.get("cpu_quota"), r["sequences"],
            tuple(r.get("device_quota") or ()), r.get("split_arg") or "auto")


def calibrated_groups(path):
    """(key, rows, base, t_layer, t_head) per group of comparable runs that
    has a 1-rank run: base is the median 1-rank run, the calibration."""
    groups = {}
    for r in load_runs(path):
        groups.setdefault(group_key(r), []).append(r)
    for key, rows in sorted(groups.items(), key=lambda kv: str(kv[0])):
        ones = sorted((r for r in rows if r["ranks"] == 1), key=lambda r: r["tok_per_s"])
        if ones:
            base = ones[len(ones) // 2]
            yield (key, rows, base) + calibrate(base)


def cmd_validate(a):
    out = []
    for key, rows, _, t_layer, t_head in calibrated_groups(a.results):
        for n in sorted({r["ranks"] for r in rows}):
            pts = [r for r in rows if r["ranks"] == n]
            measured = statistics.median(r["tok_per_s"] for r in pts)
            split = [l - f for f, l in zip(pts[0]["layer_first"], pts[0]["layer_last"])]
            pred, idle, _ = predict_row(pts[0], t_layer, t_head, a.efficiency, a.latency, split=split)
            err = 100.0 * (pred - measured) / measured
            out.append({"model": key[0], "mode": key[1], "link": key[2], "B": key[3], "cpu_quota": key[4], "ranks": n,
                        "M": pts[0]["M"], "split": ",".join(map(str, split)), "measured_tok_s": round(measured, 2),
                        "predicted_tok_s": round(pred, 2), "error_pct": round(err, 1),
                        "predicted_idle_fraction": ";".join(f"{x:.2f}" for x in idle)})
    print_table(out, ["model", "mode", "link", "B", "M", "ranks", "split", "measured_tok_s", "predicted_tok_s",
                      "error_pct"])
    for mode in sorted({r["mode"] for r in out}):
        errs = [abs(r["error_pct"]) for r in out if r["ranks"] > 1 and r["mode"] == mode]
        if errs:
            print(f"{mode}: {len(errs)} multi-rank points, mean |error| {statistics.mean(errs):.1f} %, "
                  f"max {max(errs):.1f} %, within 10 %: {sum(e <= 10 for e in errs)}/{len(errs)}")
    write_csv(a.out, out)


def cmd_predict(a):
    out = []
    for key, rows, base, t_layer, t_head in calibrated_groups(a.results):
        link = dict(base)
        if a.layers:
            # a deeper model of the same width: the measured layer and head
            # times, a.layers layers
            link["n_layers"] = a.layers
        if a.link_mbit:
            link["link_mbit"] = a.link_mbit
        elif key[2] != "fast" and rows:
            link["link_mbit"] = max(r.get("link_mbit") or 0 for r in rows) or None
        for n in [int(x) for x in a.ranks.split()]:
            if n - 1 > link["n_layers"]:
                out.append({"model": key[0], "mode": key[1], "link": key[2], "B": key[3], "ranks": n, "M": n,
                            "predicted_tok_s": "", "note": f"more ranks than {link['n_layers']} layers + 1"})
                continue
            pred, idle, split = predict_row(link, t_layer, t_head, a.efficiency, a.latency, ranks=n)
            out.append({"model": key[0], "mode": key[1], "link": key[2], "B": key[3], "ranks": n,
                        "M": base["M"] if key[1] == "single" else max(base["M"], n),
                        "split": ",".join(map(str, split)), "predicted_tok_s": round(pred, 2),
                        "mean_idle_fraction": round(statistics.mean(idle), 3), "note": ""})
    print_table(out, ["model", "mode", "link", "B", "M", "ranks", "split", "predicted_tok_s", "mean_idle_fraction",
                      "note"])
    write_csv(a.out, out)


def cmd_run(a):
    split = auto_split(a.layers, a.ranks, 1.0, a.t_head / a.t_layer)
    bw = a.link_mbit * 1e6 / 8 * a.efficiency if a.link_mbit else 1e15
    makespan, busy = simulate(split, a.t_layer, a.t_head, a.dim, a.batch, a.micro_batches, a.trips, bw, a.latency)
    tokens = a.batch * a.micro_batches * a.trips
    print(f"split {','.join(map(str, split))}: {tokens / makespan:.1f} tok/s, makespan {makespan:.3f} s")
    for r, b in enumerate(busy):
        print(f"  rank {r}: busy {b:.3f} s, idle {makespan - b:.3f} s ({100 * (1 - b / makespan):.0f} %)")


def print_table(rows, cols):
    if not rows:
        print("(no points)")
        return
    width = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(width[c]) for c in cols))


def write_csv(path, rows):
    if not path or not rows:
        return
    cols = list(rows[0].keys())
    for r in rows:
        for c in r:
            if c not in cols:
                cols.append(c)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--efficiency", type=float, default=DEFAULT_EFFICIENCY,
                    help="fraction of the link rate a message gets (default %(default)s)")
    ap.add_argument("--latency", type=float, default=DEFAULT_LATENCY_S,
                    help="seconds per message on a link (default %(default)s)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate")
    v.add_argument("results")
    v.add_argument("--out")
    p = sub.add_parser("predict")
    p.add_argument("results")
    p.add_argument("--ranks", default="8 16 32 64")
    p.add_argument("--link-mbit", type=float)
    p.add_argument("--layers", type=int, help="predict a deeper model of the same layer shape")
    p.add_argument("--out")
    r = sub.add_parser("run")
    for name, typ in [("t-layer", float), ("t-head", float), ("layers", int), ("dim", int), ("ranks", int),
                      ("batch", int), ("micro-batches", int), ("trips", int)]:
        r.add_argument("--" + name, type=typ, required=True)
    r.add_argument("--link-mbit", type=float)
    a = ap.parse_args()
    {"validate": cmd_validate, "predict": cmd_predict, "run": cmd_run}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())

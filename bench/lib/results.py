#!/usr/bin/env python3
"""Rows of the scaling benchmark: one per mdi_pipeline run.

  results.py add ROWS.jsonl --stats STATS.json --info MODEL_INFO.txt [--cpu BEFORE AFTER] KEY=VALUE...
      append one row built from the run's --stats file, the model's
      `mdi_convert info` text, CPU counters taken before and after the
      launch (cluster.sh's mdi_cluster_cpu_snapshot) and the run parameters
  results.py write ROWS.jsonl --meta META.json --csv OUT.csv --json OUT.json
      write the CSV (per-rank fields joined with ';') and the JSON
      ({"meta": ..., "columns": ..., "runs": [...]}, per-rank fields as arrays)
  results.py show ROWS.jsonl|RESULTS.json
      print a short table
  results.py markdown ROWS.jsonl|RESULTS.json
      print Markdown tables shaped like the paper's (model x devices)

Standard library only. The columns are what a pipeline simulator needs to be
fed from measurements: the model's shape, the plan (split, B, M, trips), and
per rank its layers, bytes and where its time went."""
import argparse
import csv
import json
import re
import sys

# (column, kind): kind "s" string, "i" integer, "f" float, "b" boolean, and
# per-rank lists "L<kind>"
COLUMNS = [
    ("model", "s"), ("mode", "s"), ("ranks", "i"), ("link", "s"), ("link_mbit", "f"),
    ("latency_emulated", "b"), ("netns", "b"), ("cpu_quota", "f"), ("device_quota", "Lf"),
    ("split_arg", "s"),
    ("B", "i"), ("M", "i"), ("sequences", "i"), ("new_tokens", "i"), ("max_seq_len", "i"),
    ("temperature", "f"), ("repeat", "i"), ("retries", "i"),
    ("tok_per_s", "f"), ("wall_s", "f"), ("load_s", "f"), ("generated_tokens", "i"),
    ("prompt_tokens", "i"), ("trips", "i"), ("max_rows", "i"), ("split", "s"),
    ("dim", "i"), ("hidden_dim", "i"), ("n_layers", "i"), ("n_heads", "i"), ("n_kv_heads", "i"),
    ("vocab_size", "i"), ("shared_classifier", "b"), ("model_bytes", "i"),
    ("hosts", "Ls"), ("layer_first", "Li"), ("layer_last", "Li"), ("weights_bytes", "Li"),
    ("kv_bytes", "Li"), ("peak_rss_bytes", "Li"), ("compute_s", "Lf"), ("recv_wait_s", "Lf"),
    ("send_wait_s", "Lf"), ("idle_s", "Lf"), ("rank_load_s", "Lf"), ("cpu_s", "Lf"), ("throttled_s", "Lf"),
    ("launch_s", "f"), ("host_busy_s", "f"), ("host_steal_s", "f"), ("host_other_cpu_s", "f"),
    ("idle_wait_s", "f"), ("host_busy_before", "f"),
    ("timestamp", "s"), ("run_dir", "s"),
]
NAMES = [c for c, _ in COLUMNS]
KIND = dict(COLUMNS)


def convert(kind, v):
    if v is None or v == "":
        return None
    if kind == "i":
        return int(float(v))
    if kind == "f":
        return float(v)
    if kind == "b":
        return v in (True, 1, "1", "true", "yes")
    return str(v)


def parse_info(path):
    """The hyperparameters printed by `mdi_convert info`."""
    info = {}
    total = None
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^(dim|hidden_dim|n_layers|n_heads|n_kv_heads|vocab_size|shared_classifier)\s+(\d+)", line)
        if m:
            info[m.group(1)] = int(m.group(2))
        m = re.match(r"^total: \d+ datasets, (\d+) bytes", line)
        if m:
            total = int(m.group(1))
    info["model_bytes"] = total
    return info


def read_snapshot(path):
    snap = {"dev": []}
    for line in open(path):
        w = line.split()
        if not w:
            continue
        if w[0] == "dev":
            snap["dev"].append((w[1], int(w[2]), int(w[3])))
        elif w[0] == "host":
            snap["host"] = (int(w[1]), int(w[2]), int(w[3]))
        elif w[0] == "clock":
            snap["clock"] = float(w[1])
    return snap


def cpu_fields(before, after, quota):
    b, e = read_snapshot(before), read_snapshot(after)
    out = {}
    if "clock" in b and "clock" in e:
        out["launch_s"] = e["clock"] - b["clock"]
    if "host" in b and "host" in e:
        hz = b["host"][2]
        out["host_busy_s"] = (e["host"][0] - b["host"][0]) / hz
        out["host_steal_s"] = (e["host"][1] - b["host"][1]) / hz
    if b["dev"] and len(b["dev"]) == len(e["dev"]):
        cpu = [(y[2] - x[2]) / 1e9 for x, y in zip(b["dev"], e["dev"])]
        out["cpu_s"] = cpu
        if quota:
            out["throttled_s"] = [(y[1] - x[1]) / 1e9 for x, y in zip(b["dev"], e["dev"])]
        if "host_busy_s" in out:
            out["host_other_cpu_s"] = max(0.0, out["host_busy_s"] - sum(cpu))
    return out


def cmd_add(a):
    st = json.load(open(a.stats))
    ranks = st["ranks"]
    row = {
        "tok_per_s": st["tok_per_s"], "wall_s": st["wall_s"], "load_s": st.get("load_s"),
        "generated_tokens": st["generated_tokens"], "prompt_tokens": st["prompt_tokens"],
        "trips": st.get("trips"), "max_rows": st.get("max_rows"), "split": st.get("split"),
        "sequences": st.get("sequences"), "B": st.get("batch"), "M": st.get("micro_batches"),
        "max_seq_len": st.get("max_seq_len"), "ranks": len(ranks),
        "hosts": [r["host"] for r in ranks],
        "layer_first": [r["layers"][0] for r in ranks], "layer_last": [r["layers"][1] for r in ranks],
        "weights_bytes": [r["weights_bytes"] for r in ranks], "kv_bytes": [r["kv_bytes"] for r in ranks],
        "peak_rss_bytes": [r["peak_rss_bytes"] for r in ranks],
        "compute_s": [r["compute_s"] for r in ranks], "recv_wait_s": [r["recv_wait_s"] for r in ranks],
        "send_wait_s": [r["send_wait_s"] for r in ranks], "idle_s": [r["idle_s"] for r in ranks],
        "rank_load_s": [r.get("load_s") for r in ranks],
    }
    row.update(parse_info(a.info))
    if a.cpu:
        quota = any(kv.split("=")[0] in ("cpu_quota", "device_quota") and not kv.endswith("=") for kv in a.params)
        row.update(cpu_fields(a.cpu[0], a.cpu[1], quota))
    for kv in a.params:
        k, _, v = kv.partition("=")
        if k not in KIND:
            sys.exit(f"results.py: unknown column {k}")
        # a per-rank column given on the command line is ';'-joined
        row[k] = (v.split(";") if v else None) if KIND[k].startswith("L") else v
    out = {}
    for name, kind in COLUMNS:
        v = row.get(name)
        if kind.startswith("L"):
            out[name] = [convert(kind[1], x) for x in v] if v is not None else None
        else:
            out[name] = convert(kind, v)
    with open(a.rows, "a") as f:
        f.write(json.dumps(out) + "\n")


def load_rows(path):
    """The rows of ROWS.jsonl, or of a results.json written by `write`."""
    if path.endswith(".json"):
        doc = json.load(open(path))
        return doc["runs"] if isinstance(doc, dict) else doc
    try:
        return [json.loads(l) for l in open(path) if l.strip()]
    except FileNotFoundError:
        return []


def csv_value(kind, v):
    if v is None:
        return ""
    if kind.startswith("L"):
        return ";".join(csv_value(kind[1], x) for x in v)
    if kind == "b":
        return "1" if v else "0"
    if kind == "f":
        return repr(float(v))
    return str(v)


def cmd_write(a):
    rows = load_rows(a.rows)
    meta = json.load(open(a.meta)) if a.meta else {}
    tmp = a.csv + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(NAMES)
        for r in rows:
            w.writerow([csv_value(KIND[n], r.get(n)) for n in NAMES])
    import os
    os.replace(tmp, a.csv)
    doc = {"meta": meta, "columns": NAMES, "runs": rows}
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.json)


def cmd_show(a):
    rows = load_rows(a.rows)
    # "others": cores used by processes other than the devices during the launch
    print(f"{'model':<16} {'mode':<9} {'link':<5} {'np':>2} {'B':>3} {'M':>2} {'seq':>4} {'rep':>3} "
          f"{'retry':>5} {'tok/s':>10} {'wall_s':>8}  max weights/rank  max peak RSS  others  split")
    for r in rows:
        other = r.get("host_other_cpu_s")
        other = f"{other / r['launch_s']:5.2f}" if other is not None and r.get("launch_s") else "    -"
        print(f"{r['model']:<16} {r['mode']:<9} {r['link']:<5} {r['ranks']:>2} {r['B']:>3} {r['M']:>2} "
              f"{r['sequences']:>4} {r['repeat']:>3} {r['retries']:>5} {r['tok_per_s']:>10.2f} {r['wall_s']:>8.3f}"
              f"  {max(r['weights_bytes']) / 1e6:>10.1f} MB {max(r['peak_rss_bytes']) / 1e6:>9.1f} MB  {other}"
              f"  {r.get('split') or ''}{' (' + r['split_arg'] + ')' if r.get('split_arg') not in (None, 'auto') else ''}")


def cmd_markdown(a):
    """Tables shaped like the paper's: model x devices, tokens/s (mean of the
    repeats, min-max) per link, and memory per device."""
    from collections import defaultdict
    rows = load_rows(a.rows)
    models = list(dict.fromkeys(r["model"] for r in rows))
    links = list(dict.fromkeys(r["link"] for r in rows))
    ns = sorted({r["ranks"] for r in rows})

    def cell(vals):
        if not vals:
            return "-"
        m = sum(vals) / len(vals)
        if len(vals) == 1:
            return f"{m:.1f}"
        return f"{m:.1f} ({min(vals):.1f}-{max(vals):.1f})"

    print("Tokens/s, all sequences (mean of the repeats, min-max):\n")
    print("| model | mode | link | " + " | ".join(f"{n} device{'s' if n > 1 else ''}" for n in ns) + " |")
    print("|---|---|---|" + "---|" * len(ns))
    for m in models:
        for mode in ("recurrent", "single"):
            for link in links:
                by = defaultdict(list)
                sel = [r for r in rows if r["model"] == m and r["mode"] == mode and r["link"] == link]
                if not sel:
                    continue
                for r in sel:
                    by[r["ranks"]].append(r["tok_per_s"])
                desc = f"B={sel[0]['B']}, M=ranks" if mode == "recurrent" else "1 sequence"
                print(f"| {m} | {mode} ({desc}) | {link} | " + " | ".join(cell(by.get(n, [])) for n in ns) + " |")
    print("\nMemory per device, largest rank (MiB): weights / peak RSS\n")
    print("| model | " + " | ".join(f"{n} device{'s' if n > 1 else ''}" for n in ns) + " |")
    print("|---|" + "---|" * len(ns))
    for m in models:
        cells = []
        for n in ns:
            sel = [r for r in rows if r["model"] == m and r["ranks"] == n and r["mode"] == "recurrent"]
            if not sel:
                cells.append("-")
                continue
            w = max(max(r["weights_bytes"]) for r in sel) / 2**20
            rss = max(max(r["peak_rss_bytes"]) for r in sel) / 2**20
            cells.append(f"{w:.0f} / {rss:.0f}")
        print(f"| {m} | " + " | ".join(cells) + " |")
    if len({r.get("split_arg") or "auto" for r in rows}) > 1:
        split_table(rows)


def split_table(rows):
    """With several --split choices: tokens/s and the slowest rank per choice,
    for each model, link, device quotas and rank count."""
    from collections import defaultdict
    groups = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["mode"] != "recurrent":
            continue
        quota = "/".join(f"{q:g}" for q in r["device_quota"]) if r.get("device_quota") else "-"
        groups[(r["model"], r["link"], quota, r["ranks"])][r.get("split_arg") or "auto"].append(r)
    print("\nTokens/s by split (mean of the repeats, min-max); layers per rank; compute seconds per rank (mean):\n")
    print("| model | link | device quotas (cores) | devices | --split | layers per rank | tok/s | vs auto | compute_s per rank |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (model, link, quota, n), by in groups.items():
        base = by.get("auto")
        base_m = sum(r["tok_per_s"] for r in base) / len(base) if base else None
        for arg, sel in by.items():
            v = [r["tok_per_s"] for r in sel]
            m = sum(v) / len(v)
            cell = f"{m:.1f}" if len(v) == 1 else f"{m:.1f} ({min(v):.1f}-{max(v):.1f})"
            plans = sorted({r.get("split") or "" for r in sel})
            comp = ["%.1f" % (sum(r["compute_s"][i] for r in sel) / len(sel)) for i in range(n)]
            ratio = f"{m / base_m:.2f}x" if base_m else "-"
            print(f"| {model} | {link} | {quota} | {n} | {arg} | {' or '.join(plans)} | {cell} | {ratio} | "
                  f"{' / '.join(comp)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("add")
    p.add_argument("rows")
    p.add_argument("--stats", required=True)
    p.add_argument("--info", required=True)
    p.add_argument("--cpu", nargs=2, metavar=("BEFORE", "AFTER"))
    p = sub.add_parser("write")
    p.add_argument("rows")
    p.add_argument("--meta")
    p.add_argument("--csv", required=True)
    p.add_argument("--json", required=True)
    p = sub.add_parser("show")
    p.add_argument("rows")
    p = sub.add_parser("markdown")
    p.add_argument("rows")
    # KEY=VALUE words of "add" may follow the options: collect them apart
    a, rest = ap.parse_known_args()
    a.params = [w for w in rest if "=" in w and not w.startswith("-")]
    if len(a.params) != len(rest):
        ap.error("unrecognized arguments: " + " ".join(w for w in rest if w not in a.params))
    if a.params and a.cmd != "add":
        ap.error("KEY=VALUE words only go with 'add'")
    {"add": cmd_add, "write": cmd_write, "show": cmd_show, "markdown": cmd_markdown}[a.cmd](a)


if __name__ == "__main__":
    main()

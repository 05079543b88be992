#!/usr/bin/env python3
"""Data files for the benchmark's gnuplot scripts (bench/plot/*.gp).

  plotdata.py RESULTS.json DATA_DIR PNG_DIR

Writes one whitespace-separated data file per plotted series (first line:
column titles, which the plots use as legend entries) and prints one job per
line for bench/plot.sh: SCRIPT<TAB>gnuplot -e assignments. Repeats of a point
are averaged (min and max kept for error bars). Standard library only."""
import json
import os
import re
import sys
from collections import defaultdict


def safe(s):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(s))


def mean(xs):
    return sum(xs) / len(xs)


def q(s):
    """A gnuplot string literal."""
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def series_label(r, multi_b, multi_m):
    parts = [r["link"]]
    if multi_b:
        parts.append(f"B={r['B']}")
    if multi_m:
        m, n = r["M"], r["ranks"]
        parts.append("M=ranks" if m == n else f"M={m // n}xranks" if m % n == 0 else f"M={m}")
    return " ".join(parts)


def main():
    results, data_dir, png_dir = sys.argv[1:4]
    doc = json.load(open(results))
    rows = doc["runs"] if isinstance(doc, dict) else doc
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(png_dir, exist_ok=True)
    meta = doc.get("meta", {}) if isinstance(doc, dict) else {}
    quota = meta.get("cpu_quota_per_device")
    if isinstance(quota, list):
        device = "devices of " + "/".join(f"{x:g}" for x in quota) + " core"
    else:
        device = f"{quota:g} core per device" if quota else "uncapped ranks"
    jobs = []

    def job(script, out, **kw):
        kw["out"] = os.path.join(png_dir, out)
        args = "; ".join(f"{k}={q(v)}" for k, v in kw.items())
        jobs.append(f"{script}\t{args}")

    rec = [r for r in rows if r["mode"] == "recurrent"]
    single = [r for r in rows if r["mode"] == "single"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    multi_b = len({r["B"] for r in rec}) > 1
    multi_m = len({r["M"] == r["ranks"] for r in rec}) > 1 or len({r["M"] for r in rec if r["M"] != r["ranks"]}) > 1

    speed_files = []
    for model in models:
        mrec = [r for r in rec if r["model"] == model]
        # --- tokens/s vs ranks per series, with the linear line from its 1-rank point
        groups = defaultdict(lambda: defaultdict(list))
        for r in mrec:
            groups[series_label(r, multi_b, multi_m)][r["ranks"]].append(r["tok_per_s"])
        files = []
        for label, by_n in groups.items():
            ns = sorted(by_n)
            base = mean(by_n[1]) if 1 in by_n else None
            path = os.path.join(data_dir, f"throughput_{safe(model)}_{safe(label)}.dat")
            with open(path, "w") as f:
                f.write(f'ranks "{label}" min max "ideal ({label}, linear from 1 device)"\n')
                for n in ns:
                    v = by_n[n]
                    ideal = f"{base * n:.6g}" if base else "NaN"
                    f.write(f"{n} {mean(v):.6g} {min(v):.6g} {max(v):.6g} {ideal}\n")
            files.append(path)
            if base:
                sp = os.path.join(data_dir, f"speedup_{safe(model)}_{safe(label)}.dat")
                with open(sp, "w") as f:
                    f.write(f'ranks "{model}, {label}"\n')
                    for n in ns:
                        f.write(f"{n} {mean(by_n[n]) / base:.6g}\n")
                speed_files.append(sp)
        if files:
            job("throughput.gp", f"throughput_{safe(model)}.png", files=" ".join(files),
                title=f"{model}: aggregate tokens/s vs devices ({device}; no latency emulation)")

        # --- per-rank time breakdown, one plot per link (first B/M series)
        for link in dict.fromkeys(r["link"] for r in mrec):
            lrows = [r for r in mrec if r["link"] == link]
            b0 = lrows[0]["B"]
            lrows = [r for r in lrows if r["B"] == b0 and r["M"] == r["ranks"]] or \
                [r for r in mrec if r["link"] == link and r["B"] == b0]
            by_n = defaultdict(list)
            for r in lrows:
                by_n[r["ranks"]].append(r)
            path = os.path.join(data_dir, f"breakdown_{safe(model)}_{safe(link)}.dat")
            with open(path, "w") as f:
                f.write('label "compute" "recv wait" "send wait" "other (polling, bookkeeping)"\n')
                first = True
                for n in sorted(by_n):
                    runs = by_n[n]
                    if not first:
                        f.write('"" 0 0 0 0\n')
                    first = False
                    for k in range(n):
                        def avg(field):
                            return mean([r[field][k] for r in runs])
                        total = avg("compute_s") + avg("idle_s")
                        if total <= 0:
                            total = 1e-12
                        comp, recv, send = avg("compute_s"), avg("recv_wait_s"), avg("send_wait_s")
                        other = max(0.0, total - comp - recv - send)
                        f.write(f'"{n} dev: r{k}" {100 * comp / total:.4g} {100 * recv / total:.4g} '
                                f'{100 * send / total:.4g} {100 * other / total:.4g}\n')
            job("breakdown.gp", f"breakdown_{safe(model)}_{safe(link)}.png", file=path,
                title=f"{model}, link {link}, B={b0}, M=ranks: where each rank's generation time goes")

        # --- memory per rank (weights and peak RSS) vs ranks; links do not matter
        mem_rows = [r for r in mrec]
        if mem_rows:
            by_n = defaultdict(list)
            for r in mem_rows:
                by_n[r["ranks"]].append(r)
            pts = os.path.join(data_dir, f"memory_ranks_{safe(model)}.dat")
            mx = os.path.join(data_dir, f"memory_max_{safe(model)}.dat")
            total1 = None
            if 1 in by_n:
                total1 = by_n[1][0]["weights_bytes"][0]
            with open(pts, "w") as f, open(mx, "w") as g:
                f.write('x "weights, each rank" "peak RSS, each rank"\n')
                g.write('ranks "weights, largest rank" "peak RSS, largest rank" "weights on 1 device / N"\n')
                for n in sorted(by_n):
                    runs = by_n[n]
                    w = [max(r["weights_bytes"][k] for r in runs) / 2**20 for k in range(n)]
                    rss = [max(r["peak_rss_bytes"][k] for r in runs) / 2**20 for k in range(n)]
                    for k in range(n):
                        x = n + (k - (n - 1) / 2) * 0.06
                        f.write(f"{x:.3f} {w[k]:.6g} {rss[k]:.6g}\n")
                    ideal = f"{total1 / n / 2**20:.6g}" if total1 else "NaN"
                    g.write(f"{n} {max(w):.6g} {max(rss):.6g} {ideal}\n")
            job("memory.gp", f"memory_{safe(model)}.png", points=pts, maxes=mx,
                title=f"{model}: memory per device (MiB) vs devices")

        # --- single sequence vs recurrent pipeline
        msingle = [r for r in single if r["model"] == model]
        if msingle:
            files = []
            for link in dict.fromkeys(r["link"] for r in mrec + msingle):
                s_by = defaultdict(list)
                r_by = defaultdict(list)
                for r in msingle:
                    if r["link"] == link:
                        s_by[r["ranks"]].append(r["tok_per_s"])
                lr = [r for r in mrec if r["link"] == link]
                if lr:
                    b0 = lr[0]["B"]
                    for r in lr:
                        if r["B"] == b0 and r["M"] == r["ranks"]:
                            r_by[r["ranks"]].append(r["tok_per_s"])
                ns = sorted(set(s_by) | set(r_by))
                path = os.path.join(data_dir, f"single_{safe(model)}_{safe(link)}.dat")
                bl = f"B={b0}" if lr else ""
                with open(path, "w") as f:
                    f.write(f'ranks "recurrent pipeline, {link}, {bl} M=ranks" "single sequence, {link}"\n')
                    for n in ns:
                        rv = f"{mean(r_by[n]):.6g}" if r_by.get(n) else "NaN"
                        sv = f"{mean(s_by[n]):.6g}" if s_by.get(n) else "NaN"
                        f.write(f"{n} {rv} {sv}\n")
                files.append(path)
            job("single.gp", f"single_vs_recurrent_{safe(model)}.png", files=" ".join(files),
                title=f"{model}: one sequence (B=1, M=1) vs the recurrent pipeline, tokens/s")

    if speed_files:
        job("speedup.gp", "speedup.png", files=" ".join(speed_files),
            title=f"speedup over 1 device ({device}; no latency emulation)")
    print("\n".join(jobs))


if __name__ == "__main__":
    main()

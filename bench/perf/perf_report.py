#!/usr/bin/env python3
"""Runs and results of bench/perf.sh (standard library only).

  perf_report.py add-mdi --stats STATS.json [--journal J.jsonl] RUNS.jsonl KEY=VALUE...
      append one mdi_pipeline run (its --stats file and the run's parameters)
  perf_report.py add-runc --stderr ERR.txt RUNS.jsonl KEY=VALUE...
      append one llama2.c run.c run (its "achieved tok/s" line)
  perf_report.py add-llama --out STDOUT.txt RUNS.jsonl KEY=VALUE...
      append one llama.cpp run: llama-bench -o json (its avg_ts) or llama-batched-bench
      --output-format jsonl (generated tokens / total time, as our tok_per_s, and its decode speed)
  perf_report.py add-stream --line "threads=.. read_gbs=.." RUNS.jsonl KEY=VALUE...
      append one stream_triad measurement
  perf_report.py add-failed RUNS.jsonl KEY=VALUE...
      record a run that failed
  perf_report.py report RUNS.jsonl --meta META.json --csv OUT.csv --json OUT.json [--plot-data OUT.dat]
      compute every measure (medians over the rounds), write the CSV and the
      JSON and print the table
  perf_report.py merge OUT.jsonl RUNS.jsonl...
      the runs of several perf.sh invocations on the same models (e.g. one
      with --threads "1 2" --repeats 1, one with --threads 1 --repeats 2) as
      one file: each file's rounds are renumbered after the previous file's,
      so every ratio still pairs runs of one round
  perf_report.py check DIR
      check DIR/perf.csv and DIR/perf.json for shape (never for speed)
  perf_report.py prompt-tokens JOURNAL.jsonl
      print the number of prompt tokens of the journal's first sequence

Ratios against a reference are taken per round, each run against the
reference runs next to it (the run.c runs just before and after it in the
interleaved order), and the median over the rounds is reported."""
import argparse
import csv
import json
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gguf_bytes  # noqa: E402

CSV_COLUMNS = ["measure", "label", "title", "model", "threads", "ranks", "ours", "ours_unit", "reference",
               "reference_unit", "value", "value_unit", "target", "status", "rounds", "value_per_cpu", "other_cpus",
               "ours_cpu_share",
               "reference_cpu_share", "note",
               "command", "reference_command"]


def gen_s(run):
    """Seconds the run spent generating: mdi_pipeline's wall_s; run.c's timed forward passes."""
    if run.get("kind") == "runc":
        return (run["steps"] - 1) / run["tok_per_s"] if run.get("tok_per_s") and run.get("steps") else None
    return run.get("wall_s")


def cpu_share(run):
    """Share of its CPUs (threads x ranks) the run got: CPU time / (elapsed x threads x ranks), start-up
    and loading included; None when generating took less than half of the run (a short run's CPU time is
    mostly start-up: the share says nothing about the generation)."""
    try:
        g = gen_s(run)
        if g is None or g < 0.5 * run["elapsed_s"]:
            return None
        return run["cpu_s"] / (run["elapsed_s"] * run.get("threads", 1) * run.get("ranks", 1))
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def other_cpus(run):
    """CPUs busy with other work on the host while `run` ran (host busy minus the run's own CPU)."""
    try:
        return max(0.0, run["host_busy_cpus"] - run["cpu_s"] / run["elapsed_s"])
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def kv_pairs(items):
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        if not k:
            continue
        if re.fullmatch(r"-?\d+", v):
            out[k] = int(v)
        elif re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", v):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def append(path, rec):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


def load_runs(path):
    runs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def cmd_add_mdi(a):
    rec = kv_pairs(a.kv)
    s = json.load(open(a.stats))
    rec.update(kind="mdi", ok=True, tok_per_s=s["tok_per_s"], wall_s=s["wall_s"], load_s=s["load_s"],
               prompt_tokens=s["prompt_tokens"], generated_tokens=s["generated_tokens"],
               sequences=s["sequences"], trips=s["trips"], split=s["split"], batch=s["batch"],
               micro_batches=s["micro_batches"], max_rows=s["max_rows"], ranks=len(s["ranks"]))
    for f in ("weights_bytes", "classifier_rows", "kv_bytes", "peak_rss_bytes", "compute_s", "recv_wait_s",
              "send_wait_s", "idle_s"):
        rec[f] = [r[f] for r in s["ranks"]]
    if a.journal and os.path.exists(a.journal):
        reasons = {}
        for line in open(a.journal, encoding="utf-8"):
            if line.strip():
                j = json.loads(line)
                reasons[j.get("finish_reason")] = reasons.get(j.get("finish_reason"), 0) + 1
        rec["finish_reasons"] = reasons
    append(a.runs, rec)


def cmd_add_runc(a):
    rec = kv_pairs(a.kv)
    text = open(a.stderr, encoding="utf-8", errors="replace").read()
    m = re.search(r"achieved tok/s:\s*([0-9.eE+-]+)", text)
    if not m:
        rec.update(kind="runc", ok=False, note="no 'achieved tok/s' line in run.c's stderr")
    else:
        rec.update(kind="runc", ok=True, tok_per_s=float(m.group(1)))
    append(a.runs, rec)


def cmd_add_llama(a):
    rec = kv_pairs(a.kv)
    text = open(a.out, encoding="utf-8", errors="replace").read()
    try:
        if text.lstrip().startswith("["):  # llama-bench -o json
            r = json.loads(text)[0]
            rec.update(kind="llamacpp", ok=True, tok_per_s=r["avg_ts"], n_prompt=r["n_prompt"], n_gen=r["n_gen"],
                       prompt_tokens=r["n_prompt"], wall_s=r["avg_ns"] / 1e9 if r.get("avg_ns") else None)
        else:  # llama-batched-bench --output-format jsonl: the last line
            r = [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")][-1]
            rec.update(kind="llamacpp", ok=True, tok_per_s=r["pl"] * r["tg"] / r["t"], decode_tok_per_s=r["speed_tg"],
                       sequences=r["pl"], n_prompt=r["pp"], n_gen=r["tg"], wall_s=r["t"])
    except (ValueError, KeyError, IndexError) as e:
        rec.update(kind="llamacpp", ok=False, note="no result in llama.cpp's output (%s)" % e)
    append(a.runs, rec)


def cmd_add_stream(a):
    rec = kv_pairs(a.kv)
    rec.update(kv_pairs(a.line.split()))
    rec.update(kind="stream", ok="read_gbs" in rec)
    append(a.runs, rec)


def cmd_add_failed(a):
    rec = kv_pairs(a.kv)
    rec["ok"] = False
    append(a.runs, rec)


def cmd_prompt_tokens(a):
    for line in open(a.journal, encoding="utf-8"):
        if line.strip():
            print(len(json.loads(line)["prompt_tokens"]))
            return
    sys.exit("prompt-tokens: empty journal " + a.journal)


# ---- the measures -------------------------------------------------------------

def med(v):
    v = [x for x in v if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(v) if v else None


class Runs:
    def __init__(self, runs):
        self.runs = runs
        self.ok = [r for r in runs if r.get("ok")]

    def find(self, **kw):
        return [r for r in self.ok if all(r.get(k) == v for k, v in kw.items())]

    def failed(self, **kw):
        return [r for r in self.runs if not r.get("ok") and all(r.get(k) == v for k, v in kw.items())]

    def bracket(self, run, speed, **kw):
        """Mean speed(r) of the reference runs (kw) of the same round just before and after `run`."""
        refs = sorted(self.find(round=run["round"], **kw), key=lambda r: r["seq"])
        before = [r for r in refs if r["seq"] < run["seq"]]
        after = [r for r in refs if r["seq"] > run["seq"]]
        near = [speed(r) for r in ([before[-1]] if before else []) + ([after[0]] if after else [])]
        near = [x for x in near if x is not None]
        return sum(near) / len(near) if near else None

    def stream(self, run):
        """The bandwidth measurement of run's round and thread count."""
        st = self.find(kind="stream", round=run["round"], threads=run["threads"])
        return st[0] if st else None

    def first_command(self, **kw):
        r = sorted(self.find(**kw), key=lambda r: r["seq"])
        return r[0].get("command", "") if r else ""


def tok(r):
    return r["tok_per_s"]


def prefill_tok(r):
    return r["tok_per_s"] if r.get("kind") == "llamacpp" else r["prompt_tokens"] / r["wall_s"]


def per_cpu(speed):
    """speed / CPU share: the speed the run had while it was on its CPUs (see cpu_share)."""
    def f(r):
        sh = cpu_share(r)
        return speed(r) / sh if sh else None
    return f


LABELS = {
    "decode_fp32": "fp32 decode, 1 seq / run.c",
    "decode_fp32_bw": "fp32 decode, 1 seq / bandwidth bound",
    "runc_bw": "run.c decode / bandwidth bound",
    "batch16": "16 seqs (-b 16) aggregate / run.c",
    "batch64": "64 seqs (-b 64) aggregate / run.c",
    "prefill": "prefill / decode, 1 seq",
    "decode_q8": "Q8_0 decode, 1 seq / run.c fp32",
    "decode_q8_bw": "Q8_0 decode / its bandwidth bound",
    "decode_q4_0": "Q4_0 decode, 1 seq / run.c fp32",
    "decode_q4_0_bw": "Q4_0 decode / its bandwidth bound",
    "decode_q4_k": "Q4_K decode, 1 seq / run.c fp32",
    "decode_q4_k_bw": "Q4_K decode / its bandwidth bound",
    "batch16_q8": "Q8_0 16 seqs aggregate / run.c fp32",
    "batch64_q8": "Q8_0 64 seqs aggregate / run.c fp32",
    "batch16_q4_k": "Q4_K 16 seqs aggregate / run.c fp32",
    "batch64_q4_k": "Q4_K 64 seqs aggregate / run.c fp32",
    "prefill_q8": "Q8_0 prefill / Q8_0 decode",
    "prefill_q4_k": "Q4_K prefill / Q4_K decode",
    "llama_decode": "1 seq decode / llama.cpp tg128",
    "llama_batch16": "16 seqs / llama.cpp batched",
    "llama_batch64": "64 seqs / llama.cpp batched",
    "llama_prefill": "prefill / llama.cpp pp",
    "q4km_rank_bytes": "Q4_K_M weights per rank / GGUF's",
    "ranks2_vs_b16": "2 ranks x 1 thr / 1 rank -b 16",
    "ranks2_vs_b8m2": "2 ranks x 1 thr / 1 rank -b 8 M=2",
    "ranks2_q8_vs_b16": "Q8_0 2 ranks x 1 thr / 1 rank -b 16",
    "ranks2_q8_vs_b8m2": "Q8_0 2 ranks x 1 thr / 1 rank -b 8 M=2",
    "bandwidth_read": "memory read bandwidth",
    "bandwidth_triad": "memory triad bandwidth",
    "bandwidth_read_4k": "memory read bandwidth, 4 KiB pages",
}


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "%":
        return "%.1f%%" % (100 * v)
    if unit == "x":
        return "%.2fx" % v
    if unit in ("tok/s", "GB/s"):
        return "%.1f %s" % (v, unit)
    return "%.3g %s" % (v, unit)


DECODE_TARGETS = {"q8_0": 2.5, "q4_0": 4.5, "q4_k": 4.5}
BATCH_TARGETS = {"q8_0": (8.0, 12.0), "q4_k": (None, None)}
LLAMA_TARGETS = {("decode", "q4_0"): 1.0}


def split_ranges(split):
    """[first, last) of each rank from a split "a,b,c" or a list of counts."""
    counts = [int(c) for c in (split.split(",") if isinstance(split, str) else split)]
    out, at = [], 0
    for c in counts:
        out.append((at, at + c))
        at += c
    return out


def measures(meta, R):
    out = []
    threads = meta["threads"]
    bpt = meta["bytes_per_token"]  # model -> bytes read per decode token
    have_runc = meta.get("llama2c") is not None
    runc_note = "" if have_runc else meta.get("llama2c_note", "run.c not available")
    bw_key = meta.get("bound_bandwidth", "read_best_gbs")

    def row(mid, title, model, T, ranks, xs, refs, value, unit, target, note="", command="", ref_command="",
            ours=None, ref=None, ref_unit="tok/s", ratios=(), norm=(), lower_is_better=False):
        """One measure; xs: our runs, refs: the reference runs; value: median over rounds of the ratios."""
        base = re.sub(r"_t\d+(_big)?", "", re.sub(r"_bind_\w+$", "", mid))
        qtype = re.search(r"_(f32|q8_0|q4_0|q4_k)$", base) if base.startswith("llama_") else None
        label = LABELS[base[:qtype.start()] if qtype else base]
        if "_bind_" in mid:
            label += " (bind %s)" % mid.rsplit("_", 1)[1]
        if qtype:
            label += " (%s)" % qtype.group(1)
        if target is None:
            status = "INFO" if value is not None else "SKIP"
        elif value is None:
            status = "SKIP"
        elif lower_is_better:
            status = "PASS" if value <= target else "SHORT"
        else:
            status = "PASS" if value >= target else "SHORT"
        out.append(dict(measure=mid, label=label, title=title, model=model, threads=T, ranks=ranks,
                        ours=ours if ours is not None else med([tok(x) for x in xs]), ours_unit="tok/s",
                        reference=ref, reference_unit=ref_unit, value=value, value_unit=unit, target=target,
                        status=status, rounds=len(ratios), value_per_cpu=med(norm),
                        other_cpus=med([other_cpus(r) for r in xs]),
                        ours_cpu_share=med([cpu_share(r) for r in xs]),
                        reference_cpu_share=med([cpu_share(r) for r in refs]), note=note, command=command,
                        reference_command=ref_command, lower_is_better=lower_is_better))

    def versus(mid, title, model, T, xs, ref_kw, target, note="", speed=tok, ranks=1, ref_speed=tok):
        """xs against the reference runs ref_kw next to them, per round."""
        cmd = R.first_command(tag=xs[0]["tag"], model=model, threads=T) if xs else ""
        refs = R.find(**ref_kw)
        ratios, norm, refv = [], [], []
        for x in xs:
            ref = R.bracket(x, ref_speed, **ref_kw)
            if ref:
                ratios.append(speed(x) / ref)
                refv.append(ref)
            ref_n = R.bracket(x, per_cpu(ref_speed), **ref_kw)
            xn = per_cpu(speed)(x)
            if ref_n and xn:
                norm.append(xn / ref_n)
        row(mid, title, model, T, ranks, xs, refs, med(ratios), "x", target, note, cmd,
            R.first_command(**ref_kw), med([speed(x) for x in xs]) if xs else None, med(refv), "tok/s", ratios,
            norm)

    def vs_runc(mid, title, model, T, tag, target, note="", label=None):
        """Our runs of `label` (default: model) against run.c's fp32 runs of model."""
        xs = R.find(tag=tag, model=label or model, threads=T)
        if not xs:
            fails = R.failed(tag=tag, model=model, threads=T)
            row(mid, title, model, T, 1, [], [], None, "x", target,
                note or ("run failed: " + fails[0].get("note", "see runs/") if fails else "not measured"))
            return
        if not have_runc:
            row(mid, title, model, T, 1, xs, [], None, "x", target, runc_note,
                R.first_command(tag=tag, model=model, threads=T))
            return
        versus(mid, title, label or model, T, xs, dict(tag="R", model=model, threads=T), target, note)

    def vs_bound(mid, title, model, xs, T, nbytes, target, note=""):
        ratios, norm, bounds = [], [], []
        for x in xs:
            st = R.stream(x)
            if st and nbytes and st.get(bw_key):
                bound = st[bw_key] * 1e9 / nbytes
                ratios.append(tok(x) / bound)
                bounds.append(bound)
                xn = per_cpu(tok)(x)
                if xn:
                    norm.append(xn / bound)
        if not xs:
            note = note or "not measured"
        elif not nbytes:
            note = note or "bytes per token unknown"
        elif nbytes < 64 << 20:
            note = "%.1f MB of weights per token stay in the caches: the memory-bandwidth bound does not apply" % (
                nbytes / 1e6)
            target = None
        row(mid, title, model, T, 1, xs, [], med(ratios), "%", target, note,
            xs[0].get("command", "") if xs else "", "", None, med(bounds), "tok/s (bound)", ratios, norm)

    models = [meta["model"]] + ([meta["big_model"]] if meta.get("big_model") else [])
    for model in models:
        big = model != meta["model"]
        sfx_id = "_big" if big else ""
        for T in threads:
            sfx = "%s, %d thread%s" % (model, T, "" if T == 1 else "s")
            vs_runc("decode_fp32_t%d%s" % (T, sfx_id), "1 rank, 1 sequence, fp32 decode vs run.c (%s)" % sfx,
                    model, T, "S", 0.95)
            vs_bound("decode_fp32_bw_t%d%s" % (T, sfx_id),
                     "1 rank, 1 sequence, fp32 decode, share of the read-bandwidth bound (%s)" % sfx, model,
                     R.find(tag="S", model=model, threads=T), T, bpt.get(model), 0.90)
            if have_runc:
                vs_bound("runc_bw_t%d%s" % (T, sfx_id),
                         "run.c fp32 decode, share of the read-bandwidth bound (%s)" % sfx, model,
                         R.find(tag="R", model=model, threads=T), T, bpt.get(model), None, "for comparison")
            if not big:
                vs_runc("batch16_t%d" % T, "1 rank, 16 sequences micro-batched (-b 16), aggregate vs run.c single "
                        "(%s)" % sfx, model, T, "B16", 5.5)
                vs_runc("batch64_t%d" % T, "1 rank, 64 sequences micro-batched (-b 64), aggregate vs run.c single "
                        "(%s)" % sfx, model, T, "B64", 8.0)
                ps = R.find(tag="P", model=model, threads=T)
                note = ("%d passes of a %d-token prompt, -n 1; prefill tok/s = prompt tokens / wall_s"
                        % (meta.get("prefill_passes", 1), meta.get("prefill_prompt_tokens", 0))) if ps else "not measured"
                versus("prefill_t%d" % T, "prefill tokens/s vs decode tokens/s of one sequence (%s)" % sfx, model,
                       T, ps, dict(tag="S", model=model, threads=T), 10.0, note, speed=prefill_tok)
            for q in meta.get("quant_types", []):
                qm, qid = model + "." + q, "q8" if q == "q8_0" else q
                qnote = "" if qm in meta.get("quantized_models", {}) else "not quantized"
                vs_runc("decode_%s_t%d%s" % (qid, T, sfx_id), "1 rank, 1 sequence, %s decode vs run.c fp32 (%s)"
                        % (q.upper(), sfx), model, T, "S", DECODE_TARGETS[q], qnote, label=qm)
                vs_bound("decode_%s_bw_t%d%s" % (qid, T, sfx_id), "1 rank, 1 sequence, %s decode, share of its "
                         "read-bandwidth bound (%s)" % (q.upper(), sfx), qm,
                         R.find(tag="S", model=qm, threads=T), T, bpt.get(qm), None, qnote)
                if big or q == "q4_0":
                    continue
                vs_runc("batch16_%s_t%d" % (qid, T), "1 rank, 16 sequences micro-batched (-b 16), %s aggregate vs "
                        "run.c fp32 single (%s)" % (q.upper(), sfx), model, T, "B16", BATCH_TARGETS[q][0], label=qm)
                vs_runc("batch64_%s_t%d" % (qid, T), "1 rank, 64 sequences micro-batched (-b 64), %s aggregate vs "
                        "run.c fp32 single (%s)" % (q.upper(), sfx), model, T, "B64", BATCH_TARGETS[q][1], label=qm)
                ps = R.find(tag="P", model=qm, threads=T)
                versus("prefill_%s_t%d" % (qid, T), "%s prefill tokens/s vs %s decode tokens/s of one sequence (%s)"
                       % (q.upper(), q.upper(), sfx), qm, T, ps, dict(tag="S", model=qm, threads=T), None,
                       "not measured" if not ps else "", speed=prefill_tok)
            # against llama.cpp on the same weights (its GGUF: mdi_convert export-gguf)
            for q in ["f32"] + meta.get("quant_types", []):
                lm = model if q == "f32" else model + "." + q
                points = [("decode", "S", "LS", tok, "1 sequence decode (ours: -n %d after the prompt; llama-bench "
                           "-n 128 -p 0)" % meta.get("new_tokens", 0))]
                if not big and q != "q4_0":
                    points += [("batch16", "B16", "LB16", tok, "16 sequences, generated tokens / wall time of both "
                                "(llama-batched-bench, prefill included)"),
                               ("batch64", "B64", "LB64", tok, "64 sequences, the same"),
                               ("prefill", "P", "LP", prefill_tok, "prefill of the long prompt (llama-bench -p)")]
                for name, ours_tag, ltag, speed, what in points:
                    xs = R.find(tag=ours_tag, model=lm, threads=T)
                    note = meta.get("llamacpp_note", "") if not meta.get("llamacpp") else what
                    versus("llama_%s_t%d%s_%s" % (name, T, sfx_id, q), "%s vs llama.cpp, %s (%s)" % (
                        q.upper() if q != "f32" else "fp32", what, sfx), lm, T, xs,
                        dict(tag=ltag, model=lm, threads=T), LLAMA_TARGETS.get((name, q), 1.10), note, speed=speed,
                        ref_speed=speed)
    # 2 ranks x 1 thread vs 1 rank x 1 thread, 16 sequences (fp32; Q8_0 when it was measured)
    for model in (meta["model"], meta["model"] + ".q8_0"):
        mid = "" if model == meta["model"] else "q8_"
        if mid and not R.find(tag="A", model=model):
            continue
        for bind in meta.get("binds", []):
            xs = R.find(tag="N2_" + bind, model=model)
            for ref_tag, what in (("A", "1 rank -b 16"), ("C", "1 rank -b 8 --micro-batches 2")):
                note = "mpirun --bind-to %s; 2 micro-batches of 8" % bind
                if xs:
                    comp = [med([x["compute_s"][i] for x in xs]) for i in range(len(xs[0]["compute_s"]))]
                    wait = [med([x["recv_wait_s"][i] for x in xs]) for i in range(len(xs[0]["recv_wait_s"]))]
                    note += "; median wall %.2f s, compute_s per rank %s, recv_wait_s %s, split %s" % (
                        med([x["wall_s"] for x in xs]), "/".join("%.2f" % c for c in comp),
                        "/".join("%.2f" % w for w in wait), xs[0]["split"])
                elif R.failed(tag="N2_" + bind, model=model):
                    note += "; run failed"
                versus("ranks2_%svs_%s_bind_%s" % (mid, "b16" if ref_tag == "A" else "b8m2", bind),
                       "2 ranks x 1 thread (-b 8, M=2) vs %s x 1 thread, 16 sequences (%s, bind %s)"
                       % (what, model, bind), model, 1, xs, dict(tag=ref_tag, model=model), 1.85, note, ranks=2)
    # each rank's weights of llama.cpp's Q4_K_M file (2 ranks) against the GGUF's tensors of its share
    ks = R.find(tag="K2")
    q4km_note = "2 ranks on %s (%s)" % (meta.get("q4_k_m_gguf", "?"),
                                         "llama-quantize Q4_K_M" if meta.get("llamacpp") else
                                         "no --llamacpp: the Q4_K file's own export-gguf")
    dev = None
    if ks and meta.get("q4_k_m_gguf") and os.path.exists(meta["q4_k_m_gguf"]):
        tensors = gguf_bytes.gguf_tensors(meta["q4_k_m_gguf"])
        k = ks[0]
        devs, per = [], []
        # the last rank's classifier tail (docs/PIPELINE.md) holds classifier rows and the final norm
        # as well: their share of the GGUF's classifier (the embedding when it is tied) and its norm
        rows = k.get("classifier_rows") or [0] * len(k["weights_bytes"])
        cls = tensors.get("output.weight", tensors.get("token_embd.weight"))[1]
        for rank, (wb, layers) in enumerate(zip(k["weights_bytes"], split_ranges(k["split"]))):
            g = sum(b for name, (t, b) in tensors.items() if (
                layers[0] <= gguf_bytes.layer_of(name) < layers[1] if gguf_bytes.layer_of(name) is not None
                else rank == 0))
            if rank > 0 and rows[rank]:
                g += cls * rows[rank] // sum(rows) + tensors["output_norm.weight"][1]
            devs.append(abs(wb / g - 1))
            per.append("rank %d %.0f / %.0f bytes%s" % (rank, wb, g, " (with %d classifier rows)" % rows[rank]
                                                           if rank > 0 and rows[rank] else ""))
        dev = max(devs)
        q4km_note += ": " + ", ".join(per)
    out.append(dict(measure="q4km_rank_bytes", label=LABELS["q4km_rank_bytes"],
                    title="each rank's weights_bytes of a Q4_K_M GGUF against the GGUF's tensor bytes of its share, "
                    "largest |ratio - 1|", model=meta["model"] + ".q4_k_m", threads=1, ranks=2,
                    ours=None, ours_unit="", reference=None, reference_unit="", value=dev, value_unit="%",
                    target=0.02, status="SKIP" if dev is None else ("PASS" if dev <= 0.02 else "SHORT"),
                    rounds=len(ks[:1]), value_per_cpu=None, other_cpus=None, ours_cpu_share=None,
                    reference_cpu_share=None, note=q4km_note, command=ks[0].get("command", "") if ks else "",
                    reference_command="", lower_is_better=True))
    # memory bandwidth (information)
    for T in threads:
        st = R.find(kind="stream", threads=T)
        mib = st[0].get("mib") if st else None
        for key, title in (("read", "read-only sum"), ("triad", "STREAM triad"),
                           ("read_4k", "read-only sum on 4 KiB pages")):
            v = med([s.get(key + "_best_gbs") for s in st])
            if not any(s.get(key + "_best_gbs") for s in st):
                continue
            out.append(dict(measure="bandwidth_%s_t%d" % (key, T), label=LABELS["bandwidth_" + key],
                            title="memory bandwidth, %s, %d thread%s (%s MiB arrays): median over rounds of the "
                            "fastest pass" % (title, T, "" if T == 1 else "s", mib), model="", threads=T, ranks=1,
                            ours=v, ours_unit="GB/s", reference=med([s.get(key + "_gbs") for s in st]),
                            reference_unit="GB/s (median pass)", value=v, value_unit="GB/s", target=None,
                            status="INFO" if v is not None else "SKIP", rounds=len(st), value_per_cpu=None,
                            other_cpus=None, ours_cpu_share=None, reference_cpu_share=None,
                            note="reference column: median pass" + (
                                "; huge pages: %s KiB granted" % st[0].get("huge_kib") if "huge_kib" in st[0] else ""),
                            command=R.first_command(kind="stream", threads=T),
                            reference_command="", lower_is_better=False))
    return out


def cmd_report(a):
    meta = json.load(open(a.meta))
    R = Runs(load_runs(a.runs))
    rows = measures(meta, R)
    with open(a.csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow(["" if r[c] is None else ("%.6g" % r[c] if isinstance(r[c], float) else r[c])
                        for c in CSV_COLUMNS])
    doc = {"meta": meta, "columns": CSV_COLUMNS, "measures": rows, "runs": R.runs}
    with open(a.json, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
    if a.plot_data:
        with open(a.plot_data, "w", encoding="utf-8") as f:
            f.write("# measure value/target\n")
            for r in rows:
                if r["target"] and r["value"] is not None:
                    f.write('"%s" %.4f\n' % (r["measure"], r["value"] / r["target"]))
    # the table
    w1 = max(len(r["label"]) for r in rows)
    w2 = max(len(r["model"] or "") for r in rows)
    print("%-*s  %-*s  %3s  %9s  %9s  %9s  %9s  %9s  %s" % (w1, "measure", w2, "model", "thr", "ours", "reference",
                                                           "value", "per-CPU", "target", "status"))
    for r in rows:
        cmp = "<=" if r.get("lower_is_better") else ">="
        tgt = "" if r["target"] is None else ("%s %.0f%%" % (cmp, 100 * r["target"]) if r["value_unit"] == "%"
                                              else "%s %.2fx" % (cmp, r["target"]))
        ours = "" if r["ours"] is None else "%.1f" % r["ours"]
        ref = "" if r["reference"] is None else "%.1f" % r["reference"]
        note = ("  (" + r["note"] + ")") if r["status"] == "SKIP" and r["note"] else ""
        per_cpu_v = "" if r["value_per_cpu"] is None else fmt(r["value_per_cpu"], r["value_unit"])
        print("%-*s  %-*s  %3s  %9s  %9s  %9s  %9s  %9s  %s%s" % (
            w1, r["label"], w2, r["model"], r["threads"] if r["ranks"] == 1 else "%dx%d" % (r["ranks"], r["threads"]),
            ours, ref, fmt(r["value"], r["value_unit"]) if r["value_unit"] != "GB/s" else "%.1f" % r["value"]
            if r["value"] is not None else "n/a", per_cpu_v, tgt, r["status"], note))
    print("ours, reference: medians in tok/s (bandwidth: GB/s, fastest pass / median pass); value: median over rounds"
          " of ours / reference;\nper-CPU: the same with each run's speed divided by the share of its CPUs it got"
          " (CPU time / (elapsed x threads x ranks)): what the value would be without other work on the host")
    load = [other_cpus(r) for r in R.ok if r.get("kind") in ("mdi", "runc")]
    load = [x for x in load if x is not None]
    if load:
        print("load from other work during the runs: median %.2f CPUs busy (max %.2f) of %s"
              % (med(load), max(load), meta.get("host_cpus")))
    short = [r for r in rows if r["status"] == "SHORT"]
    print("%d measures: %d PASS, %d SHORT, %d SKIP, %d INFO" % (
        len(rows), sum(r["status"] == "PASS" for r in rows), len(short), sum(r["status"] == "SKIP" for r in rows),
        sum(r["status"] == "INFO" for r in rows)))


def cmd_check(a):
    errors = []
    csv_path, json_path = os.path.join(a.dir, "perf.csv"), os.path.join(a.dir, "perf.json")
    for p in (csv_path, json_path):
        if not os.path.isfile(p):
            errors.append(p + " is missing")
    if not errors:
        doc = json.load(open(json_path, encoding="utf-8"))
        for k in ("meta", "columns", "measures", "runs"):
            if k not in doc:
                errors.append("perf.json: no '%s'" % k)
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or rows[0] != CSV_COLUMNS:
            errors.append("perf.csv: unexpected header %s" % (rows[0] if rows else None))
        elif len(rows) - 1 != len(doc.get("measures", [])):
            errors.append("perf.csv has %d rows, perf.json %d measures" % (len(rows) - 1, len(doc["measures"])))
        else:
            for i, r in enumerate(rows[1:], 2):
                if len(r) != len(CSV_COLUMNS):
                    errors.append("perf.csv line %d: %d fields" % (i, len(r)))
                    continue
                d = dict(zip(CSV_COLUMNS, r))
                if d["status"] not in ("PASS", "SHORT", "SKIP", "INFO"):
                    errors.append("perf.csv line %d: status '%s'" % (i, d["status"]))
                for c in ("ours", "reference", "value", "target"):
                    if d[c]:
                        try:
                            float(d[c])
                        except ValueError:
                            errors.append("perf.csv line %d: %s '%s' is not a number" % (i, c, d[c]))
        ids = {m["measure"] for m in doc.get("measures", [])}
        for need in ("decode_fp32_t1", "decode_fp32_bw_t1", "batch16_t1", "batch64_t1", "prefill_t1",
                     "decode_q8_t1"):
            if need not in ids:
                errors.append("perf.json: no measure " + need)
        measured = [m for m in doc.get("measures", []) if m["measure"] in ("decode_fp32_bw_t1", "prefill_t1")]
        for m in measured:
            if m["value"] is None:
                errors.append("perf.json: %s was not measured (%s)" % (m["measure"], m["note"]))
    kernels = os.path.join(a.dir, "kernels.csv")
    if os.path.isfile(kernels):
        with open(kernels, newline="", encoding="utf-8") as f:
            krows = list(csv.DictReader(f))
        names = {r.get("kernel") for r in krows}
        if not {"mdi_matmul f32", "mdi_matmul q8_0", "blis sgemm"} <= names:
            errors.append("kernels.csv: kernels %s, expected mdi_matmul f32, mdi_matmul q8_0 and blis sgemm" % names)
        for i, r in enumerate(krows, 2):
            try:
                if float(r["gflops"]) <= 0:
                    errors.append("kernels.csv line %d: gflops %s" % (i, r["gflops"]))
            except (KeyError, TypeError, ValueError):
                errors.append("kernels.csv line %d: no number in gflops" % i)
    if errors:
        for e in errors:
            print("check: " + e, file=sys.stderr)
        sys.exit(1)
    print("check: %s/perf.csv and perf.json are well formed" % a.dir)


def cmd_merge(a):
    out, base = [], 0
    for path in a.runs:
        runs = load_runs(path)
        rounds = sorted({r["round"] for r in runs if r.get("round") is not None})
        for r in runs:
            if r.get("round") is not None:
                r["round"] = base + rounds.index(r["round"]) + 1
            out.append(r)
        base += len(rounds)
    with open(a.out, "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")
    print("merge: %d runs of %d files in %d rounds -> %s" % (len(out), len(a.runs), base, a.out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("add-mdi")
    p.add_argument("runs")
    p.add_argument("--stats", required=True)
    p.add_argument("--journal")
    p.add_argument("kv", nargs="*")
    p.set_defaults(fn=cmd_add_mdi)
    p = sub.add_parser("add-runc")
    p.add_argument("runs")
    p.add_argument("--stderr", required=True)
    p.add_argument("kv", nargs="*")
    p.set_defaults(fn=cmd_add_runc)
    p = sub.add_parser("add-llama")
    p.add_argument("runs")
    p.add_argument("--out", required=True)
    p.add_argument("kv", nargs="*")
    p.set_defaults(fn=cmd_add_llama)
    p = sub.add_parser("add-stream")
    p.add_argument("runs")
    p.add_argument("--line", required=True)
    p.add_argument("kv", nargs="*")
    p.set_defaults(fn=cmd_add_stream)
    p = sub.add_parser("add-failed")
    p.add_argument("runs")
    p.add_argument("kv", nargs="*")
    p.set_defaults(fn=cmd_add_failed)
    p = sub.add_parser("report")
    p.add_argument("runs")
    p.add_argument("--meta", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--plot-data")
    p.set_defaults(fn=cmd_report)
    p = sub.add_parser("merge")
    p.add_argument("out")
    p.add_argument("runs", nargs="+")
    p.set_defaults(fn=cmd_merge)
    p = sub.add_parser("check")
    p.add_argument("dir")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("prompt-tokens")
    p.add_argument("journal")
    p.set_defaults(fn=cmd_prompt_tokens)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()

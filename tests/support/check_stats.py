#!/usr/bin/env python3
"""Check a --stats JSON file against the run's journal.

usage: check_stats.py STATS JOURNAL --layers L --layer-bytes N --head-bytes H [--dim D [--tail-row-bytes R]]
                      [--drain]

 - every field of the contract is present; ranks are ordered and their layer
   ranges are contiguous and cover [0, L);
 - weights_bytes of each rank equals exactly its layers' tensor bytes (plus
   the embedding and final norm on rank 0, and on the last rank the final
   norm (D float32) and classifier_tail rows of R bytes, default D float32,
   when it classifies a tail); rank 0 and the last rank's classifier_rows add
   up to the vocabulary;
 - token counts equal the journal's; tok_per_s = generated_tokens / wall_s;
 - with --drain: continuous batching needed fewer ring trips than a
   drain-and-refill schedule (each micro-batch takes B sequences and runs
   until the longest of them ends) would for the same sequences."""
import argparse
import json
import sys

RANK_FIELDS = ["rank", "host", "layers", "weights_bytes", "classifier_rows", "kv_bytes", "peak_rss_bytes",
               "compute_s", "recv_wait_s", "send_wait_s", "idle_s"]
TOTAL_FIELDS = ["ranks", "prompt_tokens", "generated_tokens", "wall_s", "tok_per_s", "classifier_tail"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stats")
    ap.add_argument("journal")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--layer-bytes", type=int, required=True)
    ap.add_argument("--head-bytes", type=int, required=True)
    ap.add_argument("--dim", type=int, default=0, help="the model's dim (float32 final norm and classifier rows)")
    ap.add_argument("--tail-row-bytes", type=int, default=0, help="bytes of a (quantized) classifier row")
    ap.add_argument("--drain", action="store_true")
    ap.add_argument("--calibrated", action="store_true",
                    help="the run used --split calibrate: its measurements are in the stats")
    a = ap.parse_args()
    st = json.load(open(a.stats))
    recs = [json.loads(l) for l in open(a.journal) if l.strip()]
    errors = []

    def expect(cond, msg):
        if not cond:
            errors.append(msg)

    for f in TOTAL_FIELDS:
        expect(f in st, f"missing total field {f}")
    nxt = 0
    tail = st.get("classifier_tail", 0)
    n = len(st["ranks"])
    expect(tail == 0 or a.dim > 0, f"a classifier tail of {tail} rows: give --dim")
    if n > 1:
        expect(st["ranks"][-1].get("classifier_rows") == tail, "the last rank's classifier_rows != classifier_tail")
    for i, r in enumerate(st["ranks"]):
        for f in RANK_FIELDS:
            expect(f in r, f"rank entry {i}: missing field {f}")
        expect(r["rank"] == i, f"ranks not ordered: entry {i} is rank {r['rank']}")
        first, last = r["layers"]
        expect(first == nxt and last >= first, f"rank {i}: layers {r['layers']} not contiguous")
        nxt = last
        want = (last - first) * a.layer_bytes + (a.head_bytes if i == 0 else 0)
        row_bytes = a.tail_row_bytes or a.dim * 4
        if tail and i == n - 1:
            want += tail * row_bytes + a.dim * 4  # the classifier rows and the final norm
        if i == 0 and a.dim:  # the head is the embedding (the classifier) and the final norm
            vocab = (a.head_bytes - a.dim * 4) // row_bytes
            expect(r["classifier_rows"] == vocab - tail, f"rank 0: classifier_rows {r['classifier_rows']} != "
                   f"{vocab} - {tail}")
        expect(r["weights_bytes"] == want, f"rank {i}: weights_bytes {r['weights_bytes']} != {want}")
        print(f"rank {i}: layers [{first},{last}) weights_bytes {r['weights_bytes']:.0f} (expected {want})")
    expect(nxt == a.layers, f"layers cover [0,{nxt}), model has {a.layers}")
    if a.calibrated:
        for r in st["ranks"]:
            expect(r.get("calib_layer_s", 0) > 0, f"rank {r['rank']}: no calib_layer_s")
        expect(st["ranks"][0].get("calib_head_s", 0) > 0, "rank 0: no calib_head_s")
        print("calibration:", ", ".join(f"rank {r['rank']} {1e3 * r['calib_layer_s']:.3f} ms/layer"
                                         for r in st["ranks"]))
    expect(st["generated_tokens"] == sum(len(r["tokens"]) for r in recs), "generated_tokens != journal")
    expect(st["prompt_tokens"] == sum(len(r["prompt_tokens"]) for r in recs), "prompt_tokens != journal")
    expect(st["sequences"] == len(recs), "sequences != journal lines")
    expect(st["wall_s"] > 0 and abs(st["tok_per_s"] - st["generated_tokens"] / st["wall_s"]) <= 1e-6 *
           st["tok_per_s"], "tok_per_s != generated_tokens / wall_s")

    if a.drain:
        # trips a sequence needs: one per sampled token, the stop token included
        need = {r["id"]: len(r["tokens"]) + (r["finish_reason"] == "stop") for r in recs}
        ids = sorted(need)
        B = st["batch"]
        drain = sum(max(need[i] for i in ids[g:g + B]) for g in range(0, len(ids), B))
        print(f"ring trips: continuous batching {st['trips']}, drain-and-refill {drain} "
              f"({drain / st['trips']:.2f}x more)")
        expect(st["trips"] < drain, f"continuous batching used {st['trips']} trips, drain-and-refill {drain}")
    for e in errors:
        print("FAIL:", e)
    print("stats OK" if not errors else f"{len(errors)} problems")
    sys.exit(1 if errors else 0)


main()

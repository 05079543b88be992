#!/usr/bin/env python3
"""Load generator for an OpenAI-style /v1/completions endpoint (bench/serve.sh).

C clients stream requests back to back (each waits for its answer before the
next); every request asks for T tokens, greedy.  Prints one JSON object:
throughput (generated tokens / wall time), time to first token and
inter-token latency (the gaps between streamed chunks that carry text),
p50 and p99.

usage: serve_load.py --port P --clients C --requests N --max-tokens T --prompts FILE [--extra JSON]
N requests in all, dealt to the C clients; prompts cycle FILE's lines."""
import argparse
import http.client
import json
import sys
import threading
import time


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def one_request(port, body, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    c.request("POST", "/v1/completions", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        out["errors"].append(f"{r.status} {r.read()[:200]!r}")
        c.close()
        return
    stamps, tokens, usage = [], 0, None
    while True:
        line = r.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        payload = line[6:].strip()
        if payload == b"[DONE]":
            break
        ev = json.loads(payload)
        if ev.get("usage"):
            usage = ev["usage"]
        for ch in ev.get("choices", []):
            if ch.get("text"):
                stamps.append(time.perf_counter())
                tokens += 1
    c.close()
    if not stamps:
        out["errors"].append("no text")
        return
    n = usage["completion_tokens"] if usage else tokens
    with out["lock"]:
        out["ttft"].append(stamps[0] - t0)
        out["itl"].extend(b - a for a, b in zip(stamps, stamps[1:]))
        out["tokens"] += n
        out["requests"] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--extra", default="{}", help="JSON merged into every request")
    ap.add_argument("--csv", help="print a CSV row starting with these fields instead of JSON")
    a = ap.parse_args()
    prompts = [l.rstrip("\n") for l in open(a.prompts) if l.strip()]
    extra = json.loads(a.extra)
    out = {"lock": threading.Lock(), "ttft": [], "itl": [], "tokens": 0, "requests": 0, "errors": []}
    todo = list(range(a.requests))
    todo_lock = threading.Lock()

    def client():
        while True:
            with todo_lock:
                if not todo:
                    return
                i = todo.pop(0)
            body = {"model": "m", "prompt": prompts[i % len(prompts)], "max_tokens": a.max_tokens, "temperature": 0,
                    "stream": True, "stream_options": {"include_usage": True}}
            body.update(extra)
            try:
                one_request(a.port, body, out)
            except Exception as e:  # counted, not fatal: the row says how many failed
                out["errors"].append(repr(e))

    t0 = time.perf_counter()
    ts = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    row = {
        "clients": a.clients, "requests": out["requests"], "errors": len(out["errors"]),
        "first_error": out["errors"][0] if out["errors"] else None,
        "tokens": out["tokens"], "wall_s": round(wall, 4), "tok_per_s": round(out["tokens"] / wall, 2),
        "ttft_p50_ms": round(1e3 * percentile(out["ttft"], 50), 3), "ttft_p99_ms": round(1e3 * percentile(out["ttft"], 99), 3),
        "itl_p50_ms": round(1e3 * percentile(out["itl"], 50), 3), "itl_p99_ms": round(1e3 * percentile(out["itl"], 99), 3),
    }
    if row["errors"]:
        print(f"serve_load: {row['errors']} of {a.requests} requests failed, the first: {row['first_error']}",
              file=sys.stderr)
    if a.csv:
        print(",".join([a.csv] + [str(row[k]) for k in ("clients", "requests", "errors", "tokens", "wall_s", "tok_per_s",
                                                         "ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms")]))
    else:
        print(json.dumps(row))


if __name__ == "__main__":
    main()

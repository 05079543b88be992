#!/usr/bin/env python3
"""End-to-end tests of mdi_pipeline --serve with real HTTP clients (Python's
http.client and curl), on stories260K.

usage: serve_test.py CASE --mpiexec M --binary B --model H5 --data DIR --work DIR [--np N]

Cases:
  tokens   the 16 ring16 prompts, whole and streamed (curl), at once: every
           sequence's tokens equal llama2.c's (tests/data/ring16.llama2c.jsonl),
           as in batch mode; n, stop strings, usage, models, health, metrics
  errors   malformed JSON, wrong types, huge bodies, unknown paths, wrong
           methods, a wrong or missing key, slow-header clients (silent and
           trickling: 408): 4xx with an OpenAI error object while the server
           keeps serving
  cancel   a client that disconnects frees its slot within a trip; a full
           queue answers 503 (rank 2 is held with SIGSTOP to make it exact)
  streams64  64 concurrent streams at np 3 (serve64.jsonl): each answered once
           with the offline tokens
  queue    64 clients at once against --max-queue 5 (ring held): exactly 5
           queued, 59 refused with 503; the same with n = 2
  drain    SIGTERM: running requests finish, new connections are refused,
           exit 0; with --drain-timeout expired they are cancelled instead
  mpirun   SIGTERM to mpirun: rank 0 drains for half the time until mpirun's
           SIGKILL, then cancels: no stream is cut, no rank is left
  chat     /v1/chat/completions on a model with a chat format (--model: the
           Llama test checkpoint): the tokens of a batch run's "messages" line
"""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import MPI_ENV, Fail, Server, check, joined, metrics, post, request, stream, wait_gone, wait_metric  # noqa: E402


def load_ring16(data):
    prompts = [json.loads(line) for line in open(os.path.join(data, "ring16.jsonl"))]
    ref = {r["id"]: r for r in map(json.loads, open(os.path.join(data, "ring16.llama2c.jsonl")))}
    reqs = []
    for i, p in enumerate(prompts):
        body = {"model": "stories260K", "prompt": p["prompt"], "seed": ref[i]["seed"], "return_tokens": True}
        for k in ("temperature", "top_p"):
            if k in p:
                body[k] = p[k]
        if p.get("max_tokens"):
            body["max_tokens"] = p["max_tokens"]
        reqs.append(body)
    return reqs, ref


def run_threads(fns):
    out, errors = [None] * len(fns), []

    def run(i, fn):
        try:
            out[i] = fn()
        except Exception as e:  # reported below
            errors.append(f"#{i}: {e!r}")

    ts = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise Fail("; ".join(errors))
    return out


def curl_stream(port, body):
    """The same request through curl -N: (text, tokens, finish)."""
    r = subprocess.run(["curl", "-sS", "-N", "--fail-with-body", f"http://127.0.0.1:{port}/v1/completions",
                        "-H", "Content-Type: application/json", "-d", json.dumps(dict(body, stream=True))],
                       capture_output=True, timeout=120)
    check(r.returncode == 0, f"curl: {r.returncode} {r.stderr.decode()}")
    events = []
    lines = r.stdout.decode("utf-8").split("\n\n")
    check(lines[-2] == "data: [DONE]" and lines[-1] == "", f"curl stream ends with {lines[-2:]!r}")
    for block in lines[:-2]:
        if block.startswith(":"):  # a keep-alive comment
            continue
        check(block.startswith("data: "), f"not an event: {block[:60]!r}")
        events.append(json.loads(block[6:]))
    return joined(events)


def case_tokens(a):
    reqs, ref = load_ring16(a.data)
    with Server(a.mpiexec, a.binary, a.model, a.np, ["-b", "4", "-n", "0", "-q"],
                os.path.join(a.work, "server.log")) as srv:
        port = srv.port

        def whole(i):
            status, r, _ = post(port, "/v1/completions", reqs[i])
            check(status == 200, f"{status} {r}")
            ch = r["choices"][0]
            return ch["text"], ch["tokens"], ch["finish_reason"], r["usage"]

        def streamed(i):
            status, events = stream(port, "/v1/completions", dict(reqs[i], stream_options={"include_usage": True}))
            check(status == 200, f"stream {status} {events}")
            check(events[-1]["choices"] == [] and "usage" in events[-1], "the last chunk carries the usage")
            # one event per token (several only where a token ends inside a character)
            for ev in events[:-1]:
                ch = ev["choices"][0]
                check(len(ch["tokens"]) <= 1 or any(ord(x) > 127 for x in ch["text"]),
                      f"sequence {i}: an event of {len(ch['tokens'])} tokens: {ch['text']!r}")
            return joined(events[:-1]) + (events[-1]["usage"],)

        n = len(reqs)
        results = run_threads([lambda i=i: whole(i) for i in range(n)] + [lambda i=i: streamed(i) for i in range(n)] +
                              [lambda i=i: curl_stream(port, reqs[i]) for i in range(n)])
        for i in range(n):
            want = ref[i]["tokens"]
            for how, res in (("whole", results[i]), ("stream", results[n + i]), ("curl", results[2 * n + i])):
                check(res[1] == want, f"sequence {i} ({how}): {len(res[1])} tokens differ from llama2.c's {len(want)}")
                check(res[0] == results[i][0], f"sequence {i} ({how}): text differs")
            text, tokens, finish, usage = results[i]
            check(usage["completion_tokens"] == len(want), f"sequence {i}: usage {usage}")
            check(results[n + i][3] == usage, f"sequence {i}: streamed usage {results[n + i][3]} != {usage}")
            limit = reqs[i].get("max_tokens")
            check(finish == ("length" if limit and len(want) == limit or len(want) + usage["prompt_tokens"] > 512
                             else "stop"), f"sequence {i}: finish_reason {finish}")
        print(f"16 prompts x (whole, streamed, curl) at np {a.np}: tokens equal llama2.c's")

        # n: choice k has the seed + k
        status, r, _ = post(port, "/v1/completions", dict(reqs[8], n=2))
        check(status == 200 and len(r["choices"]) == 2, f"n=2: {status}")
        check(r["choices"][0]["tokens"] == ref[8]["tokens"], "n=2: choice 0 differs")
        status, r1, _ = post(port, "/v1/completions", dict(reqs[8], seed=reqs[8]["seed"] + 1))
        check(r["choices"][1]["tokens"] == r1["choices"][0]["tokens"], "n=2: choice 1 is not seed + 1")
        check(r["usage"]["completion_tokens"] == len(r["choices"][0]["tokens"]) + len(r["choices"][1]["tokens"]),
              "n=2: usage")
        status, events = stream(port, "/v1/completions", dict(reqs[8], n=2))
        for k in range(2):
            check(joined(events, k)[1] == r["choices"][k]["tokens"] and joined(events, k)[0] == r["choices"][k]["text"],
                  f"n=2 streamed: choice {k} differs from the whole response")
        # stop strings: the text ends before the first one, streamed the same
        body = dict(reqs[0], stop=[" Lily", "zzz"])
        status, r, _ = post(port, "/v1/completions", body)
        full = run_threads([lambda: post(port, "/v1/completions", reqs[0])])[0][1]["choices"][0]["text"]
        cut = full[:full.index(" Lily")]
        check(r["choices"][0]["text"] == cut and r["choices"][0]["finish_reason"] == "stop",
              f"stop: {r['choices'][0]['text']!r} vs {cut!r}")
        status, events = stream(port, "/v1/completions", body)
        check(joined(events)[0] == cut and joined(events)[2] == "stop", "stop: streamed text differs")
        print(f"n=2 and stop strings: ok ({cut!r})")

        status, r, _ = request(port, "GET", "/v1/models")
        check(status == 200 and r["data"][0]["id"] == "stories260K", f"models: {r}")
        status, r, _ = request(port, "GET", "/v1/models/stories260K")
        check(status == 200 and r["id"] == "stories260K", f"model: {r}")
        status, r, _ = request(port, "GET", "/health")
        check(status == 200 and r["status"] == "ok", f"health: {r}")
        m = metrics(port)
        gen = sum(len(ref[i]["tokens"]) for i in range(n)) * 3
        check(m["mdi_jobs_total"] == 3 * n + 6, f"jobs {m['mdi_jobs_total']}")
        check(m['mdi_requests_total{endpoint="/v1/completions",code="200"}'] == 3 * n + 6, "request count")
        check(m["mdi_generated_tokens_total"] >= gen and m["mdi_slots_busy"] == 0 and m["mdi_queue_depth"] == 0,
              "token and slot gauges")
        for rank in range(a.np):
            check(m[f'mdi_rank_compute_seconds_total{{rank="{rank}"}}'] > 0, f"rank {rank} compute")
            check(f'mdi_rank_idle_seconds_total{{rank="{rank}"}}' in m, f"rank {rank} idle")
        print(f"models, health, metrics: ok ({int(m['mdi_generated_tokens_total'])} tokens)")
    print("PASS")


def expect_error(status_body, status, code=None, param=None):
    st, body = status_body[0], status_body[1]
    check(st == status, f"status {st}, expected {status}: {body}")
    check(isinstance(body, dict) and "error" in body, f"no error object: {body!r}")
    e = body["error"]
    check(isinstance(e.get("message"), str) and e["message"] and "type" in e and "param" in e and "code" in e,
          f"not an OpenAI error object: {e}")
    if code:
        check(e["code"] == code, f"code {e['code']}, expected {code}")
    if param:
        check(e["param"] == param, f"param {e['param']}, expected {param}")
    return e


def raw_request(port, data, timeout=10):
    """Send raw bytes, read until the server closes; (bytes, seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.time()
    s.sendall(data)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out, time.time() - t0


def case_errors(a):
    key = "sk-test-0123456789"
    auth = {"Authorization": f"Bearer {key}"}
    with Server(a.mpiexec, a.binary, a.model, a.np,
                ["-q", "--api-key", key, "--max-body", "65536", "--client-timeout", "2", "-t", "0",
                 "--max-tokens-cap", "12"],
                os.path.join(a.work, "server.log")) as srv:
        port = srv.port
        good = {"prompt": "Once upon a time", "max_tokens": 8, "return_tokens": True}

        def still_serving():
            status, r, _ = post(port, "/v1/completions", good, auth)
            check(status == 200 and len(r["choices"][0]["tokens"]) == 8, f"not serving: {status} {r}")

        # slow-header clients hold their own connections only: one sends part
        # of its header and then nothing, one trickles a byte every 0.1 s
        # (each byte restarts an idle timer, not the header's clock)
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
        t_slow = time.time()
        trickled = {}

        def trickle():
            s = socket.create_connection(("127.0.0.1", port))
            t0 = time.time()
            head = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 2000 + b"\r\n\r\n"
            try:
                for i in range(len(head)):
                    s.sendall(head[i:i + 1])
                    time.sleep(0.1)
            except OSError:  # the server closed its side after answering
                pass
            s.settimeout(30)
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            s.close()
            trickled.update(out=out, waited=time.time() - t0)

        trickler = threading.Thread(target=trickle)
        trickler.start()
        still_serving()
        expect_error(post(port, "/v1/completions", good), 401, "invalid_api_key")
        expect_error(post(port, "/v1/completions", good, {"Authorization": "Bearer sk-wrong"}), 401, "invalid_api_key")
        expect_error(post(port, "/v1/completions", good, {"Authorization": "Basic " + key}), 401, "invalid_api_key")
        expect_error(request(port, "GET", "/metrics"), 401)
        check(request(port, "GET", "/health")[0] == 200, "/health needs no key")
        expect_error(post(port, "/v1/completions", b"{\"prompt\": \"x\",", auth), 400, "invalid_json")
        expect_error(post(port, "/v1/completions", b"\xff\xfe not json", auth), 400, "invalid_json")
        expect_error(post(port, "/v1/completions", [1, 2], auth), 400, "invalid_json")
        expect_error(post(port, "/v1/completions", {"prompt": 3}, auth), 400, "invalid_type", "prompt")
        expect_error(post(port, "/v1/completions", dict(good, temperature="hot"), auth), 400, "invalid_type",
                     "temperature")
        expect_error(post(port, "/v1/completions", dict(good, max_tokens=-3), auth), 400, "invalid_value", "max_tokens")
        expect_error(post(port, "/v1/completions", dict(good, n=1000), auth), 400, "invalid_value", "n")
        expect_error(post(port, "/v1/completions", dict(good, stop=[1]), auth), 400, "invalid_type", "stop")
        expect_error(post(port, "/v1/completions", {"max_tokens": 3}, auth), 400, "missing_required_parameter", "prompt")
        expect_error(post(port, "/v1/completions", {"prompt": "x " * 3000}, auth), 400, "context_length_exceeded")
        expect_error(post(port, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, auth), 400,
                     "no_chat_template")
        expect_error(post(port, "/v1/chat/completions", {"messages": "hi"}, auth), 400, "invalid_type", "messages")
        # --max-tokens-cap 12: a larger max_tokens, or none (-n 0: up to the
        # context), is cut to 12 tokens, the start of the same greedy text
        eight = post(port, "/v1/completions", good, auth)[1]["choices"][0]["tokens"]
        for extra in ({"max_tokens": 100}, {}):
            body = dict(good, **extra)
            if not extra:
                del body["max_tokens"]
            status, r, _ = post(port, "/v1/completions", body, auth)
            ch = r["choices"][0] if status == 200 else {}
            check(status == 200 and len(ch["tokens"]) == 12 and ch["tokens"][:8] == eight and
                  ch["finish_reason"] == "length" and r["usage"]["completion_tokens"] == 12,
                  f"--max-tokens-cap 12 with {extra or 'no max_tokens'}: {status} {r}")
        print("--max-tokens-cap 12: max_tokens 100 and no max_tokens give 12 tokens (finish_reason length)")
        # unknown fields are ignored, as OpenAI does
        status, r, _ = post(port, "/v1/completions", dict(good, logit_bias={"5": 1}, user="u", suffix=None), auth)
        check(status == 200 and len(r["choices"][0]["tokens"]) == 8, f"unknown fields: {status}")
        # bodies larger than --max-body: declared (refused unread) and chunked
        big = json.dumps({"prompt": "x" * 100000}).encode()
        expect_error(post(port, "/v1/completions", big, auth), 413, "request_too_large")
        head = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        body = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192]) for i in range(0, len(big), 8192))
        out, _ = raw_request(port, head + body + b"0\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 413"), f"chunked body: {out[:60]!r}")
        check(b'"code":"request_too_large"' in out, "chunked body: no error object")
        expect_error(request(port, "GET", "/v1/nothing", headers=auth), 404, "unknown_url")
        expect_error(request(port, "GET", "/", headers=auth), 404, "unknown_url")
        expect_error(request(port, "GET", "/v1/models/gpt-4", headers=auth), 404, "model_not_found")
        expect_error(request(port, "GET", "/v1/completions", headers=auth), 405)
        expect_error(request(port, "DELETE", "/v1/models", headers=auth), 405)
        still_serving()
        # the slow clients get 408 with an error object once their header has
        # taken --client-timeout 2 s, and then the end of the connection
        slow.settimeout(60)
        answer = b""
        while True:
            chunk = slow.recv(65536)
            if not chunk:
                break
            answer += chunk
        waited = time.time() - t_slow
        slow.close()
        trickler.join(120)
        check(not trickler.is_alive(), "the trickling client was never answered")

        def expect_408(raw, who):
            head, _, body = raw.partition(b"\r\n\r\n")
            check(head.startswith(b"HTTP/1.1 408 "), f"{who}: {raw[:80]!r}")
            check(b"Connection: close" in head, f"{who}: the connection is not closed: {head!r}")
            expect_error((408, json.loads(body)), 408, "request_timeout")

        expect_408(answer, "the silent slow-header client")
        expect_408(trickled["out"], "the trickling client")
        check(waited >= 1.9 and trickled["waited"] >= 1.9, f"408 before --client-timeout: {waited:.1f} s")
        print(f"slow-header clients: 408 request_timeout after {waited:.1f} s (silent) and "
              f"{trickled['waited']:.1f} s (a byte every 0.1 s), --client-timeout 2, while others were served")
        # a kept-alive connection idle between requests is closed without a word
        c = socket.create_connection(("127.0.0.1", port), timeout=60)
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        c.close()
        head, _, body = got.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200") and json.loads(body) == {"status": "ok"},
              f"an idle kept-alive connection got more than its answer: {got!r}")
        still_serving()
        m = metrics(port, auth)
        check(m['mdi_requests_total{endpoint="other",code="408"}'] == 2, "408s counted")
        check(m['mdi_requests_total{endpoint="/v1/completions",code="400"}'] >= 10, "400s counted")
        check(m['mdi_requests_total{endpoint="/v1/completions",code="401"}'] == 3, "401s counted")
    print("PASS")


def case_cancel(a):
    # one slot (B = 1, one micro-batch) and one place in the queue
    with Server(a.mpiexec, a.binary, a.model, 3,
                 ["-q", "-b", "1", "--micro-batches", "1", "--max-queue", "1", "-t", "0", "--client-timeout", "2"],
                 os.path.join(a.work, "server.log")) as srv:
        port = srv.port
        ref = {"prompt": "Once upon a time", "max_tokens": 60, "return_tokens": True}
        want = post(port, "/v1/completions", ref)[1]["choices"][0]["tokens"]
        stage = srv.rank_pid(2)
        # a client leaves while its prompt is in the ring (held at rank 2)
        os.kill(stage, signal.SIGSTOP)
        before = metrics(port)
        s = socket.create_connection(("127.0.0.1", port))
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 400, "stream": True}).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        wait_metric(port, "mdi_slots_busy", 1)
        s.close()
        time.sleep(0.5)  # the connection's thread sees it gone and cancels
        os.kill(stage, signal.SIGCONT)
        wait_metric(port, "mdi_slots_busy", 0, timeout=10)
        after = metrics(port)
        cancelled = after['mdi_sequences_total{reason="cancelled"}'] - before['mdi_sequences_total{reason="cancelled"}']
        made = after["mdi_generated_tokens_total"] - before["mdi_generated_tokens_total"]
        check(cancelled == 1 and made <= 1, f"cancelled {cancelled}, {made} tokens made after the client left")
        print(f"a disconnected client's sequence was cancelled after {int(made)} token(s); its slot is free")

        # a full queue: A runs, B waits, C is refused with 503
        os.kill(stage, signal.SIGSTOP)
        results = {}
        ta = threading.Thread(target=lambda: results.update(a=post(port, "/v1/completions", ref)))
        ta.start()
        wait_metric(port, "mdi_slots_busy", 1)
        tb = threading.Thread(target=lambda: results.update(b=post(port, "/v1/completions", ref)))
        tb.start()
        wait_metric(port, "mdi_queue_depth", 1)
        st, body, headers = post(port, "/v1/completions", ref)
        e = expect_error((st, body), 503, "server_busy")
        check(headers.get("Retry-After") == "1", "503 without Retry-After")
        os.kill(stage, signal.SIGCONT)
        ta.join()
        tb.join()
        for k in "ab":
            check(results[k][0] == 200 and results[k][1]["choices"][0]["tokens"] == want, f"request {k} after the wait")
        check(metrics(port)["mdi_jobs_rejected_total"] == 1, "the refusal is counted")
        print(f"queue full: 503 ({e['message']}); the running and the queued request completed")

        # a stream that waits longer than --client-timeout for its first token
        # stays open (keep-alive comments), as does a whole answer
        os.kill(stage, signal.SIGSTOP)
        ta = threading.Thread(target=lambda: results.update(a=post(port, "/v1/completions", ref)))
        tb = threading.Thread(target=lambda: results.update(b=stream(port, "/v1/completions", ref)))
        ta.start()
        wait_metric(port, "mdi_slots_busy", 1)  # (both at once could find the one place in the queue taken)
        tb.start()
        time.sleep(5)
        os.kill(stage, signal.SIGCONT)
        ta.join()
        tb.join()
        check(results["a"][0] == 200 and results["a"][1]["choices"][0]["tokens"] == want, f"whole answer after 5 s: {results['a']}")
        check(joined(results["b"][1])[1] == want, "stream after 5 s")
        print("a ring held for 5 s (> --client-timeout 2): the waiting requests completed")
    print("PASS")


def case_streams64(a):
    """64 concurrent streams at np 3 (tests/data/serve64.jsonl: greedy and
    sampled, top_p, top_k): each is answered once with the tokens and text
    of the same lines run offline (mdi_pipeline -f, np 3); the same as
    serve.openai_node.np3 without node."""
    requests = [json.loads(line) for line in open(os.path.join(a.data, "serve64.jsonl"))]
    offline = os.path.join(a.work, "offline.jsonl")
    r = subprocess.run([a.mpiexec, "-np", "3", "--oversubscribe", a.binary, "-m", a.model, "-f",
                        os.path.join(a.data, "serve64.jsonl"), "-b", "8", "-q", "-o", offline],
                       env=dict(os.environ, **MPI_ENV), capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"offline run: {r.returncode} {r.stderr[-400:]}")
    ref = {x["id"]: x for x in map(json.loads, open(offline))}
    with Server(a.mpiexec, a.binary, a.model, 3, ["-b", "8", "-q"], os.path.join(a.work, "server.log")) as srv:
        answers = {}

        def one(i):
            status, events = stream(srv.port, "/v1/completions", dict(requests[i], return_tokens=True))
            check(status == 200, f"stream {i}: {status} {events}")
            check(i not in answers, f"stream {i} answered twice")
            answers[i] = joined(events)

        run_threads([lambda i=i: one(i) for i in range(len(requests))])
        for i in range(len(requests)):
            check(answers[i][1] == ref[i]["tokens"] and answers[i][0] == ref[i]["text"],
                  f"stream {i}: differs from the offline run ({len(answers[i][1])} vs {len(ref[i]['tokens'])} tokens)")
        m = metrics(srv.port)
        check(m["mdi_jobs_total"] == len(requests) and m["mdi_generated_tokens_total"] ==
              sum(len(x["tokens"]) for x in ref.values()), "jobs and tokens counted once")
    print(f"{len(requests)} concurrent streams at np 3: each answered once with the offline tokens and text")
    print("PASS")


def case_queue(a):
    """64 clients at once against --max-queue 5 while the ring is held: the
    queue takes exactly 5 sequences (the check and the enqueue are one step
    under the intake's lock), the other 59 requests get 503; with n = 2,
    exactly 2 requests (4 sequences) fit, 62 are refused."""
    with Server(a.mpiexec, a.binary, a.model, 3,
                ["-q", "-b", "1", "--micro-batches", "1", "--max-queue", "5", "-t", "0"],
                os.path.join(a.work, "server.log")) as srv:
        port = srv.port
        ref = {"prompt": "Once upon a time", "max_tokens": 20, "return_tokens": True}
        want = post(port, "/v1/completions", ref)[1]["choices"][0]["tokens"]
        want2 = post(port, "/v1/completions", dict(ref, seed=1))[1]["choices"][0]["tokens"]
        stage = srv.rank_pid(2)
        clients = 64
        for n, fits in ((1, 5), (2, 2)):
            os.kill(stage, signal.SIGSTOP)
            before = metrics(port)
            holder = {}
            t_a = threading.Thread(target=lambda: holder.update(a=post(port, "/v1/completions", ref)))
            t_a.start()
            wait_metric(port, "mdi_slots_busy", 1)  # the one slot is taken: the rest must queue
            results = [None] * clients
            go = threading.Barrier(clients)

            def client(i):
                go.wait()
                results[i] = post(port, "/v1/completions", dict(ref, n=n, seed=0))

            ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            for t in ts:
                t.start()
            # refusals come back at once, accepted requests wait for the ring
            deadline = time.time() + 120
            while time.time() < deadline:
                answered = sum(r is not None for r in results)
                depth = metrics(port)["mdi_queue_depth"]
                if answered + depth / n >= clients:
                    break
                time.sleep(0.1)
            answered = sum(r is not None for r in results)
            depth = metrics(port)["mdi_queue_depth"]
            check(depth == fits * n and answered == clients - fits,
                  f"n={n}: {depth:.0f} sequences queued and {answered} requests answered with the ring held "
                  f"(--max-queue 5: {fits * n} and {clients - fits} expected)")
            for r in results:
                if r is not None:
                    expect_error(r[:2], 503, "server_busy")
            os.kill(stage, signal.SIGCONT)
            for t in ts:
                t.join()
            t_a.join()
            check(holder["a"][0] == 200 and holder["a"][1]["choices"][0]["tokens"] == want, "the running request")
            ok = [r for r in results if r[0] == 200]
            check(len(ok) == fits, f"n={n}: {len(ok)} requests completed, {fits} expected")
            for r in ok:
                toks = [c["tokens"] for c in r[1]["choices"]]
                check(toks == [want, want2][:n], f"n={n}: a queued request's tokens differ from the offline ones")
            after = metrics(port)
            check(after["mdi_jobs_rejected_total"] - before["mdi_jobs_rejected_total"] == clients - fits,
                  "refusals counted")
            print(f"{clients} clients at once, n={n}, --max-queue 5, one slot held: {fits} queued "
                  f"({fits * n} sequences) and completed with the offline tokens, {clients - fits} refused with 503")
    print("PASS")


def drain_outcomes(out, want_of):
    """A drained burst's answers (out[i] = (status, body); the first 48
    streamed, the rest whole): each finished with the offline tokens
    want_of(i) or was cancelled (an error event ending its stream, or 503),
    never anything else.  (finished, cancelled)."""
    done = cancelled = 0
    for i, (status, res) in enumerate(out):
        if i < 48:
            check(status == 200, f"stream {i}: {status} {res}")
            if "error" in res[-1]:
                check(res[-1]["error"]["code"] == "server_shutting_down", f"stream {i}: {res[-1]}")
                cancelled += 1
            else:
                check(joined(res)[1] == want_of(i), f"stream {i}: tokens differ from the offline ones")
                done += 1
        elif status == 503:
            expect_error((status, res), 503, "server_shutting_down")
            cancelled += 1
        else:
            check(status == 200 and all(c["tokens"] == want_of(i) for c in res["choices"]), f"request {i}: {status}")
            done += 1
    return done, cancelled


def drain_burst(a):
    """A burst of 48 streams and 16 whole requests on one slot, then SIGTERM
    to rank 0 once all are accepted and 16 or more still wait: with
    --drain-timeout 600 every request finishes; with 0 the queued ones are cancelled at once (503, or an error
    event that ends the stream).  Either way every stream ends with [DONE]
    or that event (never cut), the job exits 0 and no rank is left."""
    body = {"prompt": "Once upon a time", "max_tokens": 300, "return_tokens": True}
    # "600": time enough for 64 x 300 tokens on one slot in any build (the
    # sanitizer build on a busy host needed more than 30 s)
    for drain in ("600", "0"):
        with Server(a.mpiexec, a.binary, a.model, a.np,
                    ["-q", "-b", "1", "--micro-batches", "1", "--drain-timeout", drain],
                    os.path.join(a.work, f"server.burst{drain}.log")) as srv:
            port = srv.port
            ranks = srv.rank_pids()
            want = {}
            for seed in range(4):
                want[seed] = post(port, "/v1/completions", dict(body, seed=seed))[1]["choices"][0]["tokens"]
            out = [None] * 64

            def client(i):
                b = dict(body, seed=i % 4)
                out[i] = stream(port, "/v1/completions", b) if i < 48 else post(port, "/v1/completions", b)[:2]

            ts = [threading.Thread(target=client, args=(i,)) for i in range(64)]
            for t in ts:
                t.start()
            # every request accepted (one that arrives after the signal is
            # refused with 503 instead) and 16 or more still waiting
            deadline = time.time() + 60
            while True:
                m = metrics(port)
                if m["mdi_jobs_total"] == 4 + 64 and m["mdi_queue_depth"] >= 16:
                    break
                check(time.time() < deadline and m["mdi_jobs_total"] - m["mdi_queue_depth"] < 4 + 48,
                      f"the burst was not queued ({m['mdi_jobs_total']:.0f} jobs, {m['mdi_queue_depth']:.0f} queued)")
                time.sleep(0.01)
            srv.signal(signal.SIGTERM)
            for t in ts:
                t.join(120)
            rc = srv.wait()
            check(rc == 0, f"exit status {rc} after SIGTERM (--drain-timeout {drain})")
            wait_gone(ranks)
            done, cancelled = drain_outcomes(out, lambda i: want[i % 4])
            if drain == "600":
                check(cancelled == 0, f"--drain-timeout 600: {cancelled} requests cancelled")
            else:
                check(cancelled >= 1, "--drain-timeout 0: nothing was cancelled")
            print(f"np {a.np}, SIGTERM to rank 0 with 16 or more of 64 requests queued, --drain-timeout {drain}: "
                  f"{done} finished, {cancelled} cancelled (error event or 503), none cut; exit 0, no rank left")


def case_mpirun(a):
    """SIGTERM to mpirun itself.  Open MPI 4.1 sends its ranks SIGCONT at
    once, SIGTERM odls_base_sigkill_timeout seconds later and SIGKILL as long
    again (measured; 4 s here, so that a loaded machine keeps the margin),
    and exits 1 whatever the ranks do.  Rank 0 sees the SIGTERM come from its
    parent and drains for half the time to the kill, then cancels: every
    stream ends with [DONE] or an error event (none is cut by the kill) and
    no rank is left."""
    body = {"prompt": "Once upon a time", "max_tokens": 300, "return_tokens": True}
    kill_after = 4
    with Server(a.mpiexec, a.binary, a.model, a.np, ["-b", "1", "--micro-batches", "1", "-t", "0"],
                os.path.join(a.work, "server.log"), env={"OMPI_MCA_odls_base_sigkill_timeout": str(kill_after)}) as srv:
        port = srv.port
        ranks = srv.rank_pids()
        want = post(port, "/v1/completions", body)[1]["choices"][0]["tokens"]
        out = [None] * 64

        def client(i):
            # (the whole requests have 8 choices each: more work than 2 x 4 s)
            try:
                out[i] = (stream(port, "/v1/completions", body) if i < 48 else
                          post(port, "/v1/completions", dict(body, n=8))[:2])
            except (Fail, OSError, http.client.HTTPException) as e:  # a connection cut by the kill
                out[i] = ("cut", repr(e))

        ts = [threading.Thread(target=client, args=(i,)) for i in range(64)]
        for t in ts:
            t.start()
        deadline = time.time() + 60
        while metrics(port)["mdi_jobs_total"] < 1 + 64:
            check(time.time() < deadline, "the burst was not accepted")
            time.sleep(0.01)
        os.kill(srv.proc.pid, signal.SIGTERM)
        t0 = time.time()
        for t in ts:
            t.join(120)
        rc = srv.wait()
        took = time.time() - t0
        wait_gone(ranks)
        cut = [i for i in range(64) if out[i] is None or out[i][0] == "cut"]
        check(not cut, f"{len(cut)} requests cut by mpirun's kill, e.g. #{cut[:1]}: {out[cut[0]] if cut else ''}")
        done, cancelled = drain_outcomes(out, lambda i: want)
        check(rc in (0, 1), f"mpirun's exit status {rc}")
        log = srv.log()
        check("Terminated by mpirun, which kills every rank 4 s later" in log,
              f"rank 0 did not see the signal come from mpirun:\n{log[-800:]}")
        print(f"SIGTERM to mpirun (np {a.np}, odls_base_sigkill_timeout {kill_after}) with 64 requests queued: "
              f"{done} finished, {cancelled} cancelled (error event or 503), none cut; no rank left; mpirun "
              f"exited {rc} after {took:.1f} s")
    print("PASS")


def case_drain(a):
    drain_burst(a)
    if a.np < 3:
        print("PASS")
        return
    ref = {"prompt": "Once upon a time", "max_tokens": 60, "return_tokens": True}
    for drain in ("30", "0.5"):
        srv = Server(a.mpiexec, a.binary, a.model, 3, ["-q", "-t", "0", "--drain-timeout", drain],
                     os.path.join(a.work, f"server.drain{drain}.log"))
        try:
            port = srv.port
            want = post(port, "/v1/completions", ref)[1]["choices"][0]["tokens"]
            stage = srv.rank_pid(2)
            os.kill(stage, signal.SIGSTOP)
            results = {}
            ta = threading.Thread(target=lambda: results.update(a=post(port, "/v1/completions", ref)))
            tb = threading.Thread(target=lambda: results.update(b=stream(port, "/v1/completions", ref)))
            ta.start()
            tb.start()
            # both accepted (a connection still in the listen backlog when the
            # signal closes the socket is dropped unanswered) and in slots
            wait_metric(port, "mdi_jobs_total", 3)
            wait_metric(port, "mdi_slots_busy", 2)
            srv.signal(signal.SIGTERM)
            time.sleep(float(drain) + 0.5 if drain != "30" else 0.5)
            try:
                request(port, "GET", "/health", timeout=5)
                raise Fail("a new connection was accepted while draining")
            except (ConnectionRefusedError, ConnectionResetError):
                pass
            os.kill(stage, signal.SIGCONT)
            ta.join()
            tb.join()
            rc = srv.wait()
            check(rc == 0, f"exit status {rc} after SIGTERM")
            if drain == "30":
                check(results["a"][0] == 200 and results["a"][1]["choices"][0]["tokens"] == want, "whole request")
                check(joined(results["b"][1])[1] == want, "streamed request")
                print("SIGTERM: new connections refused, running requests finished, exit 0")
            else:
                expect_error(results["a"], 503, "server_shutting_down")
                last = results["b"][1][-1]
                check("error" in last and last["error"]["code"] == "server_shutting_down",
                      f"stream did not end with an error event: {last}")
                print("SIGTERM, drain timeout passed: running requests cancelled (503, error event), exit 0")
        finally:
            srv.kill()
    print("PASS")


def case_chat(a):
    """A model with a chat format (the Llama test checkpoint: llama2): the
    conversation rendered as a batch run renders a JSONL "messages" line,
    the same tokens, whole and streamed."""
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Red."}, {"role": "user", "content": "Another one?"}]
    lines = os.path.join(a.work, "chat.jsonl")
    with open(lines, "w") as f:
        f.write(json.dumps({"messages": messages[:2], "max_tokens": 8, "seed": 5}) + "\n")
        f.write(json.dumps({"messages": messages, "max_tokens": 8, "seed": 6, "temperature": 1.0}) + "\n")
    out = os.path.join(a.work, "chat.batch.jsonl")
    r = subprocess.run([a.binary, "-m", a.model, "-f", lines, "-q", "-o", out], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    check(r.returncode == 0, f"batch run: {r.stderr}")
    ref = {x["id"]: x for x in map(json.loads, open(out))}
    with Server(a.mpiexec, a.binary, a.model, a.np, ["-q"], os.path.join(a.work, "server.log")) as srv:
        for i, (msgs, extra) in enumerate([(messages[:2], {"seed": 5}), (messages, {"seed": 6, "temperature": 1.0})]):
            body = dict(extra, model="llama", messages=msgs, max_tokens=8, return_tokens=True)
            status, resp, _ = post(srv.port, "/v1/chat/completions", body)
            check(status == 200, f"chat {i}: {status} {resp}")
            ch = resp["choices"][0]
            check(resp["object"] == "chat.completion" and ch["message"]["role"] == "assistant", f"chat {i}: {resp}")
            check(ch["tokens"] == ref[i]["tokens"], f"chat {i}: tokens {ch['tokens']} != batch {ref[i]['tokens']}")
            check(ch["message"]["content"] == ref[i]["text"], f"chat {i}: content differs from the batch text")
            check(resp["usage"]["prompt_tokens"] == len(ref[i]["prompt_tokens"]), f"chat {i}: usage {resp['usage']}")
            status, events = stream(srv.port, "/v1/chat/completions", body)
            check(events[0]["object"] == "chat.completion.chunk" and events[0]["choices"][0]["delta"].get("role") ==
                  "assistant", f"chat {i}: the first chunk has no role: {events[0]}")
            text, tokens, finish = joined(events)
            check(tokens == ref[i]["tokens"] and text == ref[i]["text"], f"chat {i}: streamed differs")
        print(f"/v1/chat/completions at np {a.np}: the batch run's rendering and tokens, whole and streamed")
    print("PASS")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["tokens", "errors", "cancel", "queue", "streams64", "drain", "mpirun", "chat"])
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--np", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    try:
        globals()["case_" + a.case](a)
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()

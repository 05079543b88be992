"""Helpers of the server tests: start mdi_pipeline --serve under mpirun, talk
HTTP to it (whole responses and server-sent event streams), find and signal
its ranks.  Standard library only."""
import http.client
import json
import os
import re
import signal
import subprocess
import time

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_btl": "self,vader,tcp",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
}


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class Server:
    """mpirun -np N mdi_pipeline -m MODEL --serve 127.0.0.1:0 ARGS; the port and
    rank 0's pid come from its "serving ... on port P (pid Q" line."""

    def __init__(self, mpiexec, binary, model, np_, args, log, env=None):
        self.log_path = log
        self.logf = open(log, "w")
        cmd = [mpiexec, "-np", str(np_), "--oversubscribe", binary, "-m", model, "--serve", "127.0.0.1:0"] + list(args)
        full_env = dict(os.environ, **MPI_ENV)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.logf, env=full_env)
        self.np = np_
        self.port = self.pid = None
        deadline = time.time() + 120
        while time.time() < deadline:
            m = re.search(r"on port (\d+) \(pid (\d+)", self.log())
            if m:
                self.port, self.pid = int(m.group(1)), int(m.group(2))
                return
            if self.proc.poll() is not None:
                raise Fail(f"the server exited with {self.proc.returncode} before listening:\n{self.log()}")
            time.sleep(0.05)
        self.kill()
        raise Fail("the server did not start listening within 120 s")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def rank_pid(self, rank):
        """The pid of the mdi_pipeline process of a rank (from its environment)."""
        for pid in subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
                return int(pid)
        raise Fail(f"rank {rank} not found")

    def rank_pids(self):
        return [self.rank_pid(r) for r in range(self.np)]

    def signal(self, sig=signal.SIGTERM):
        os.kill(self.pid, sig)

    def wait(self, timeout=120):
        """Wait for the job to end; its exit status."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail(f"the server did not stop within {timeout} s:\n{self.log()}")

    def stop(self, timeout=120):
        """SIGTERM to rank 0, then the job must end with status 0."""
        self.signal(signal.SIGTERM)
        rc = self.wait(timeout)
        check(rc == 0, f"the server ended with status {rc}:\n{self.log()}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # `with Server(...) as srv:` stops it at the end (SIGTERM, status 0 required),
    # or kills it when the block failed
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        try:
            if kind is None and self.proc.poll() is None:
                self.stop()
        finally:
            self.kill()


def request(port, method, path, body=None, headers=None, timeout=120):
    """(status, parsed JSON or text, headers) of one request."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    text = raw.decode("utf-8")
    try:
        return r.status, json.loads(text), dict(r.getheaders())
    except ValueError:
        return r.status, text, dict(r.getheaders())


def post(port, path, body, headers=None):
    return request(port, "POST", path, body, headers)


def stream(port, path, body, headers=None, on_event=None):
    """POST with "stream": true; returns (status, events): the decoded JSON of
    every `data:` line up to [DONE] (which must come last, unless an error
    event ended the stream)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request("POST", path, body=json.dumps(dict(body, stream=True)).encode(), headers=h)
    r = c.getresponse()
    if r.status != 200:
        out = json.loads(r.read())
        c.close()
        return r.status, out
    check(r.getheader("Content-Type") == "text/event-stream", f"content type {r.getheader('Content-Type')}")
    events, done, buf = [], False, b""
    while True:
        line = r.readline()
        if not line:
            break
        buf += line
        if line not in (b"\n", b"\r\n"):
            continue
        block, buf = buf.strip(), b""
        if not block or block.startswith(b":"):  # a comment (keep-alive)
            continue
        check(block.startswith(b"data: "), f"not an SSE data line: {block[:80]!r}")
        payload = block[6:]
        # every event is whole UTF-8 on its own: never half a character
        payload.decode("utf-8")
        if payload == b"[DONE]":
            done = True
            continue
        check(not done, "an event after [DONE]")
        ev = json.loads(payload)
        events.append(ev)
        if on_event:
            on_event(ev)
    c.close()
    check(done or (events and "error" in events[-1]), "the stream ended without [DONE]")
    return 200, events


def joined(events, index=0):
    """(text, tokens, finish_reason) of one choice from its chunks."""
    text, tokens, finish = "", [], None
    for ev in events:
        for ch in ev.get("choices", []):
            if ch["index"] != index:
                continue
            check(finish is None, "a chunk after the finish reason")
            text += ch["text"] if "text" in ch else ch["delta"].get("content", "")
            tokens += ch.get("tokens", [])
            finish = ch["finish_reason"]
    return text, tokens, finish


def metrics(port, headers=None):
    """/metrics as {name{labels}: value}."""
    status, text, _ = request(port, "GET", "/metrics", headers=headers)
    check(status == 200, f"/metrics: {status}")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def wait_metric(port, name, want, timeout=30, headers=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if metrics(port, headers).get(name, 0) == want:
            return
        time.sleep(0.05)
    raise Fail(f"{name} did not become {want} within {timeout} s (now {metrics(port, headers).get(name)})")


def wait_gone(pids, timeout=60):
    """Every process of pids has ended (none left over once the job is over)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        left = [p for p in pids if os.path.exists(f"/proc/{p}") and not _zombie(p)]
        if not left:
            return
        time.sleep(0.05)
    raise Fail(f"processes {left} still run {timeout} s after the job ended")


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True

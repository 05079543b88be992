#!/usr/bin/env python3
"""-i on a terminal (a pty, as a person types), -i with piped input at np 3,
and -f - (prompts from stdin): the texts equal a batch run's for the same
prompts and seeds (turn i uses seed S + i, as sequence i of a batch run).

usage: interactive_test.py --mpiexec M --binary B --model H5 --work DIR"""
import argparse
import json
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import MPI_ENV, Fail, check  # noqa: E402

PROMPTS = ["Once upon a time", "Lily liked to", "The dog ran"]
SAMPLING = ["-t", "1.0", "--top-p", "0.9", "-s", "1234", "-n", "40"]


def batch_texts(a):
    out = os.path.join(a.work, "batch.jsonl")
    args = [a.binary, "-m", a.model, "-q", "-o", out] + SAMPLING
    for p in PROMPTS:
        args += ["-p", p]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    recs = {r["id"]: r for r in map(json.loads, open(out))}
    return [recs[i]["text"] for i in range(len(PROMPTS))], out


def read_until(fd, marker, timeout=60):
    buf = b""
    deadline = time.time() + timeout
    while marker not in buf:
        left = deadline - time.time()
        check(left > 0, f"no {marker!r} within {timeout} s; got {buf[-200:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def pty_session(a, want):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(a.binary, [a.binary, "-m", a.model, "-i", "-q"] + SAMPLING)
    try:
        read_until(fd, b"> ")
        for i, p in enumerate(PROMPTS):
            os.write(fd, p.encode() + b"\n")
            out = read_until(fd, b"\r\n> ")
            # the terminal echoes the line, then the reply streams, then the next prompt
            echo = p.encode() + b"\r\n"
            check(out.startswith(echo), f"turn {i}: no echo of the prompt: {out[:80]!r}")
            reply = out[len(echo):-len(b"\r\n> ")].decode("utf-8").replace("\r\n", "\n")
            check(reply == want[i], f"turn {i}: {reply!r} != batch {want[i]!r}")
        os.write(fd, b"\x04")  # Ctrl-D at the prompt ends the loop
        deadline = time.time() + 60
        while time.time() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"exit status {status}")
                return
            try:
                select.select([fd], [], [], 0.1)
                os.read(fd, 4096)
            except OSError:
                time.sleep(0.05)
        raise Fail("-i did not end after Ctrl-D")
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def chat(a):
    """-i on a model with a chat format: the lines are the user's turns of one
    conversation; turn 2 equals a batch run of the conversation so far."""
    users = ["Name a colour.", "Another one?"]
    args = ["-t", "1.0", "-s", "77", "-n", "8", "-q"]
    r = subprocess.run([a.binary, "-m", a.chat_model, "-i"] + args, input="".join(u + "\n" for u in users).encode(),
                       capture_output=True, timeout=120)
    check(r.returncode == 0, f"-i chat: status {r.returncode}: {r.stderr.decode()[-300:]}")
    replies = r.stdout.decode().split("\n")[:2]  # (-i shows a byte that is no character as U+FFFD)
    lines = os.path.join(a.work, "chat.jsonl")
    with open(lines, "w") as f:
        f.write(json.dumps({"messages": [{"role": "user", "content": users[0]}]}) + "\n")
        f.write(json.dumps({"messages": [{"role": "user", "content": users[0]},
                                         {"role": "assistant", "content": replies[0]},
                                         {"role": "user", "content": users[1]}]}) + "\n")
    out = os.path.join(a.work, "chat.batch.jsonl")
    r = subprocess.run([a.binary, "-m", a.chat_model, "-f", lines, "-o", out] + args, capture_output=True, timeout=120)
    check(r.returncode == 0, f"chat batch: {r.stderr.decode()[-300:]}")
    ref = {x["id"]: x for x in map(json.loads, open(out))}
    check([ref[0]["text"], ref[1]["text"]] == replies, f"-i chat: {replies} != batch {[ref[0]['text'], ref[1]['text']]}")
    print(f"-i on a chat model: turn 2 continues the conversation (= a batch run of it): {replies}")


def main():
    ap = argparse.ArgumentParser()
    for k in ("mpiexec", "binary", "model", "work"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--chat-model", help="a model with a chat format: -i keeps a conversation")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    try:
        want, batch = batch_texts(a)
        pty_session(a, want)
        print(f"-i on a terminal: {len(PROMPTS)} turns stream the batch run's texts; Ctrl-D ends it with status 0")

        # -i with piped input through mpirun (np 3): the replies in order, one per line
        stdin = "".join(p + "\n" for p in PROMPTS).encode()
        r = subprocess.run([a.mpiexec, "-np", "3", "--oversubscribe", a.binary, "-m", a.model, "-i", "-q"] + SAMPLING,
                           input=stdin, capture_output=True, env=dict(os.environ, **MPI_ENV), timeout=120)
        check(r.returncode == 0, f"np 3: status {r.returncode}: {r.stderr.decode()[-400:]}")
        check(r.stdout.decode() == "".join(t + "\n" for t in want), f"np 3: {r.stdout.decode()[:200]!r}")
        print("-i with piped input at np 3: the same texts")

        # -f -: prompts from stdin, the same journal as -f FILE
        out = os.path.join(a.work, "stdin.jsonl")
        r = subprocess.run([a.binary, "-m", a.model, "-f", "-", "-q", "-o", out] + SAMPLING, input=stdin,
                           capture_output=True, timeout=120)
        check(r.returncode == 0, f"-f -: status {r.returncode}: {r.stderr.decode()}")
        got = {x["id"]: x for x in map(json.loads, open(out))}
        ref = {x["id"]: x for x in map(json.loads, open(batch))}
        check(sorted(got) == sorted(ref) and all(got[i]["tokens"] == ref[i]["tokens"] for i in ref), "-f -: tokens")
        print("-f - reads the prompts from stdin: the same tokens")
        if a.chat_model:
            chat(a)
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()

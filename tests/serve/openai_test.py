#!/usr/bin/env python3
"""The official OpenAI client (node, npm "openai" from package-lock.json)
against the server at np 3: 64 concurrent streams give the tokens of the
same requests run offline (mdi_pipeline -f, also np 3), each once.

usage: openai_test.py --mpiexec M --binary B --model H5 --data DIR --work DIR --node-dir DIR
NODE_DIR holds package.json, package-lock.json and openai_client.mjs; when
its node_modules is missing, `npm ci` installs it there.  Without node or
without the registry the test is skipped (exit 77) with a message."""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import MPI_ENV, Fail, Server, check  # noqa: E402

SKIP = 77


def install(node_dir):
    if os.path.isdir(os.path.join(node_dir, "node_modules", "openai")):
        return
    if not shutil.which("node") or not shutil.which("npm"):
        print("SKIP: node and npm are not installed (scripts/setup.sh --with-test-tools installs them)")
        sys.exit(SKIP)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node_dir,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print("SKIP: `npm ci` could not install the openai client from tests/serve/package-lock.json "
              f"(is the npm registry reachable?):\n{r.stderr.strip()[-600:]}")
        sys.exit(SKIP)


def main():
    ap = argparse.ArgumentParser()
    for k in ("mpiexec", "binary", "model", "data", "work", "node-dir"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--chat-model", help="a model with a chat format for chat.completions")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    install(a.node_dir)
    requests = os.path.join(a.data, "serve64.jsonl")
    offline = os.path.join(a.work, "offline.jsonl")
    key = "sk-mdi-test"
    try:
        r = subprocess.run([a.mpiexec, "-np", "3", "--oversubscribe", a.binary, "-m", a.model, "-f", requests, "-b", "8",
                            "-q", "-o", offline], env=dict(os.environ, **MPI_ENV), capture_output=True, text=True,
                           timeout=300)
        check(r.returncode == 0, f"offline run: {r.returncode} {r.stderr[-400:]}")
        with Server(a.mpiexec, a.binary, a.model, 3, ["-b", "8", "-q", "--api-key", key],
                    os.path.join(a.work, "server.log")) as srv:
            r = subprocess.run(["node", os.path.join(a.node_dir, "openai_client.mjs"), str(srv.port), key, requests,
                                offline], capture_output=True, text=True, timeout=600)
            print(r.stdout, end="")
            print(r.stderr, end="", file=sys.stderr)
            check(r.returncode == 0, f"the node client failed ({r.returncode})")
        if a.chat_model:
            chat = os.path.join(a.work, "chat.jsonl")
            with open(chat, "w") as f:
                f.write(json.dumps({"messages": [{"role": "system", "content": "You are terse."},
                                                 {"role": "user", "content": "Name a colour."}],
                                    "max_tokens": 8, "temperature": 0}) + "\n")
                f.write(json.dumps({"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 6,
                                    "seed": 4, "temperature": 0.8}) + "\n")
            batch = os.path.join(a.work, "chat.batch.jsonl")
            r = subprocess.run([a.binary, "-m", a.chat_model, "-f", chat, "-q", "-o", batch], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, timeout=120)
            check(r.returncode == 0, f"chat batch run: {r.stderr}")
            with Server(a.mpiexec, a.binary, a.chat_model, 3, ["-q"], os.path.join(a.work, "chat.log")) as srv:
                r = subprocess.run(["node", os.path.join(a.node_dir, "openai_chat.mjs"), str(srv.port), chat, batch],
                                   capture_output=True, text=True, timeout=300)
                print(r.stdout, end="")
                print(r.stderr, end="", file=sys.stderr)
                check(r.returncode == 0, f"the node chat client failed ({r.returncode})")
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""-f - reads a batch run's prompts from standard input, also when that is a
pipe through mpirun (which hands rank 0 its standard input): the prompt
"Once" given as `printf 'Once\\n' | mpirun -np N mdi_pipeline -f -` gives the
tokens of `-p Once`, at any number of ranks, and two lines the tokens of
the same lines read from a file.

usage: stdin_test.py --mpiexec M --binary B --model H5 --work DIR --np N"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import MPI_ENV, Fail, check  # noqa: E402

SAMPLING = ["-t", "1.0", "--top-p", "0.9", "-s", "77", "-n", "40", "-q"]


def journal(path):
    return {r["id"]: r for r in map(json.loads, open(path))}


def main():
    ap = argparse.ArgumentParser()
    for k in ("mpiexec", "binary", "model", "work"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--np", type=int, required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    env = dict(os.environ, **MPI_ENV)
    try:
        ref_path = os.path.join(a.work, "p.jsonl")
        r = subprocess.run([a.binary, "-m", a.model, "-p", "Once", "-o", ref_path] + SAMPLING,
                           capture_output=True, timeout=120)
        check(r.returncode == 0, f"-p Once: status {r.returncode}: {r.stderr.decode()[-300:]}")
        ref = journal(ref_path)[0]
        check(len(ref["tokens"]) > 0, "-p Once gave no tokens")

        out = os.path.join(a.work, f"stdin.np{a.np}.jsonl")
        # (Popen's stdin=PIPE: the shell's `printf 'Once\n' |`)
        r = subprocess.run([a.mpiexec, "-np", str(a.np), "--oversubscribe", a.binary, "-m", a.model, "-f", "-",
                            "-o", out] + SAMPLING, input=b"Once\n", capture_output=True, env=env, timeout=120)
        check(r.returncode == 0, f"-f - at np {a.np}: status {r.returncode}: {r.stderr.decode()[-400:]}")
        got = journal(out)
        check(sorted(got) == [0], f"-f - at np {a.np}: sequences {sorted(got)}")
        check(got[0]["tokens"] == ref["tokens"] and got[0]["text"] == ref["text"],
              f"-f - at np {a.np}: tokens {got[0]['tokens'][:8]}... differ from -p Once's {ref['tokens'][:8]}...")
        print(f"printf 'Once\\n' | mpirun -np {a.np} mdi_pipeline -f -: the {len(ref['tokens'])} tokens of -p Once")

        # two prompts through the pipe: sequences 0 and 1, as from a file
        lines = os.path.join(a.work, "two.txt")
        with open(lines, "w") as f:
            f.write("Once\nLily\n")
        file_out, pipe_out = os.path.join(a.work, "two.file.jsonl"), os.path.join(a.work, "two.stdin.jsonl")
        r = subprocess.run([a.binary, "-m", a.model, "-f", lines, "-o", file_out] + SAMPLING, capture_output=True,
                           timeout=120)
        check(r.returncode == 0, f"-f FILE: {r.stderr.decode()[-300:]}")
        r = subprocess.run([a.mpiexec, "-np", str(a.np), "--oversubscribe", a.binary, "-m", a.model, "-f", "-",
                            "-o", pipe_out] + SAMPLING, input=b"Once\nLily\n", capture_output=True, env=env,
                           timeout=120)
        check(r.returncode == 0, f"-f - (two lines): {r.stderr.decode()[-300:]}")
        f1, p1 = journal(file_out), journal(pipe_out)
        check(sorted(p1) == [0, 1] and all(p1[i]["tokens"] == f1[i]["tokens"] for i in (0, 1)),
              f"-f - (two lines) at np {a.np}: tokens differ from -f FILE")
        print(f"two prompts through the pipe at np {a.np}: the tokens of -f FILE")
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()

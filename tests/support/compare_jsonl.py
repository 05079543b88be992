#!/usr/bin/env python3
"""Compare the generated token ids of two JSONL files sequence by sequence.

usage: compare_jsonl.py EXPECTED ACTUAL [--fields tokens,finish_reason]

Both files hold one JSON object per line with an "id"; lines may be in any
order (the journal is written in finishing order).  Every id of EXPECTED
must appear exactly once in ACTUAL with equal fields, and no other id."""
import json
import sys


def load(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec["id"] in out:
                sys.exit(f"{path}:{n}: id {rec['id']} appears twice")
            out[rec["id"]] = rec
    return out


def main():
    args = sys.argv[1:]
    fields = ["tokens"]
    if "--fields" in args:
        i = args.index("--fields")
        fields = args[i + 1].split(",")
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    expected, actual = load(args[0]), load(args[1])
    bad = 0
    if set(expected) != set(actual):
        print(f"ids differ: missing {sorted(set(expected) - set(actual))}, "
              f"extra {sorted(set(actual) - set(expected))}")
        bad += 1
    for i in sorted(set(expected) & set(actual)):
        for f in fields:
            if expected[i].get(f) != actual[i].get(f):
                print(f"sequence {i}: {f} differs\n  expected {expected[i].get(f)}\n  actual   {actual[i].get(f)}")
                bad += 1
    print(f"{len(expected)} sequences compared on {','.join(fields)}: {'OK' if not bad else f'{bad} differences'}")
    sys.exit(1 if bad else 0)


main()

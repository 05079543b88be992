#!/usr/bin/env python3
"""Every configuration key mdi_pipeline knows is documented in docs/CONFIG.md.

usage: check_doc_keys.py MDI_PIPELINE CONFIG.md
The keys and their sections come from `mdi_pipeline --print-config` (which
prints every key, unset ones commented out); each must appear as `key =` in
the same [section] of the INI example in CONFIG.md."""
import re
import subprocess
import sys


def sections(text):
    """{section: set(keys)} of INI text; commented `; key =` lines count."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^\[([a-z_]+)\]\s*$", line)
        if m:
            cur = m.group(1)
            out.setdefault(cur, set())
            continue
        m = re.match(r"^;?\s*([a-z_0-9]+)\s*=", line)
        if m and cur:
            out[cur].add(m.group(1))
    return out


exe, doc = sys.argv[1], sys.argv[2]
printed = subprocess.run([exe, "--print-config", "-m", "x"], check=True, capture_output=True, text=True).stdout
known = sections(printed)
documented = sections(open(doc, encoding="utf-8").read())
missing = [f"[{s}] {k}" for s, keys in sorted(known.items()) for k in sorted(keys) if k not in documented.get(s, set())]
if missing:
    sys.exit(f"{doc}: keys of --print-config missing from the example: {', '.join(missing)}")
print(f"{sum(len(k) for k in known.values())} keys in {len(known)} sections, all documented")

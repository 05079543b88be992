#!/usr/bin/env python3
"""The refusal table of docs/MODELS.md ("Refusals, each one error line naming
the file and the setting") quotes the converter's messages: run each case and
require every quoted message of the row, verbatim, in the error output.

usage: check_refusals_doc.py MODELS.md MDI_CONVERT MAKE_BAD_HF CKPT_DIR GGUF_EDIT ARCHS_DIR WORK_DIR

Each row's setting (first column) must be one of CASES below, and each case
must have its row, so the table and the test change together.  A quoted
message is a backticked span of the second column longer than 30 characters
(the short spans name keys and values: `dynamic`, `num_experts`)."""
import os
import re
import shutil
import subprocess
import sys

# setting -> commands; ("hf", KIND): make_bad_hf.py KIND, then mdi_convert hf;
# ("gguf", FAMILY, EDIT): gguf_edit.py on the family's F32 GGUF, then mdi_convert gguf;
# ("export", FAMILY): export-llama2c of the family's hf import, read as "model.h5"
CASES = {
    "another class": [("hf", "unsupported_arch"), ("gguf", "qwen3", "general.architecture=str:gemma")],
    "another rope scaling": [("hf", "rope_scaling"), ("hf", "rope_dynamic"),
                             ("gguf", "qwen2", "qwen2.rope.scaling.type=str:yarn")],
    "LongRoPE without its context": [("hf", "longrope")],
    "mixture of experts": [("hf", "experts"), ("gguf", "llama3", "llama.expert_count=u32:8")],
    "Qwen's per-layer window": [("hf", "qwen_window")],
    "an odd partial RoPE": [("hf", "partial_rotary")],
    "Phi-3 with biases": [("hf", "phi3_bias")],
    "another activation": [("hf", "hidden_act")],
    "GGUF value heads of another size": [("gguf", "llama3", "llama.attention.value_length=u32:32")],
    "exporting such a model to llama2.c": [("export", "qwen3")],
}


def table_rows(doc):
    """(setting, [messages]) of the table after the line starting "Refusals"."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Refusals, each one error line"))
    rows, seen_table = [], False
    for line in lines[start + 1:]:
        if not line.startswith("|"):
            if seen_table:
                break
            continue
        seen_table = True
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("setting", "---") or set(cells[0]) <= set("- "):
            continue
        # a message may hold "|"-free text only; rejoin the cells after the first
        rest = "|".join(cells[1:])
        rows.append((cells[0], [m for m in re.findall(r"`([^`]+)`", rest) if len(m) > 30]))
    return rows


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    doc_path, convert, make_bad, ckpt, gguf_edit, archs, work = sys.argv[1:]
    with open(doc_path, encoding="utf-8") as f:
        rows = table_rows(f.read())
    os.makedirs(work, exist_ok=True)
    failures = []
    names = [r[0] for r in rows]
    for name in CASES:
        if name not in names:
            failures.append("the table has no row %r" % name)
    for setting, messages in rows:
        if setting not in CASES:
            failures.append("row %r: no case in check_refusals_doc.py" % setting)
            continue
        if not messages:
            failures.append("row %r quotes no message" % setting)
        errors = ""
        for n, case in enumerate(CASES[setting]):
            tag = "%s.%d" % (re.sub(r"[^a-z0-9]+", "_", setting.lower()), n)
            if case[0] == "hf":
                d = os.path.join(work, tag)
                subprocess.run([sys.executable, make_bad, case[1], ckpt, d], check=True)
                rc, err = run([convert, "hf", d, d + ".h5"])
            elif case[0] == "gguf":
                g = os.path.join(work, tag + ".gguf")
                subprocess.run([sys.executable, gguf_edit, os.path.join(archs, case[1] + ".f32.gguf"), g, case[2]],
                               check=True)
                rc, err = run([convert, "gguf", g, g + ".h5"])
            else:
                d = os.path.join(work, tag)
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                os.symlink(os.path.join(archs, case[1] + ".hf.h5"), os.path.join(d, "model.h5"))
                rc, err = run([convert, "export-llama2c", os.path.join(d, "model.h5"), os.path.join(d, "out.bin")])
            if rc == 0:
                failures.append("row %r: case %s was not refused" % (setting, case))
            errors += err
        for m in messages:
            if m not in errors:
                failures.append("row %r: the message `%s` is not what the converter says:\n%s" % (setting, m, errors))
        print("%-36s %d message(s), %d case(s)" % (setting, len(messages), len(CASES[setting])))
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


main()

#!/usr/bin/python3
"""Renders tests/data/chat/conversations.json with every template in tests/data/chat/templates/
the way transformers' apply_chat_template does, into tests/data/chat/expected/NAME.jsonl.

    /usr/bin/python3 tests/reference/chat/render.py [--data tests/data/chat] [--check]

Runs with Debian 12's python3-jinja2 (3.1.2) and the standard library only. --check renders
into memory and exits 1 if any committed expected file differs (nothing is written).

The Jinja environment is the one transformers builds in
utils/chat_template_utils.py:_cached_compile_jinja_template (transformers 4.45 and later):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension, the `tojson` filter replaced by json.dumps(ensure_ascii=False, ...), and the
globals raise_exception (raises TemplateError(message)) and strftime_now. The template is
rendered with messages, tools=None, documents=None, add_generation_prompt and the keyword
arguments, as render_jinja_template does; bos_token/eos_token come from the model's
tokenizer_config.json (apply_chat_template passes the special tokens that way; a token that
is null there is not passed). The one deliberate difference: strftime_now reads a fixed
clock (FROZEN_NOW) instead of datetime.now(), so that Llama 3.2's default date is reproducible.
transformers' AssistantTracker extension ({% generation %}) is left out: no template here uses it.
"""
import argparse
import datetime
import hashlib
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

FROZEN_NOW = datetime.datetime(2025, 1, 2, 12, 0, 0)
EXPECTED_JINJA = "3.1.2"


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # transformers overrides Jinja's tojson, which would escape HTML characters
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return FROZEN_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_all(data_dir):
    with open(os.path.join(data_dir, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)["conversations"]
    tdir = os.path.join(data_dir, "templates")
    with open(os.path.join(tdir, "SOURCES.json"), encoding="utf-8") as f:
        sources = json.load(f)
    env = make_environment()
    outputs = {}
    for name in sorted(sources):
        spec = sources[name]
        with open(os.path.join(tdir, name + ".jinja"), "rb") as f:
            raw = f.read()
        if hashlib.sha256(raw).hexdigest() != spec["sha256"]:
            sys.exit("%s.jinja does not match the sha256 in SOURCES.json (edited by hand?)" % name)
        template = env.from_string(raw.decode("utf-8"))
        lines = []
        for variant in spec["kwargs_variants"]:
            kwargs = {}
            for tok in ("bos_token", "eos_token"):
                if spec[tok] is not None:
                    kwargs[tok] = spec[tok]
            kwargs.update(variant)
            for index, conv in enumerate(conversations):
                for agp in (False, True):
                    row = {"conversation": index, "add_generation_prompt": agp, "kwargs": kwargs}
                    try:
                        row["text"] = template.render(messages=conv["messages"], tools=None,
                                                      documents=None, add_generation_prompt=agp,
                                                      **kwargs)
                    except jinja2.exceptions.TemplateError as e:
                        row["error"] = str(e)
                        row["error_type"] = type(e).__name__
                    lines.append(json.dumps(row, ensure_ascii=False))
        outputs[name + ".jsonl"] = "".join(line + "\n" for line in lines)
    return outputs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "..", "data", "chat"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if jinja2.__version__ != EXPECTED_JINJA:
        sys.exit("jinja2 %s found at %s; the reference outputs were made with Debian's "
                 "python3-jinja2 %s: run /usr/bin/python3" % (jinja2.__version__, jinja2.__file__,
                                                              EXPECTED_JINJA))
    outputs = render_all(args.data)
    edir = os.path.join(args.data, "expected")
    if args.check:
        bad = []
        for fname, text in sorted(outputs.items()):
            path = os.path.join(edir, fname)
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if old != text:
                bad.append(fname)
        stale = sorted(set(os.listdir(edir)) - set(outputs)) if os.path.isdir(edir) else []
        for fname in bad:
            print("differs: " + fname)
        for fname in stale:
            print("no template for: " + fname)
        sys.exit(1 if bad or stale else 0)
    os.makedirs(edir, exist_ok=True)
    for fname, text in sorted(outputs.items()):
        with open(os.path.join(edir, fname), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    print("wrote %d files to %s" % (len(outputs), os.path.normpath(edir)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Damaged copies of the test checkpoints (tests/reference/make_hf_checkpoints.py),
one problem each, for the bad-input tests of mdi_convert hf.

usage: make_bad_hf.py KIND CHECKPOINTS_DIR OUT_DIR
writes OUT_DIR as a copy of CHECKPOINTS_DIR/llama (gpt2, llama-sharded for
some kinds) with the problem KIND; KINDS lists them."""
import json
import os
import shutil
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write(path, header, data, length=None):
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if length is None else length))
        f.write(text)
        f.write(data)


def edit_header(d, fn, name="model.safetensors"):
    path = os.path.join(d, name)
    header, data = read(path)
    data = fn(header, data)
    write(path, header, data)


def by_offset(header):
    return sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])


def shift(header, name, delta):
    b, e = header[name]["data_offsets"]
    header[name]["data_offsets"] = [b + delta, e + delta]


def edit_json(path, fn):
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    fn(j)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)


def truncated(d):
    path = os.path.join(d, "model.safetensors")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)


def header_beyond(d):
    path = os.path.join(d, "model.safetensors")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.write(struct.pack("<Q", size + 100))


def header_limit(d):
    path = os.path.join(d, "model.safetensors")
    header, data = read(path)
    write(path, header, data, length=1 << 40)


def bad_json(d):
    path = os.path.join(d, "model.safetensors")
    with open(path, "r+b") as f:
        f.seek(8)
        f.write(b"[")  # the header's opening brace


def overlap(d):
    edit_header(d, lambda h, data: (shift(h, by_offset(h)[3], -4), data)[1])


def hole(d):
    def fn(h, data):
        shift(h, by_offset(h)[-1], 4)  # 4 bytes nobody owns before the last tensor
        last = h[by_offset(h)[-1]]
        size = last["data_offsets"][1] - last["data_offsets"][0]
        return data[:-size] + b"\0" * 4 + data[-size:]
    edit_header(d, fn)


def unknown_dtype(d):
    edit_header(d, lambda h, data: (h["model.norm.weight"].update(dtype="F33"), data)[1])


def unsupported_dtype(d):
    edit_header(d, lambda h, data: (h["model.norm.weight"].update(dtype="I32"), data)[1])


def size_mismatch(d):
    edit_header(d, lambda h, data: (h["model.norm.weight"].update(shape=[65]), data)[1])


def shape_config(d):
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(intermediate_size=160))


def missing_tensor(d):
    def fn(h, data):
        name = "model.layers.1.mlp.up_proj.weight"
        b, e = h.pop(name)["data_offsets"]
        for k in by_offset(h):
            if h[k]["data_offsets"][0] >= e:
                shift(h, k, b - e)
        return data[:b] + data[e:]
    edit_header(d, fn)


def unsupported_arch(d):
    edit_json(os.path.join(d, "config.json"),
              lambda c: c.update(architectures=["GemmaForCausalLM"], model_type="gemma"))


def rope_scaling(d):
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(rope_scaling={"rope_type": "yarn", "factor": 4.0}))


def longrope(d):  # Phi-3 128k, Phi-3.5, Phi-4-mini without the context of the short factors
    edit_json(os.path.join(d, "config.json"),
              lambda c: c.update(architectures=["Phi3ForCausalLM"], model_type="phi3",
                                 rope_scaling={"type": "longrope", "long_factor": [1.0] * 8,
                                               "short_factor": [1.0] * 8}))


def rope_dynamic(d):
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(rope_scaling={"type": "dynamic", "factor": 2.0}))


def phi3_bias(d):  # Phi3ForCausalLM has no biases in transformers' code
    edit_json(os.path.join(d, "config.json"),
              lambda c: c.update(architectures=["Phi3ForCausalLM"], model_type="phi3", attention_bias=True))


def hidden_act(d):
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(hidden_act="gelu"))


def experts(d):
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(num_local_experts=8))


def qwen_window(d):
    edit_json(os.path.join(d, "config.json"),
              lambda c: c.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", use_sliding_window=True,
                                 sliding_window=32))


def partial_rotary(d):  # 16-dim heads: 0.1 leaves one rotated dim
    edit_json(os.path.join(d, "config.json"),
              lambda c: c.update(architectures=["Phi3ForCausalLM"], model_type="phi3", partial_rotary_factor=0.1))


def no_config(d):
    os.remove(os.path.join(d, "config.json"))


def shard_missing(d):
    os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))


def shard_wrong_map(d):
    def fn(j):
        m = j["weight_map"]
        name = sorted(k for k, v in m.items() if v.startswith("model-00001"))[0]
        m[name] = "model-00002-of-00002.safetensors"
    edit_json(os.path.join(d, "model.safetensors.index.json"), fn)


def tokenizer_unigram(d):
    edit_json(os.path.join(d, "tokenizer.json"), lambda j: j["model"].update(type="Unigram"))


def tokenizer_merge(d):
    edit_json(os.path.join(d, "tokenizer.json"), lambda j: j["model"]["merges"].append("zz qq"))


def gpt2_untied(d):
    def fn(h, data):
        emb = h["transformer.wte.weight"]
        b, e = emb["data_offsets"]
        end = max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__")
        h["lm_head.weight"] = {"dtype": "F32", "shape": emb["shape"], "data_offsets": [end, end + e - b]}
        return data + bytes(e - b)  # zeros: not the embedding
    edit_header(d, fn)


KINDS = {f.__name__: f for f in (truncated, header_beyond, header_limit, bad_json, overlap, hole, unknown_dtype,
                                 unsupported_dtype, size_mismatch, shape_config, missing_tensor, unsupported_arch,
                                 rope_scaling, rope_dynamic, phi3_bias, hidden_act, longrope, experts, qwen_window, partial_rotary, no_config, shard_missing, shard_wrong_map, tokenizer_unigram,
                                 tokenizer_merge, gpt2_untied)}
SOURCE = {"shard_missing": "llama-sharded", "shard_wrong_map": "llama-sharded", "gpt2_untied": "gpt2"}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in KINDS:
        sys.exit(__doc__ + "kinds: " + " ".join(KINDS))
    kind, src, out = sys.argv[1:]
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(os.path.join(src, SOURCE.get(kind, "llama")), out)
    KINDS[kind](out)


main()

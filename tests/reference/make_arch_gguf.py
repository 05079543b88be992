#!/usr/bin/env python3
"""Write the F32 GGUF that llama.cpp's converter makes from a Hugging Face checkpoint of
tests/data/archs, and check it byte for byte against the file llama.cpp ran.

usage: make_arch_gguf.py FAMILY_DIR OUT.gguf

FAMILY_DIR holds hf/ (config.json, tokenizer.json, tokenizer_config.json, model.safetensors
with BF16 tensors) and reference.json, whose models["model.f32.gguf"].sha256 is the hash of
the GGUF llama.cpp computed its reference with.  The file written here must have that hash,
so the GGUF tests of mdi_convert read exactly llama.cpp's file, and the repository needs to
hold only the Hugging Face checkpoint.

The layout is that of llama.cpp's convert_hf_to_gguf.py (written with gguf-py's GGUFWriter,
GGUF version 3, alignment 32) for each class:
  - LlamaForCausalLM, MistralForCausalLM -> arch "llama": q/k rows permuted from Hugging
    Face's rotate-half order to interleaved pairs (k with n_kv_heads); llama.vocab_size and
    rope.dimension_count; Llama 3's rope_scaling becomes the tensor rope_freqs.weight;
  - Qwen2ForCausalLM, Qwen3ForCausalLM -> "qwen2", "qwen3": no permutation, biases and
    q/k norms under llama.cpp's names;
  - Phi3ForCausalLM -> "phi3": fused attn_qkv and ffn_up kept, rope.dimension_count =
    hidden/heads, rope.scaling.original_context_length, attention.sliding_window 0 for null;
  - attention.key_length/value_length where config.json has head_dim;
  - the tokenizer as gpt2 BPE: tokens (padded ids "[PADn]", UNUSED), token types (CONTROL
    for special added tokens, USER_DEFINED for the others), merges, bos (config.json),
    eos/unk/pad (tokenizer_config.json), add_bos, add_eos, the chat template;
  - tensors: rope_freqs first, then the checkpoint's in name order, all F32 (the BF16
    values widened).
Only numpy (Debian python3-numpy) and the standard library.
"""
import hashlib
import json
import math
import os
import struct
import sys

try:
    import numpy as np
except ImportError:  # Debian's numpy lives in /usr/bin/python3
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    raise

ALIGN = 32
GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 7, 8, 9
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5
ARCH = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2",
        "Qwen3ForCausalLM": "qwen3", "Phi3ForCausalLM": "phi3"}
PRE = {"llama-bpe": "llama-bpe"}  # tokenizer.ggml.pre: see pre_name()
NAMES = [  # Hugging Face suffix -> llama.cpp name (gguf-py tensor_mapping)
    ("input_layernorm.weight", "attn_norm.weight"), ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ("self_attn.q_proj.weight", "attn_q.weight"), ("self_attn.q_proj.bias", "attn_q.bias"),
    ("self_attn.k_proj.weight", "attn_k.weight"), ("self_attn.k_proj.bias", "attn_k.bias"),
    ("self_attn.v_proj.weight", "attn_v.weight"), ("self_attn.v_proj.bias", "attn_v.bias"),
    ("self_attn.o_proj.weight", "attn_output.weight"), ("self_attn.qkv_proj.weight", "attn_qkv.weight"),
    ("self_attn.q_norm.weight", "attn_q_norm.weight"), ("self_attn.k_norm.weight", "attn_k_norm.weight"),
    ("mlp.gate_proj.weight", "ffn_gate.weight"), ("mlp.up_proj.weight", "ffn_up.weight"),
    ("mlp.down_proj.weight", "ffn_down.weight"), ("mlp.gate_up_proj.weight", "ffn_up.weight"),
]


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        if v["dtype"] != "BF16":
            sys.exit(f"{path}: {name} is {v['dtype']}, expected BF16")
        s, e = v["data_offsets"]
        u = np.frombuffer(data[8 + n + s:8 + n + e], "<u2").astype(np.uint32) << 16
        out[name] = u.view(np.float32).reshape(v["shape"])
    return out


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".", 3)  # model, layers, N, suffix
    for suffix, g in NAMES:
        if parts[:2] == ["model", "layers"] and parts[3] == suffix:
            return f"blk.{parts[2]}.{g}"
    sys.exit(f"no GGUF name for tensor {hf}")


def permute(w, n_head):
    """Rotate-half rows -> interleaved pairs, per head (convert_hf_to_gguf.py LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_freqs(cfg, head_dim):
    """LlamaModel's rope_freqs for rope_type llama3, computed in float32 as the converter does."""
    rs = cfg["rope_scaling"]
    base = cfg["rope_theta"]
    freqs = (1.0 / (np.float32(base) ** (np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim))))
    freqs = freqs.astype(np.float32)
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs.get("original_max_position_embeddings", 8192)
    lo_wl, hi_wl = old / lo, old / hi
    out = []
    for f in freqs:
        wl = np.float32(2 * math.pi) / f
        if wl < hi_wl:
            out.append(1.0)
        elif wl > lo_wl:
            out.append(factor)
        else:
            smooth = (np.float32(old) / wl - np.float32(lo)) / np.float32(hi - lo)
            out.append(np.float32(1) / ((np.float32(1) - smooth) / np.float32(factor) + smooth))
    return np.array(out, dtype=np.float32)


def pre_name(tok):
    """tokenizer.ggml.pre of these fixtures' tokenizers, from their pre-tokenizer regex."""
    pre = tok["pre_tokenizer"]
    if pre["type"] == "ByteLevel":
        return "gpt-2"
    regex = pre["pretokenizers"][0]["pattern"]["Regex"]
    return "llama-bpe" if "\\p{N}{1,3}" in regex else "qwen2"


class Writer:
    def __init__(self):
        self.kv = bytearray()
        self.n_kv = 0

    @staticmethod
    def string(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def add(self, key, vtype, value):
        self.kv += self.string(key) + struct.pack("<I", vtype)
        self.kv += self.value(vtype, value)
        self.n_kv += 1

    def value(self, vtype, value):
        if vtype == GGUF_STRING:
            return self.string(value)
        return struct.pack({GGUF_U32: "<I", GGUF_I32: "<i", GGUF_F32: "<f", GGUF_BOOL: "<?"}[vtype], value)

    def add_array(self, key, etype, values):
        self.kv += self.string(key) + struct.pack("<IIQ", GGUF_ARRAY, etype, len(values))
        self.kv += b"".join(self.value(etype, v) for v in values)
        self.n_kv += 1


def tokenizer_kv(w, d, cfg, vocab_size):
    tok = json.load(open(os.path.join(d, "hf", "tokenizer.json"), encoding="utf-8"))
    tcfg = json.load(open(os.path.join(d, "hf", "tokenizer_config.json"), encoding="utf-8"))
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok["added_tokens"]}
    for i, a in added.items():
        by_id[i] = a["content"]
    ids = {t: i for i, t in by_id.items()}
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]"), types.append(UNUSED)
        else:
            tokens.append(by_id[i])
            types.append((CONTROL if added[i]["special"] else USER_DEFINED) if i in added else NORMAL)
    w.add("tokenizer.ggml.model", GGUF_STRING, "gpt2")
    w.add("tokenizer.ggml.pre", GGUF_STRING, pre_name(tok))
    w.add_array("tokenizer.ggml.tokens", GGUF_STRING, tokens)
    w.add_array("tokenizer.ggml.token_type", GGUF_I32, types)
    w.add_array("tokenizer.ggml.merges", GGUF_STRING, tok["model"]["merges"])
    w.add("tokenizer.ggml.bos_token_id", GGUF_U32, cfg["bos_token_id"])
    w.add("tokenizer.ggml.eos_token_id", GGUF_U32, ids[tcfg["eos_token"]])
    if tcfg.get("unk_token") is not None:
        w.add("tokenizer.ggml.unknown_token_id", GGUF_U32, ids[tcfg["unk_token"]])
    if tcfg.get("pad_token") is not None:
        w.add("tokenizer.ggml.padding_token_id", GGUF_U32, ids[tcfg["pad_token"]])
    add_bos = tcfg.get("add_bos_token")
    if add_bos is None:  # the post-processor decides: a TemplateProcessing adds BOS
        add_bos = "TemplateProcessing" in json.dumps(tok["post_processor"])
    w.add("tokenizer.ggml.add_bos_token", GGUF_BOOL, bool(add_bos))
    w.add("tokenizer.ggml.add_eos_token", GGUF_BOOL, False)
    w.add("tokenizer.chat_template", GGUF_STRING, tcfg["chat_template"])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "hf", "config.json")))
    ref = json.load(open(os.path.join(d, "reference.json")))
    cls = cfg["architectures"][0]
    arch = ARCH[cls]
    E, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim", E // H)
    tensors = read_safetensors(os.path.join(d, "hf", "model.safetensors"))
    w = Writer()
    w.add("general.architecture", GGUF_STRING, arch)
    w.add("general.type", GGUF_STRING, "model")
    w.add("general.name", GGUF_STRING, f"mdi-llm fixture {os.path.basename(os.path.normpath(d))}")
    w.add("general.quantization_version", GGUF_U32, 2)
    w.add("general.file_type", GGUF_U32, 0)  # all F32
    w.add(f"{arch}.block_count", GGUF_U32, cfg["num_hidden_layers"])
    w.add(f"{arch}.context_length", GGUF_U32, cfg["max_position_embeddings"])
    w.add(f"{arch}.embedding_length", GGUF_U32, E)
    w.add(f"{arch}.feed_forward_length", GGUF_U32, cfg["intermediate_size"])
    w.add(f"{arch}.attention.head_count", GGUF_U32, H)
    w.add(f"{arch}.attention.head_count_kv", GGUF_U32, KV)
    w.add(f"{arch}.rope.freq_base", GGUF_F32, cfg["rope_theta"])
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", GGUF_F32, cfg["rms_norm_eps"])
    if "head_dim" in cfg:
        w.add(f"{arch}.attention.key_length", GGUF_U32, head_dim)
        w.add(f"{arch}.attention.value_length", GGUF_U32, head_dim)
    if arch == "llama":
        w.add(f"{arch}.vocab_size", GGUF_U32, cfg["vocab_size"])
        w.add(f"{arch}.rope.dimension_count", GGUF_U32, head_dim)
    if arch == "phi3":
        w.add(f"{arch}.rope.scaling.original_context_length", GGUF_U32, cfg["original_max_position_embeddings"])
        w.add(f"{arch}.rope.dimension_count", GGUF_U32, E // H)
        w.add(f"{arch}.attention.sliding_window", GGUF_U32, cfg.get("sliding_window") or 0)
    tokenizer_kv(w, d, cfg, cfg["vocab_size"])
    items = []
    if (cfg.get("rope_scaling") or {}).get("rope_type") == "llama3":
        items.append(("rope_freqs.weight", llama3_rope_freqs(cfg, head_dim)))
    for hf in sorted(tensors):
        x = tensors[hf]
        if arch == "llama" and hf.endswith("self_attn.q_proj.weight"):
            x = permute(x, H)
        elif arch == "llama" and hf.endswith("self_attn.k_proj.weight"):
            x = permute(x, KV)
        items.append((gguf_name(hf), np.ascontiguousarray(x, dtype=np.float32)))
    info, data = bytearray(), bytearray()
    for name, x in items:
        info += Writer.string(name) + struct.pack("<I", x.ndim)
        info += b"".join(struct.pack("<Q", n) for n in reversed(x.shape))
        info += struct.pack("<IQ", 0, len(data))
        data += x.astype("<f4").tobytes()
        data += b"\0" * (-len(data) % ALIGN)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(items), w.n_kv) + bytes(w.kv) + bytes(info)
    blob = head + b"\0" * (-len(head) % ALIGN) + bytes(data)
    want = ref["models"]["model.f32.gguf"]["sha256"]
    have = hashlib.sha256(blob).hexdigest()
    if have != want:
        sys.exit(f"{out}: sha256 {have} differs from llama.cpp's file ({want}, {d}/reference.json)")
    with open(out, "wb") as f:
        f.write(blob)
    print(f"{out}: {len(blob)} bytes, sha256 {have} = llama.cpp's model.f32.gguf")


if __name__ == "__main__":
    main()

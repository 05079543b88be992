#!/usr/bin/env python3
"""Write tiny random checkpoints in Hugging Face's layout (numpy only).

usage: make_hf_checkpoints.py OUT_DIR

OUT_DIR/gpt2/           GPT2LMHeadModel: 2 layers, dim 64, 4 heads, 64 positions,
                        a byte-level BPE tokenizer.json of 300 pieces (256 bytes,
                        43 merges, <|endoftext|>); F32, names "transformer.*" with
                        the causal-mask buffers h.N.attn.bias
OUT_DIR/llama/          LlamaForCausalLM: 3 layers, dim 64, 4 heads, 2 KV heads,
                        hidden 172, untied lm_head, a SentencePiece-style BPE
                        tokenizer.json with byte fallback; F32
OUT_DIR/llama-f16/      the same weights stored as F16
OUT_DIR/llama-bf16/     the same weights stored as BF16
OUT_DIR/llama-sharded/  the F32 weights in two shards with model.safetensors.index.json
OUT_DIR/gpt2-legacy/    the GPT-2 weights in F16 with the original names (no
                        "transformer." prefix) and lm_head.weight a copy of wte
OUT_DIR/llama-tied/     a Llama with tie_word_embeddings (no lm_head.weight),
                        rope_theta 500000, rms_norm_eps 1e-6, and its tokenizer in
                        the newer form (Metaspace pre-tokenizer, no normalizer)
OUT_DIR/llama-options/  LlamaForCausalLM with attention_bias, mlp_bias, head_dim 24
                        (q 96 wide for dim 64) and linear rope scaling 2.5
OUT_DIR/mistral-window/ MistralForCausalLM with sliding_window 7
OUT_DIR/phi3-partial/   Phi3ForCausalLM: fused qkv_proj and gate_up_proj,
                        partial_rotary_factor 0.5, sliding_window 11
OUT_DIR/qwen2-llama3rope/ Qwen2ForCausalLM (q/k/v biases) with Llama 3's rope
                        scaling at original_max_position_embeddings 64, where
                        the 20 test positions meet all three frequency bands
OUT_DIR/phi3-longrope/  Phi3ForCausalLM with LongRoPE (4 short, 4 long factors, original
                        context 64 of 256) and partial_rotary_factor 0.5
OUT_DIR/smollm2/        LlamaForCausalLM of SmolLM2's kind: 9 heads, 3 KV heads, tied,
                        rope_theta 100000, the Digits + ByteLevel pre-tokenizer
OUT_DIR/encode.jsonl    300 random short texts (ASCII, white space, contractions,
                        Latin-1, general punctuation, CJK, emoji, full-width forms)
                        as prompts of one new token, to compare prompt tokens
OUT_DIR/llama2c/        the F32 weights as a llama2.c legacy checkpoint (model.bin)
                        and tokenizer.bin, Q/K rows permuted back to llama2.c's
                        interleaved RoPE order as llama2.c's export.py does

Weights come from numpy's RandomState (stable across numpy versions), so
every run writes the same files."""
import json
import os
import struct
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hf  # noqa: E402

CORPUS = (
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big, red ball. It's the best ball! They'd say: \"we'll see\", and they're right. "
    "The sun was shining and the sky was blue; 12 birds sang 345 songs at 6:30.\n"
    "The cat sat on the mat.  The dog ran in the garden.\n\n"
    "Héllo wörld, naïve café — déjà vu. Tom said \"hello world\" to the other children in the town."
)

# ---- tokenizers -----------------------------------------------------------------


def learn_merges(words, n_merges):
    """Greedy BPE on {tuple of symbols: count}: the most frequent pair first,
    ties to the smallest pair, so the result does not depend on dict order."""
    words = dict(words)
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def gpt2_tokenizer(vocab_size):
    """Byte-level BPE: ids 0..255 the bytes in the order of GPT-2's table
    (printable bytes first, so an id is not its byte), merges, <|endoftext|>."""
    table = hf.bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(table.values())}
    words = Counter()
    for piece in hf.gpt2_pretokenize(CORPUS):
        words[tuple(table[b] for b in piece.encode("utf-8"))] += 1
    merges = learn_merges(words, vocab_size - 257)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    assert len(vocab) == vocab_size - 1, len(vocab)
    eot = vocab_size - 1
    vocab["<|endoftext|>"] = eot
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        # merges in the newer list-of-pairs form
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [[a, b] for a, b in merges]},
    }, eot


SPACE = "\u2581"


def llama_tokenizer(n_merges):
    """SentencePiece-style BPE as Hugging Face converts Llama's tokenizer:
    <unk> <s> </s>, the 256 byte pieces, the corpus's characters (not '\\n'
    and not the CJK ones, which fall back to bytes), learned pieces; merges
    listed for every split of a piece into two pieces, ordered by the piece's
    id, as transformers' SentencePieceExtractor writes them."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    normalized = SPACE + CORPUS.replace(" ", SPACE)
    for c in sorted(set(normalized) - {"\n"}):
        vocab.setdefault(c, len(vocab))
    words = Counter()
    for w in normalized.replace("\n", SPACE).split(SPACE):
        if w:
            words[tuple(SPACE + w)] += 1
    for a, b in learn_merges(words, n_merges):
        vocab.setdefault(a + b, len(vocab))
    merges = []
    for piece, pid in sorted(vocab.items(), key=lambda kv: kv[1]):
        if pid < 259:
            continue
        local = [(piece[:i], piece[i:]) for i in range(1, len(piece)) if piece[:i] in vocab and piece[i:] in vocab]
        merges += sorted(local, key=lambda m: (vocab[m[0]], vocab[m[1]]))
    special = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i, s in enumerate(["<unk>", "<s>", "</s>"])]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": special,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                    {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        # merges in the classic "a b" form
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "vocab": vocab,
                  "merges": ["%s %s" % m for m in merges]},
    }, vocab


# ---- weights ------------------------------------------------------------------------


def linear(rng, n_out, n_in):
    return rng.uniform(-1, 1, (n_out, n_in)) / np.sqrt(n_in)


def gpt2_weights(rng, c):
    d, h, v, s = c["n_embd"], 4 * c["n_embd"], c["vocab_size"], c["n_positions"]
    w = {"transformer.wte.weight": rng.normal(0, 0.5, (v, d)), "transformer.wpe.weight": rng.normal(0, 0.3, (s, d)),
         "transformer.ln_f.weight": 1 + rng.normal(0, 0.1, d), "transformer.ln_f.bias": rng.normal(0, 0.1, d)}
    for l in range(c["n_layer"]):
        p = "transformer.h.%d." % l
        # Conv1D stores [in][out]
        w[p + "ln_1.weight"] = 1 + rng.normal(0, 0.1, d)
        w[p + "ln_1.bias"] = rng.normal(0, 0.1, d)
        w[p + "attn.c_attn.weight"] = linear(rng, 3 * d, d).T
        w[p + "attn.c_attn.bias"] = rng.normal(0, 0.1, 3 * d)
        w[p + "attn.c_proj.weight"] = linear(rng, d, d).T
        w[p + "attn.c_proj.bias"] = rng.normal(0, 0.1, d)
        w[p + "ln_2.weight"] = 1 + rng.normal(0, 0.1, d)
        w[p + "ln_2.bias"] = rng.normal(0, 0.1, d)
        w[p + "mlp.c_fc.weight"] = linear(rng, h, d).T
        w[p + "mlp.c_fc.bias"] = rng.normal(0, 0.1, h)
        w[p + "mlp.c_proj.weight"] = linear(rng, d, h).T
        w[p + "mlp.c_proj.bias"] = rng.normal(0, 0.1, d)
    return w


def llama_weights(rng, c):
    d, h, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv = d // c["num_attention_heads"] * c["num_key_value_heads"]
    w = {"model.embed_tokens.weight": rng.normal(0, 1.0, (v, d)), "model.norm.weight": 1 + rng.normal(0, 0.1, d),
         "lm_head.weight": rng.normal(0, 0.5, (v, d))}
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
        w[p + "self_attn.q_proj.weight"] = linear(rng, d, d)
        w[p + "self_attn.k_proj.weight"] = linear(rng, kv, d)
        w[p + "self_attn.v_proj.weight"] = linear(rng, kv, d)
        w[p + "self_attn.o_proj.weight"] = linear(rng, d, d)
        w[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
        w[p + "mlp.gate_proj.weight"] = linear(rng, h, d)
        w[p + "mlp.up_proj.weight"] = linear(rng, h, d)
        w[p + "mlp.down_proj.weight"] = linear(rng, d, h)
    return w


def family_weights(rng, c, fused=False):
    """A Llama-family checkpoint's tensors: head_dim from the config, biases where
    attention_bias / mlp_bias / Qwen2 say, Phi-3's fused projections."""
    d, h, v, nh = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_attention_heads"]
    hs = c.get("head_dim") or d // nh
    q, kv = nh * hs, c["num_key_value_heads"] * hs
    qkv_bias = c.get("attention_bias") or c["model_type"] == "qwen2"
    w = {"model.embed_tokens.weight": rng.normal(0, 1.0, (v, d)), "model.norm.weight": 1 + rng.normal(0, 0.1, d),
         "lm_head.weight": rng.normal(0, 0.5, (v, d))}
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
        w[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
        a = {"q": linear(rng, q, d), "k": linear(rng, kv, d), "v": linear(rng, kv, d)}
        if fused:
            w[p + "self_attn.qkv_proj.weight"] = np.concatenate([a["q"], a["k"], a["v"]])
        else:
            for n in "qkv":
                w[p + "self_attn.%s_proj.weight" % n] = a[n]
                if qkv_bias:
                    w[p + "self_attn.%s_proj.bias" % n] = rng.normal(0, 0.2, a[n].shape[0])
        w[p + "self_attn.o_proj.weight"] = linear(rng, d, q)
        if c.get("attention_bias"):
            w[p + "self_attn.o_proj.bias"] = rng.normal(0, 0.2, d)
        gate, up = linear(rng, h, d), linear(rng, h, d)
        if fused:
            w[p + "mlp.gate_up_proj.weight"] = np.concatenate([gate, up])
        else:
            w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"] = gate, up
        w[p + "mlp.down_proj.weight"] = linear(rng, d, h)
        if c.get("mlp_bias"):
            for n, size in (("gate", h), ("up", h), ("down", d)):
                w[p + "mlp.%s_proj.bias" % n] = rng.normal(0, 0.2, size)
    return w


def write_llama_family(out, rng, tok, lcfg):
    """Options of the Llama family that the llama.cpp fixtures (tests/data/archs) do not
    cover: Llama's attention_bias, mlp_bias, an explicit head_dim and linear rope
    scaling; Mistral's sliding window shorter than the test sequence; Phi-3's partial
    rotary factor with its window."""
    ocfg = dict(lcfg, head_dim=24, attention_bias=True, mlp_bias=True,
                rope_scaling={"rope_type": "linear", "factor": 2.5})
    write_dir(os.path.join(out, "llama-options"), ocfg, tok, family_weights(rng, ocfg))
    mcfg = dict(lcfg, architectures=["MistralForCausalLM"], model_type="mistral", sliding_window=7, head_dim=16)
    del mcfg["attention_bias"], mcfg["rope_scaling"]
    write_dir(os.path.join(out, "mistral-window"), mcfg, tok, family_weights(rng, mcfg))
    pcfg = dict(lcfg, architectures=["Phi3ForCausalLM"], model_type="phi3", partial_rotary_factor=0.5,
                sliding_window=11, original_max_position_embeddings=128)
    write_dir(os.path.join(out, "phi3-partial"), pcfg, tok, family_weights(rng, pcfg, fused=True))
    qcfg = dict(lcfg, architectures=["Qwen2ForCausalLM"], model_type="qwen2", use_sliding_window=False,
                rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 64})
    del qcfg["attention_bias"]
    write_dir(os.path.join(out, "qwen2-llama3rope"), qcfg, tok, family_weights(rng, qcfg))
    pairs = 4  # head_dim 16 x partial_rotary_factor 0.5 = 8 rotated dims
    lcfg2 = dict(lcfg, architectures=["Phi3ForCausalLM"], model_type="phi3", partial_rotary_factor=0.5,
                 max_position_embeddings=256, original_max_position_embeddings=64, sliding_window=None,
                 rope_scaling={"type": "longrope", "short_factor": [round(x, 4) for x in rng.uniform(1, 2, pairs)],
                               "long_factor": [round(x, 4) for x in rng.uniform(2, 8, pairs)]})
    write_dir(os.path.join(out, "phi3-longrope"), lcfg2, tok, family_weights(rng, lcfg2, fused=True))


def write_smollm2(d, gtok):
    """SmolLM2's shape in small: LlamaForCausalLM with 9 heads and 3 KV heads (an odd
    head count, so the ring and the threads deal out heads unevenly), a tied classifier,
    rope_theta 100000, the extra keys of its config.json (is_llama_config,
    rope_interleaved false, pretraining_tp), and its tokenizer pipeline:
    Sequence[Digits(individual_digits), ByteLevel]."""
    rng = np.random.RandomState(135)
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
           "hidden_size": 72, "intermediate_size": 192, "num_hidden_layers": 3, "num_attention_heads": 9,
           "num_key_value_heads": 3, "max_position_embeddings": 128, "vocab_size": 300, "rms_norm_eps": 1e-5,
           "rope_theta": 100000.0, "rope_scaling": None, "rope_interleaved": False, "is_llama_config": True,
           "pretraining_tp": 1, "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False,
           "bos_token_id": 299, "eos_token_id": 299, "torch_dtype": "float32"}
    # merges of digit runs and of a space with a digit, which Digits keeps from applying
    model = dict(gtok["model"], vocab=dict(gtok["model"]["vocab"]), merges=list(gtok["model"]["merges"]))
    for a, b in (("1", "2"), ("3", "4"), ("34", "5"), ("\u0120", "1"), ("\u0120", "3"), ("6", ":")):
        model["merges"].append([a, b])
        model["vocab"][a + b] = len(model["vocab"])
    cfg["vocab_size"] = len(model["vocab"])
    tok = dict(gtok, model=model, pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]})
    w = family_weights(rng, cfg)
    del w["lm_head.weight"]
    w["model.embed_tokens.weight"] = w["model.embed_tokens.weight"] * 0.5  # logits of a usable size
    write_dir(d, cfg, tok, w)


# ---- files ----------------------------------------------------------------------------


def llama_chat_files():
    """tokenizer_config.json with Llama 2 chat's template (tests/data/chat), and a
    generation_config.json: the Llama checkpoints get chat_format llama2."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "chat", "templates",
                        "llama2_7b_chat.jinja")
    with open(path, encoding="utf-8") as f:
        template = f.read()
    return {"tokenizer_config.json": {"bos_token": "<s>", "eos_token": "</s>", "chat_template": template},
            "generation_config.json": {"bos_token_id": 1, "eos_token_id": [2]}}


def write_dir(d, config, tokenizer, tensors, dtype="F32", raw=None, shards=1, extra=None):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
    for name, content in (extra or {}).items():
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=1)
    if shards == 1:
        hf.write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype, {"format": "pt"}, raw)
        return
    names = sorted(tensors)
    weight_map = {}
    for k in range(shards):
        part = names[k * len(names) // shards:(k + 1) * len(names) // shards]
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, shards)
        hf.write_safetensors(os.path.join(d, fname), {n: tensors[n] for n in part}, dtype, {"format": "pt"})
        weight_map.update({n: fname for n in part})
    total = sum(np.asarray(t).size * 4 for t in tensors.values())
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def permute_reverse(w, heads):
    """HF's rotate-half row order -> llama2.c's interleaved pairs (export.py)."""
    rows, cols = w.shape
    return w.reshape(heads, 2, rows // heads // 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def write_llama2c(d, c, w, tok):
    """llama2.c's legacy checkpoint (negative vocab_size: separate classifier)
    and tokenizer.bin with the scores the hf converter gives."""
    os.makedirs(d, exist_ok=True)
    L, dim, heads = c["num_hidden_layers"], c["hidden_size"], c["num_attention_heads"]
    kvh, hs, seq = c["num_key_value_heads"], dim // heads, c["max_position_embeddings"]
    layer = lambda n: ["model.layers.%d.%s" % (l, n) for l in range(L)]  # noqa: E731
    q = [permute_reverse(w[n], heads) for n in layer("self_attn.q_proj.weight")]
    k = [permute_reverse(w[n], kvh) for n in layer("self_attn.k_proj.weight")]
    parts = [w["model.embed_tokens.weight"]] + [w[n] for n in layer("input_layernorm.weight")] + q + k
    for n in ("self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
              "mlp.gate_proj.weight", "mlp.down_proj.weight", "mlp.up_proj.weight"):
        parts += [w[m] for m in layer(n)]
    freq = 1.0 / 10000.0 ** (np.arange(0, hs, 2, dtype=np.float32) / hs)
    angles = np.outer(np.arange(seq, dtype=np.float32), freq)
    parts += [w["model.norm.weight"], np.cos(angles), np.sin(angles), w["lm_head.weight"]]
    with open(os.path.join(d, "model.bin"), "wb") as f:
        f.write(struct.pack("<7i", dim, c["intermediate_size"], L, heads, kvh, -c["vocab_size"], seq))
        for p in parts:
            f.write(np.asarray(p, dtype="<f4").tobytes())
    pieces = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    score = {}
    for r, m in enumerate(tok["model"]["merges"]):
        score.setdefault(m.replace(" ", ""), -float(r))
    with open(os.path.join(d, "tok.bin"), "wb") as f:
        data = [(p.replace(SPACE, " ").encode("utf-8"), score.get(p, -1e10)) for p, _ in pieces]
        f.write(struct.pack("<i", max(len(b) for b, _ in data)))
        for b, s in data:
            f.write(struct.pack("<fi", s, len(b)) + b)


def write_encode_prompts(path, n=300):
    """Random texts from the character classes GPT-2's pattern tells apart;
    at most 12 characters (48 bytes) so that they fit the tiny GPT-2's 64
    positions."""
    rng = np.random.RandomState(99)
    pools = [list(" \n\t'") * 3, [chr(c) for c in range(32, 127)] * 3, [chr(c) for c in range(0xA0, 0x100)],
             [chr(c) for c in range(0x2010, 0x205F)], [chr(c) for c in range(0x4E00, 0x4E40)],
             ["\U0001F642", "\U0001F600", "\U0001F44D"], [chr(c) for c in range(0x3001, 0x3040)],
             [chr(c) for c in range(0xFF01, 0xFF5F)], ["'s", "'ve", "'ll", "'re", "'d", "'m", "'t", "  ", " a", " 1"]]
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            chars = [pools[rng.randint(len(pools))] for _ in range(rng.randint(1, 13))]
            text = "".join(p[rng.randint(len(p))] for p in chars)
            f.write(json.dumps({"prompt": text, "max_tokens": 1}, ensure_ascii=False) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rng = np.random.RandomState(20240611)

    gtok, eot = gpt2_tokenizer(300)
    gcfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
            "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 64, "n_ctx": 64, "n_inner": None,
            "vocab_size": 300, "layer_norm_epsilon": 1e-5, "bos_token_id": eot, "eos_token_id": eot,
            "tie_word_embeddings": True, "torch_dtype": "float32"}
    gw = gpt2_weights(rng, gcfg)
    s = gcfg["n_positions"]
    mask = np.tril(np.ones((s, s), dtype=np.float32)).reshape(1, 1, s, s)
    buffers = {"transformer.h.%d.attn.bias" % l: ("F32", [1, 1, s, s], mask.astype("<f4").tobytes())
               for l in range(gcfg["n_layer"])}
    write_dir(os.path.join(out, "gpt2"), gcfg, gtok, gw, raw=buffers)
    legacy = {n[len("transformer."):]: a for n, a in gw.items()}
    legacy["lm_head.weight"] = legacy["wte.weight"]
    write_dir(os.path.join(out, "gpt2-legacy"), dict(gcfg, torch_dtype="float16"), gtok, legacy, "F16")

    ltok, lvocab = llama_tokenizer(48)
    lcfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "max_position_embeddings": 128, "vocab_size": len(lvocab),
            "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None, "tie_word_embeddings": False,
            "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    lw = llama_weights(rng, lcfg)
    chat = llama_chat_files()
    write_dir(os.path.join(out, "llama"), lcfg, ltok, lw, extra=chat)
    for dtype in ("F16", "BF16"):
        c = dict(lcfg, torch_dtype="float16" if dtype == "F16" else "bfloat16")
        write_dir(os.path.join(out, "llama-" + dtype.lower()), c, ltok, lw, dtype, extra=chat)
    write_dir(os.path.join(out, "llama-sharded"), lcfg, ltok, lw, shards=2, extra=chat)
    write_llama2c(os.path.join(out, "llama2c"), lcfg, {n: np.float32(a) for n, a in lw.items()}, ltok)
    tcfg = dict(lcfg, tie_word_embeddings=True, rope_theta=500000.0, rms_norm_eps=1e-6)
    tw = {n: a for n, a in lw.items() if n != "lm_head.weight"}
    tw["model.embed_tokens.weight"] = tw["model.embed_tokens.weight"] * 0.5  # logits of a usable size
    ttok = dict(ltok, normalizer=None,
                pre_tokenizer={"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first", "split": False})
    write_dir(os.path.join(out, "llama-tied"), tcfg, ttok, tw)
    write_llama_family(out, rng, ltok, lcfg)
    write_smollm2(os.path.join(out, "smollm2"), gtok)
    write_encode_prompts(os.path.join(out, "encode.jsonl"))
    print("wrote %s: gpt2 (vocab %d), llama (vocab %d) F32/F16/BF16/sharded, llama2c" % (out, 300, len(lvocab)))


main()

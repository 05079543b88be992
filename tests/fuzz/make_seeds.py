#!/usr/bin/env python3
"""Write the seed corpora of the fuzz harnesses: tests/fuzz/corpus/<name>/.

    python3 tests/fuzz/make_seeds.py [CORPUS_DIR]

Small valid inputs of every format, and near-valid ones (one field wrong,
truncated, trailing bytes) that start the fuzzer next to the checks.  The
files are committed; run this again only to change them.  The models are
tiny synthetic llama models (dim 8, one or two layers), far smaller than the
shipped ones, so a fuzzer mutates headers rather than weights.
"""
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# A tiny llama: head size 4 (even, for RoPE), grouped-query attention.
DIM, HIDDEN, HEADS, KV_HEADS, SEQ = 8, 16, 2, 1, 16
KV_DIM = DIM // HEADS * KV_HEADS
VOCAB = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab"]


def floats(n, seed):
    """n little-endian float32 values, deterministic and varied."""
    return struct.pack("<%df" % n, *[((i * 37 + seed * 11) % 17 - 8) / 16.0 for i in range(n)])


def layer_shapes():
    """(name, rows, cols) of one layer, llama order; cols 0 = a vector."""
    return [("attn_norm", DIM, 0), ("wq", DIM, DIM), ("wk", KV_DIM, DIM), ("wv", KV_DIM, DIM),
            ("wo", DIM, DIM), ("ffn_norm", DIM, 0), ("w1", HIDDEN, DIM), ("w2", DIM, HIDDEN),
            ("w3", HIDDEN, DIM)]


# ---- llama2.c checkpoints ---------------------------------------------------

def llama2c_legacy(layers=1, shared=True):
    """Legacy (v0) layout: 7 int32, then the tensors, each over all layers."""
    vocab = len(VOCAB)
    out = struct.pack("<7i", DIM, HIDDEN, layers, HEADS, KV_HEADS, vocab if shared else -vocab, SEQ)
    out += floats(vocab * DIM, 1)
    order = ["attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w1", "w2", "w3"]
    shapes = {n: r * (c or 1) for n, r, c in layer_shapes()}
    for k, name in enumerate(order):
        out += floats(layers * shapes[name], 2 + k)
    out += floats(DIM, 20)                       # rms_final
    out += floats(2 * SEQ * (DIM // HEADS // 2), 21)  # freq_cis_real, freq_cis_imag
    if not shared:
        out += floats(vocab * DIM, 22)
    return out


def llama2c_v1(layers=1, shared=True, version=1):
    """export.py version 1: 256-byte header ("ak42"), norms first, no RoPE tables."""
    vocab = len(VOCAB)
    head = struct.pack("<Ii7iB", 0x616B3432, version, DIM, HIDDEN, layers, HEADS, KV_HEADS, vocab, SEQ,
                       1 if shared else 0)
    out = head + b"\0" * (256 - len(head))
    shapes = {n: r * (c or 1) for n, r, c in layer_shapes()}
    out += floats(layers * DIM, 1) + floats(layers * DIM, 2) + floats(DIM, 3)  # norms, final
    out += floats(vocab * DIM, 4)
    for k, name in enumerate(["wq", "wk", "wv", "wo", "w1", "w2", "w3"]):
        out += floats(layers * shapes[name], 5 + k)
    if not shared:
        out += floats(vocab * DIM, 20)
    return out


# ---- llama2.c tokenizer.bin ---------------------------------------------------

def tokenizer_bin(pieces, max_len=None, scores=None):
    data = struct.pack("<i", max_len if max_len is not None else max(len(p) for p in pieces))
    for i, p in enumerate(pieces):
        s = scores[i] if scores else -float(i)
        data += struct.pack("<fi", s, len(p)) + p
    return data


def byte_vocab():
    """<unk> <s> </s>, the 256 byte pieces, then a few merges: like tok512."""
    pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n"]
    pieces += [b"<0x%02X>" % b for b in range(256)]
    pieces += [b" ", b"e", b"t", b" t", b"he", b" the", b"a", b" a", b"n", b"an", b" an"]
    return pieces


def with_vocab(vocab_size, body):
    """fuzz_llama2c_tokenizer's input: uint16 vocabulary size, then the file."""
    return struct.pack("<H", vocab_size) + body


# ---- GGUF ---------------------------------------------------------------------

GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY, GGUF_U64, GGUF_F64 = 4, 5, 6, 7, 8, 9, 10, 12


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == GGUF_STRING:
        return gstr(v)
    if t == GGUF_ARRAY:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gvalue(et, x) for x in items)
    fmt = {GGUF_U32: "<I", GGUF_I32: "<i", GGUF_F32: "<f", GGUF_BOOL: "<?", GGUF_U64: "<Q", GGUF_F64: "<d"}[t]
    return struct.pack(fmt, v)


def gguf(version=3, layers=1, f16=False, separate_output=False, alignment=32, extra_kv=(), drop=()):
    """A GGUF llama model: metadata, tokenizer, every tensor (F32 or F16)."""
    kv = [("general.architecture", GGUF_STRING, "llama"),
          ("general.name", GGUF_STRING, "tiny"),
          ("llama.embedding_length", GGUF_U32, DIM),
          ("llama.feed_forward_length", GGUF_U32, HIDDEN),
          ("llama.block_count", GGUF_U32, layers),
          ("llama.attention.head_count", GGUF_U32, HEADS),
          ("llama.attention.head_count_kv", GGUF_U32, KV_HEADS),
          ("llama.context_length", GGUF_U64, SEQ),
          ("llama.attention.layer_norm_rms_epsilon", GGUF_F32, 1e-5),
          ("llama.rope.freq_base", GGUF_F64, 10000.0),
          ("llama.rope.dimension_count", GGUF_I32, DIM // HEADS),
          ("tokenizer.ggml.model", GGUF_STRING, "llama"),
          ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, VOCAB)),
          ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_F32, [-float(i) for i in range(len(VOCAB))])),
          ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, [2, 3, 3] + [1] * (len(VOCAB) - 3))),
          ("tokenizer.ggml.bos_token_id", GGUF_U32, 1),
          ("tokenizer.ggml.eos_token_id", GGUF_U32, 2),
          ("tokenizer.ggml.add_bos_token", GGUF_BOOL, True)]
    if alignment != 32:
        kv.append(("general.alignment", GGUF_U32, alignment))
    kv = [x for x in kv if x[0] not in drop] + list(extra_kv)
    gguf_names = {"attn_norm": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v",
                  "wo": "attn_output", "ffn_norm": "ffn_norm", "w1": "ffn_gate", "w2": "ffn_down",
                  "w3": "ffn_up"}
    tensors = [("token_embd.weight", len(VOCAB), DIM), ("output_norm.weight", DIM, 0)]
    for l in range(layers):
        tensors += [("blk.%d.%s.weight" % (l, gguf_names[n]), r, c) for n, r, c in layer_shapes()]
    if separate_output:
        tensors.append(("output.weight", len(VOCAB), DIM))
    esize = 2 if f16 else 4
    infos, data = b"", b""
    for k, (name, rows, cols) in enumerate(tensors):
        dims = [cols, rows] if cols else [rows]  # innermost first
        while len(data) % alignment:
            data += b"\0"
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", 1 if f16 else 0, len(data))
        n = rows * (cols or 1)
        if f16:
            data += struct.pack("<%de" % n, *struct.unpack("<%df" % n, floats(n, k)))
        else:
            data += floats(n, k)
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv))
    out += b"".join(gstr(k) + struct.pack("<I", t) + gvalue(t, v) for k, t, v in kv) + infos
    while len(out) % alignment:
        out += b"\0"
    return out + data


# ---- Hugging Face tokenizer.json ----------------------------------------------------

def byte_chars():
    """GPT-2's byte-to-unicode table: the character spelling each byte."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return [table[b] for b in range(256)]


def hf_tokenizer(vocab, merges, **parts):
    """tokenizer.json bytes with the uint16 vocabulary size the harness reads first."""
    size = max(list(vocab.values()) + [a["id"] for a in parts.get("added_tokens", [])]) + 1
    doc = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": parts.get("added_tokens", []),
           "normalizer": parts.get("normalizer"), "pre_tokenizer": parts.get("pre_tokenizer"),
           "post_processor": parts.get("post_processor"), "decoder": parts.get("decoder"),
           "model": dict({"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                          "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                          "vocab": vocab, "merges": merges}, **parts.get("model", {}))}
    return struct.pack("<H", size) + json.dumps(doc, ensure_ascii=False).encode()


def added(i, content, special=True, **flags):
    return dict({"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": not special, "special": special}, **flags)


def hf_seeds():
    chars = byte_chars()
    bl_vocab = {c: i for i, c in enumerate(chars)}
    for m in ["\u0120t", "he", "\u0120the", "in", "12"]:
        bl_vocab[m] = len(bl_vocab)
    bl_merges = ["\u0120 t", "h e", "\u0120t he", "i n", "1 2"]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    gpt2 = hf_tokenizer(bl_vocab, bl_merges, pre_tokenizer=byte_level, decoder=byte_level,
                        post_processor=byte_level, added_tokens=[added(len(bl_vocab), "<|endoftext|>")])
    llama3_split = {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False}
    bos = len(bl_vocab)
    llama3 = hf_tokenizer(
        bl_vocab, [m.split(" ") for m in bl_merges], model={"ignore_merges": True},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [llama3_split, dict(byte_level, use_regex=False)]},
        decoder=byte_level,
        added_tokens=[added(bos, "<|begin_of_text|>"), added(bos + 1, "<|end_of_text|>"),
                      added(bos + 2, "<|eot_id|>", rstrip=True),
                      added(bos + 3, "<think>", special=False, lstrip=True, single_word=True)],
        post_processor={"type": "Sequence", "processors": [
            dict(byte_level, trim_offsets=False),
            {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                                      {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [], "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos],
                                                                  "tokens": ["<|begin_of_text|>"]}}}]})
    sp = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        sp["<0x%02X>" % b] = len(sp)
    for piece in ["\u2581", "a", "b", "1", "\u2581a", "ab", "\u2581ab"]:
        sp[piece] = len(sp)
    sp_merges = ["\u2581 a", "a b", "\u2581a b"]
    llama = hf_tokenizer(
        sp, sp_merges, model={"unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True},
        normalizer={"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                        {"type": "Replace", "pattern": {"String": " "},
                                                         "content": "\u2581"}]},
        added_tokens=[added(0, "<unk>"), added(1, "<s>"), added(2, "</s>", normalized=True)],
        post_processor={"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                 {"Sequence": {"id": "A", "type_id": 0}}],
                        "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})
    metaspace = hf_tokenizer(
        sp, sp_merges, model={"byte_fallback": True},
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                                                        {"type": "Strip", "strip_left": True, "strip_right": False},
                                                        {"type": "Replace", "pattern": {"Regex": "\\s+"},
                                                         "content": " "}]},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
            {"type": "Split", "pattern": {"String": "b"}, "behavior": "MergedWithNext", "invert": True}]},
        decoder={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
        # NFKC makes U+FDFA 18 characters: its decoding is longer than any piece
        added_tokens=[added(len(sp), "\ufdfa", special=False)],
        post_processor={"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1], "trim_offsets": True,
                        "add_prefix_space": False})
    return {
        "gpt2.json": gpt2, "llama3.json": llama3, "llama.json": llama, "metaspace_digits.json": metaspace,
        "near_bad_regex.json": llama3.replace(b"(?i:", b"(?i", 1),
        "near_unknown_pre.json": gpt2.replace(b'"pre_tokenizer": {"type": "ByteLevel"',
                                              b'"pre_tokenizer": {"type": "Whitespace"', 1),
        "near_merge_not_piece.json": llama.replace(b'"a b"', b'"b a"', 1),
        "near_small_vocab.json": struct.pack("<H", 100) + llama[2:],
        "near_wordpiece.json": gpt2.replace(b'"type": "BPE"', b'"type": "WordPiece"', 1),
    }


LLAMA3_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
                "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


# ---- writing --------------------------------------------------------------------

def write(corpus, name, files):
    d = os.path.join(corpus, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    good_v3 = gguf()
    write(corpus, "gguf", {
        "tiny_v3_f32.gguf": good_v3,
        "tiny_v2_f16_2layers.gguf": gguf(version=2, layers=2, f16=True),
        "tiny_output_align64.gguf": gguf(separate_output=True, alignment=64),
        "near_truncated.gguf": good_v3[:-40],
        "near_no_scores.gguf": gguf(drop=("tokenizer.ggml.scores",)),
        "near_rope_scaling.gguf": gguf(extra_kv=[("llama.rope.scaling.type", GGUF_STRING, "linear")]),
        "near_bad_version.gguf": good_v3[:4] + struct.pack("<I", 4) + good_v3[8:],
    })
    legacy = llama2c_legacy()
    write(corpus, "llama2c_model", {
        "tiny_legacy.bin": legacy,
        "tiny_legacy_separate_2layers.bin": llama2c_legacy(layers=2, shared=False),
        "tiny_v1.bin": llama2c_v1(),
        "tiny_v1_separate.bin": llama2c_v1(shared=False),
        "near_truncated.bin": legacy[:-4],
        "near_trailing.bin": legacy + b"\0" * 12,
        "near_v2_int8.bin": llama2c_v1(version=2),
        "near_heads.bin": struct.pack("<7i", DIM, HIDDEN, 1, 3, 3, len(VOCAB), SEQ) + legacy[28:],
    })
    small = [p.encode() for p in VOCAB]
    bytes_vocab = byte_vocab()
    with open(os.path.join(ROOT, "models", "tok512.bin"), "rb") as f:
        tok512 = f.read()
    write(corpus, "llama2c_tokenizer", {
        "tiny8.bin": with_vocab(len(small), tokenizer_bin(small)),
        "bytes270.bin": with_vocab(len(bytes_vocab), tokenizer_bin(bytes_vocab)),
        "tok512.bin": with_vocab(512, tok512),
        "near_trailing.bin": with_vocab(len(small), tokenizer_bin(small) + b"\0" * 5),
        "near_nan_score.bin": with_vocab(len(small), tokenizer_bin(small, scores=[float("nan")] * len(small))),
        "near_long_piece.bin": with_vocab(len(small), tokenizer_bin(small, max_len=2)),
        "near_vocab_too_large.bin": with_vocab(9, tokenizer_bin(small)),
    })
    prompts = {"empty.txt": b"", "once.txt": b"Once upon a time",
               "leading_space.txt": b"  two spaces first", "newline_tab.txt": b"Line one\nline\ttwo\r\n",
               "unicode.txt": "M\u00fcller sa\u00df im Caf\u00e9 \u2581 \U0001F600".encode(),
               "byte_piece_text.txt": b"<0x41> <s> </s>",
               "control.txt": b"bell\x07 del\x7f esc\x1b",
               "invalid_utf8.txt": b"bad \xff byte", "overlong.txt": b"\xc0\xaf", "surrogate.txt": b"\xed\xa0\x80",
               "nul.txt": b"a\0b"}
    with open(os.path.join(ROOT, "models", "prompts.txt"), "rb") as f:
        for i, line in enumerate(f.read().splitlines()):
            prompts["prompts_%d.txt" % i] = line
    write(corpus, "prompt_encode", prompts)
    configs = {}
    for src in ["configs/stories260K.ini", "configs/cluster-3pi.ini"]:
        with open(os.path.join(ROOT, src), "rb") as f:
            configs[os.path.basename(src)] = f.read()
    cdir = os.path.join(ROOT, "tests", "data", "config")
    for fname in sorted(os.listdir(cdir)):
        with open(os.path.join(cdir, fname), "rb") as f:
            configs["bad_" + fname] = f.read()
    configs.update({
        "minimal.ini": b"[model]\npath = m.h5\n",
        "quotes.ini": b"[run]\nprompt = \"a \\\"quoted\\\" prompt; not a comment\"\nn_samples = 2\n",
        "every_type.ini": b"[sampling]\ntemperature = 0.5\ntop_p = 1\ntop_k = 40\nseed = 9007199254740993\n"
                          b"[output]\nquiet = yes\nresume = false\n[pipeline]\nsplit = 1,2,2\n",
        "syntax_error.ini": b"[run\nprompt = x\n",
        "continuation.ini": b"[run]\nprompt = a long \\\nprompt\n",
    })
    write(corpus, "config", configs)
    write(corpus, "hf_tokenizer", hf_seeds())
    write(corpus, "json", json_seeds())
    write(corpus, "prompts", prompt_seeds())
    write(corpus, "journal", journal_seeds())


def prompt_seeds():
    """JSONL prompt files (-f FILE.jsonl); the first byte also picks the
    harness's --n-samples: '{' 1, ' ' 3, '\\n' 2."""
    with open(os.path.join(ROOT, "tests", "data", "ring16.jsonl"), "rb") as f:
        ring16 = f.read()
    return {
        "ring16.jsonl": ring16,
        "every_key.jsonl": b'{"prompt": "Once upon", "max_tokens": 4, "seed": 9223372036854775807,'
                           b' "temperature": 0.5, "top_p": 0.9, "top_k": 40}\n',
        "blank_lines.jsonl": b'\n{"prompt": ""}\n\n{"prompt": "a \\"quoted\\" \\u00e9"}\r\n',
        "three_samples.jsonl": b' {"prompt": "The dog", "seed": 7}\n',
        "near_trailing_text.jsonl": b'{"prompt": "x"} {"prompt": "y"}\n',
        "near_duplicate_key.jsonl": b'{"prompt": "x", "prompt": "y"}\n',
        "near_seed_range.jsonl": b'{"prompt": "x", "seed": 9223372036854775808}\n',
        "near_too_long.jsonl": b'{"prompt": "' + b"once upon a time " * 8 + b'"}\n',
        "near_invalid_utf8.jsonl": b'{"prompt": "bad \xff byte"}\n',
        "near_nul_escape.jsonl": b'{"prompt": "a\\u0000b"}\n',
        "near_not_object.jsonl": b'["prompt", "x"]\n',
    }


def journal_seeds():
    """Journals (-o FILE with --resume) for a run of four sequences of "Once"
    with seeds 42 + id: this version's lines, an earlier version's, a torn
    last line, a line that is not ours, settings that differ."""
    def line(i, seed=None, model="a4be2f47b6e3376b", old=False, top_k=0):
        s = ('{"id":%d,"prompt":"Once","prompt_tokens":[1,403],"tokens":[407,261,378],"text":" upon a time",'
             '"finish_reason":"length","seed":%d' % (i, 42 + i if seed is None else seed))
        if not old:
            s += ',"model":"%s","temperature":1,"top_p":0.9,"top_k":%d,"max_tokens":3,"max_seq_len":512' % (model, top_k)
        return (s + "}\n").encode()
    both = line(0) + line(1)
    return {
        "two_lines.jsonl": both,
        "all_four.jsonl": both + line(2) + line(3),
        "old_version.jsonl": line(0, old=True) + line(3, old=True),
        "empty.jsonl": b"",
        "torn_last.jsonl": both + line(2)[:40],
        "near_not_ours.jsonl": b'{"hello": 1}\n' + both,
        "near_other_seed.jsonl": line(0) + line(1, seed=7),
        "near_two_models.jsonl": line(0) + line(1, model="0123456789abcdef"),
        "near_other_top_k.jsonl": line(1, top_k=5),
        "near_id_beyond.jsonl": line(9),
    }


def json_seeds():
    """JSON texts: the shapes the programs read (config.json, tokenizer.json,
    safetensors headers, prompt and journal lines) and near-valid ones."""
    return {
        "config.json": b'{"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "rms_norm_eps": 1e-05,'
                       b' "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "float32"}',
        "tokenizer.json": b'{"model": {"type": "BPE", "vocab": {"a": 0, "\u0120b": 1, "ab": 2},'
                          b' "merges": ["a b", ["a", "b"]]}, "added_tokens": [{"id": 3, "content": "<s>",'
                          b' "special": true}]}',
        "safetensors.json": b'{"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 3],'
                            b' "data_offsets": [0, 24]}}',
        "prompt_line.json": b'{"prompt": "Once \"upon\" a time\n", "seed": 8999999999999999, "top_p": 0.5}',
        "journal_line.json": b'{"id":0,"prompt":"","prompt_tokens":[1],"tokens":[403,407],"text":"\u00e9\ud83d\ude00",'
                             b'"finish_reason":"length","seed":18446744073709551615}',
        "numbers.json": b'[0, -0, 1.5e-300, -2E+10, 9223372036854775807, -9223372036854775808, 1e400, 0.1]',
        "deep.json": b"[" * 40 + b"]" * 40,
        "near_trailing_comma.json": b'{"a": [1, 2,],}',
        "near_trailing_text.json": b'{"prompt": "x"} junk',
        "near_lone_surrogate.json": b'"\ud800"',
        "near_control_char.json": b'"tab\there	and raw"',
        "near_leading_zero.json": b'[007]',
    }


if __name__ == "__main__":
    main()

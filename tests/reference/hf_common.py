"""Hugging Face checkpoint pieces shared by the test scripts (numpy only).

- safetensors files: write (F32, F16, BF16) and read (also sharded, with
  model.safetensors.index.json), without the safetensors package;
- GPT-2's byte-to-unicode table and pre-tokenizer, written from the regex
  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
  with exact Unicode classes from unicodedata;
- BPE encoding as Hugging Face's tokenizers library does it (merge ranks),
  for byte-level (GPT-2) and SentencePiece-style (Llama) tokenizer.json files.
These are references for the C code, so they follow the Hugging Face
definitions, not the C implementation."""
import json
import os
import struct
import unicodedata

import numpy as np

# ---- safetensors -------------------------------------------------------------

DTYPE_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}


def f32_to_bf16_bits(a):
    """Round float32 to bfloat16 (nearest, ties to even); the 16-bit patterns."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(h):
    return (h.astype(np.uint32) << 16).view(np.float32)


def tensor_bytes(a, dtype):
    """(bytes, shape) of array a stored as dtype (F32, F16 or BF16)."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "F32":
        raw = a.astype("<f4").tobytes()
    elif dtype == "F16":
        raw = a.astype("<f2").tobytes()
    elif dtype == "BF16":
        raw = f32_to_bf16_bits(a).astype("<u2").tobytes()
    else:
        raise ValueError(dtype)
    return raw, list(a.shape)


def write_safetensors(path, tensors, dtype="F32", metadata=None, raw=None):
    """tensors: {name: array} stored as dtype, in name order.  raw: {name:
    (dtype, shape, bytes)} stored as given."""
    entries = []
    for name in sorted(tensors):
        data, shape = tensor_bytes(tensors[name], dtype)
        entries.append((name, dtype, shape, data))
    for name, (dt, shape, data) in sorted((raw or {}).items()):
        entries.append((name, dt, shape, data))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dt, shape, data in entries:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in entries:
            f.write(data)


def read_safetensors_file(path):
    """{name: float64 array} of the F32/F16/BF16 tensors of one file."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out, base = {}, 8 + n
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        data = blob[base + b:base + end]
        if e["dtype"] == "F32":
            a = np.frombuffer(data, dtype="<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(data, dtype="<f2")
        elif e["dtype"] == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(data, dtype="<u2"))
        else:
            continue
        out[name] = a.astype(np.float64).reshape(e["shape"])
    return out


def read_checkpoint(d):
    """All tensors of DIR (model.safetensors, or the shards of the index)."""
    single = os.path.join(d, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors_file(single)
    with open(os.path.join(d, "model.safetensors.index.json")) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for name in files:
        out.update(read_safetensors_file(os.path.join(d, name)))
    return out


# ---- GPT-2's byte-level pieces -----------------------------------------------------

def bytes_to_unicode():
    """GPT-2's table: byte -> the character spelling it."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


# Unicode White_Space (what \s matches)
WHITE_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


def char_class(c):
    if c in WHITE_SPACE:
        return "space"
    cat = unicodedata.category(c)
    return "letter" if cat[0] == "L" else "number" if cat[0] == "N" else "other"


def gpt2_pretokenize(text):
    """The pieces GPT-2's pattern matches, in order (they concatenate to text)."""
    out, i, n = [], 0, len(text)
    while i < n:
        m = 0
        if text[i] == "'":
            for tail in ("s", "t", "re", "ve", "m", "ll", "d"):
                if text.startswith(tail, i + 1):
                    m = 1 + len(tail)
                    break
        if not m:
            start, cls = i, char_class(text[i])
            if text[i] == " " and i + 1 < n and char_class(text[i + 1]) != "space":
                start, cls = i + 1, char_class(text[i + 1])
            if cls != "space":  # ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
                j = start
                while j < n and char_class(text[j]) == cls:
                    j += 1
                m = j - i
            else:  # '\s+(?!\S)', then '\s+'
                j = i
                while j < n and char_class(text[j]) == "space":
                    j += 1
                m = j - i if j == n or j - i == 1 else j - i - 1
        out.append(text[i:i + m])
        i += m
    return out


def split_digits(text):
    """Digits(individual_digits=True): each numeric character (Unicode category N*,
    Rust's char::is_numeric) is a piece; the runs between them are pieces."""
    out, run = [], ""
    for c in text:
        if unicodedata.category(c)[0] == "N":
            if run:
                out.append(run)
            out.append(c)
            run = ""
        else:
            run += c
    return out + ([run] if run else [])


# ---- BPE as tokenizer.json defines it ------------------------------------------------

def bpe(symbols, ranks):
    """Merge a list of piece strings by rank: the pair of lowest rank (the
    leftmost of equal ranks) first, until no pair merges."""
    symbols = list(symbols)
    while True:
        best = None
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return symbols
        i = best[1]
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]


class Tokenizer:
    """A tokenizer.json of one of the two supported BPE families."""

    def __init__(self, path, bos_id):
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        model = j["model"]
        self.vocab = dict(model["vocab"])
        for a in j.get("added_tokens", []):
            self.vocab[a["content"]] = a["id"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {}
        for r, m in enumerate(merges):
            self.ranks.setdefault(m, r)
        pre = j.get("pre_tokenizer") or {}
        # Sequence[Digits(individual_digits), ByteLevel] (SmolLM2): every digit is a piece
        # of its own before ByteLevel's pattern splits the rest
        steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
        kinds = [p.get("type") for p in steps]
        self.digits = kinds == ["Digits", "ByteLevel"]
        assert not self.digits or steps[0].get("individual_digits"), "Digits runs are not modelled"
        self.byte_level = kinds[-1:] == ["ByteLevel"]
        # Metaspace (prepend_scheme "first", no split) replaces spaces and
        # prepends U+2581 unless the text starts with one; the normalizers
        # Prepend + Replace prepend it always
        self.metaspace = pre.get("type") == "Metaspace"
        self.byte_char = bytes_to_unicode()
        post = json.dumps(j.get("post_processor"))
        self.template_bos = "TemplateProcessing" in post
        self.bos_id = bos_id

    def encode(self, text, add_bos):
        ids = [self.bos_id] if add_bos else []
        if not text:
            return ids
        if self.byte_level:
            chunks = [text]
            if self.digits:  # Rust's char::is_numeric: categories Nd, Nl, No
                chunks = split_digits(text)
            for piece in [p for c in chunks for p in gpt2_pretokenize(c)]:
                symbols = [self.byte_char[b] for b in piece.encode("utf-8")]
                ids += [self.vocab[s] for s in bpe(symbols, self.ranks)]
            return ids
        normalized = text.replace(" ", "\u2581")
        if not (self.metaspace and normalized.startswith("\u2581")):
            normalized = "\u2581" + normalized
        symbols = []
        for c in normalized:  # byte fallback for characters outside the vocabulary
            symbols += [c] if c in self.vocab else ["<0x%02X>" % b for b in c.encode("utf-8")]
        return ids + [self.vocab[s] for s in bpe(symbols, self.ranks)]

#!/usr/bin/env python3
"""Make one corrupt input file for the mdi_convert robustness tests.

usage: make_bad_input.py KIND MODELS_DIR OUT

KIND names the damage (see KINDS below).  The source is one of the shipped
files in MODELS_DIR (stories260K.bin, tok512.bin, stories260K.gguf); offsets
inside the GGUF are found by parsing it, so the patches hit the intended
field whatever the metadata order.  Standard library only.
"""
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        return bytearray(f.read())


def put_i32(buf, off, value):
    struct.pack_into("<i", buf, off, value)


# ---- llama2.c legacy model and tokenizer ----------------------------------

# header fields of the legacy checkpoint: 7 int32
DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ = range(7)


def llama2c_header(models, field, value):
    buf = read(models + "/stories260K.bin")
    put_i32(buf, 4 * field, value)
    return buf


def tokenizer_len_offset(tok, token):
    """Byte offset of token's int32 len field in a tokenizer.bin."""
    pos = 4
    for _ in range(token):
        length = struct.unpack_from("<i", tok, pos + 4)[0]
        pos += 8 + length
    return pos + 4


def tok_len(models, value):
    tok = read(models + "/tok512.bin")
    put_i32(tok, tokenizer_len_offset(tok, 5), value)
    return tok


# ---- GGUF -------------------------------------------------------------------

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class Gguf:
    """Offsets of the header fields of a GGUF v2/v3 file."""

    def __init__(self, data):
        self.data = data
        self.pos = 24
        self.kv = {}  # key -> (offset of type field, offset of value)
        self.strings = {}  # key -> offsets of each string's length (string arrays)
        self.tensors = {}  # name -> dict of field offsets
        n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)
        for _ in range(n_kv):
            key = self.string()
            type_off = self.pos
            vtype = self.u32()
            self.kv[key] = (type_off, self.pos)
            self.skip(key, vtype)
        for _ in range(n_tensors):
            name = self.string()
            info = {"n_dims": self.pos}
            n_dims = self.u32()
            info["dims"] = self.pos
            self.pos += 8 * n_dims
            info["type"] = self.pos
            info["offset"] = self.pos + 4
            self.pos += 12
            self.tensors[name] = info

    def u32(self):
        v = struct.unpack_from("<I", self.data, self.pos)[0]
        self.pos += 4
        return v

    def u64(self):
        v = struct.unpack_from("<Q", self.data, self.pos)[0]
        self.pos += 8
        return v

    def string(self):
        n = self.u64()
        s = bytes(self.data[self.pos:self.pos + n]).decode()
        self.pos += n
        return s

    def skip(self, key, vtype):
        if vtype == 8:
            n = self.u64()
            self.pos += n
        elif vtype == 9:
            etype, count = self.u32(), self.u64()
            if etype == 8:
                offs = []
                for _ in range(count):
                    offs.append(self.pos)
                    n = self.u64()
                    self.pos += n
                self.strings[key] = offs
            else:
                self.pos += SCALAR[etype] * count
        else:
            self.pos += SCALAR[vtype]


def gguf(models):
    data = read(models + "/stories260K.gguf")
    return data, Gguf(data)


def gguf_patch(models, fmt, where, value):
    data, g = gguf(models)
    struct.pack_into(fmt, data, where(g), value)
    return data


def gguf_nan_scale(models):
    """attn_q of layer 0 retyped as Q8_0 (its 64-wide rows are two 34-byte
    blocks each), the first block's half-float scale set to NaN."""
    data, g = gguf(models)
    info = g.tensors["blk.0.attn_q.weight"]
    struct.pack_into("<I", data, info["type"], 8)
    start = (g.pos + 31) // 32 * 32  # default alignment
    offset = struct.unpack_from("<Q", data, info["offset"])[0]
    struct.pack_into("<H", data, start + offset, 0x7E00)
    return data


def gguf_nan_min_k(models):
    """tests/data/quant/kmix.gguf (llama.cpp's blocks of every type) with the
    minimum scale (dmin, bytes 2..3) of the block of blk.0.attn_q's second
    row (Q4_K, one 144-byte block per 256-weight row) set to infinity."""
    data = read(models + "/../tests/data/quant/kmix.gguf")
    g = Gguf(data)
    info = g.tensors["blk.0.attn_q.weight"]
    assert struct.unpack_from("<I", data, info["type"])[0] == 12  # Q4_K
    row_bytes = struct.unpack_from("<Q", data, info["dims"])[0] // 256 * 144
    start = (g.pos + 31) // 32 * 32  # default alignment
    offset = struct.unpack_from("<Q", data, info["offset"])[0]
    struct.pack_into("<H", data, start + offset + row_bytes + 2, 0x7C00)
    return data


# ---- the kinds ----------------------------------------------------------------

KINDS = {
    # llama2.c model
    "truncated_model": lambda m: read(m + "/stories260K.bin")[:1000],
    "header_dim0": lambda m: llama2c_header(m, DIM, 0),
    "header_heads": lambda m: llama2c_header(m, HEADS, 7),
    "header_layers": lambda m: llama2c_header(m, LAYERS, -3),
    # llama2.c tokenizer
    "tok_truncated": lambda m: read(m + "/tok512.bin")[:5000],
    "tok_short": lambda m: read(m + "/tok512.bin")[:3000],
    "tok_absurd_len": lambda m: tok_len(m, 100000),
    "tok_negative_len": lambda m: tok_len(m, -5),
    "tok_absurd_max": lambda m: struct.pack("<i", 1 << 30) + read(m + "/tok512.bin")[4:],
    "tok_trailing": lambda m: read(m + "/tok512.bin") + bytes(100),
    # GGUF
    "gguf_magic": lambda m: b"GGUX" + read(m + "/stories260K.gguf")[4:],
    "gguf_version": lambda m: gguf_patch(m, "<I", lambda g: 4, 7),
    "gguf_truncated": lambda m: read(m + "/stories260K.gguf")[:600000],
    "gguf_truncated_header": lambda m: read(m + "/stories260K.gguf")[:5000],
    "gguf_tensor_count": lambda m: gguf_patch(m, "<Q", lambda g: 8, 1 << 40),
    "gguf_key_count": lambda m: gguf_patch(m, "<Q", lambda g: 16, 1 << 21),
    "gguf_string_length": lambda m: gguf_patch(
        m, "<Q", lambda g: g.strings["tokenizer.ggml.tokens"][7], 1 << 40),
    "gguf_value_type": lambda m: gguf_patch(
        m, "<I", lambda g: g.kv["general.name"][0], 77),
    "gguf_tensor_type": lambda m: gguf_patch(
        m, "<I", lambda g: g.tensors["blk.0.attn_q.weight"]["type"], 99),
    "gguf_quantized": lambda m: gguf_patch(
        m, "<I", lambda g: g.tensors["blk.0.attn_q.weight"]["type"], 16),
    "gguf_ternary": lambda m: gguf_patch(
        m, "<I", lambda g: g.tensors["blk.0.attn_q.weight"]["type"], 35),
    "gguf_nan_min_k": lambda m: gguf_nan_min_k(m),
    "gguf_block_rows": lambda m: gguf_patch(
        m, "<I", lambda g: g.tensors["blk.0.attn_q.weight"]["type"], 12),
    "gguf_nan_scale": lambda m: gguf_nan_scale(m),
    "gguf_misaligned": lambda m: gguf_patch(
        m, "<Q", lambda g: g.tensors["output_norm.weight"]["offset"], 131072 + 4),
    "gguf_offset_beyond": lambda m: gguf_patch(
        m, "<Q", lambda g: g.tensors["blk.4.ffn_norm.weight"]["offset"], 1 << 40),
    "gguf_dims": lambda m: gguf_patch(
        m, "<Q", lambda g: g.tensors["blk.2.attn_k.weight"]["dims"] + 8, 16),
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in KINDS:
        sys.exit("usage: make_bad_input.py KIND MODELS_DIR OUT\nkinds: " + " ".join(KINDS))
    data = KINDS[sys.argv[1]](sys.argv[2])
    with open(sys.argv[3], "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()

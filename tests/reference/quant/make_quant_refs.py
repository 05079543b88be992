#!/usr/bin/env python3
"""llama.cpp's quantization of a deterministic set of weights, as hashes.

usage: make_quant_refs.py LLAMACPP_DIR OUT.txt

LLAMACPP_DIR is a built llama.cpp (this script builds nothing): it needs
LLAMACPP_DIR/gguf-py (the gguf package) and LLAMACPP_DIR/build/bin/llama-quantize.
The script writes a small llama-architecture GGUF with F32 tensors made by
the generator below, runs `llama-quantize --pure IN OUT TYPE` for every
block type mdi-llm runs (every matrix in TYPE, no importance matrix), and
writes one line per quantized tensor:

    TYPE NAME ROWS COLS FNV1A64

the 64-bit FNV-1a hash (offset 0xcbf29ce484222325, prime 0x100000001b3) of
the tensor's blocks in row order.  tests/tools/test_quant_ref.c makes the
same weights with the same generator, quantizes them with mdi-llm and
compares the hashes: llama.cpp is needed only to remake OUT.txt.

The generator is exact in any language: every value is a float64 with at
most 32 significant bits, rounded once to float32.  For tensor t (its index
in TENSORS), row r, column c:

    u(i)  = (splitmix64(0x5eed0000 + (t << 40) + (r << 20) + (c << 2) + i) >> 40) / 2**24
    g     = u(0) + u(1) + u(2) + u(3) - 2          (a bell shape on [-2, 2])
    s     = 2**((7 r) % 20 - 14)                    (row scales 2^-14 .. 2^5)
    kind  = r % 8:
      0  g s                          1  u(0) s        (all positive)
      2  -u(0) s  (all negative)      3  g s, x50 where c % 37 == 5 (outliers)
      4  g 2^-30 if r % 16 == 4 else g 2^-20   (scales below half-float range)
      5  0 in even 32-blocks (c // 32 even), else g s
      6  (floor(31 u(0)) - 15) / 16   (a grid: rounding ties)
      7  ((c // 32) % 9 - 4) / 4      (constant 32-blocks)
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

TYPES = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"]
# (name, rows, cols): a one-layer llama with dim 256, hidden 512, 4 heads, 2 KV heads, vocab 64
TENSORS = [
    ("token_embd.weight", 64, 256),
    ("blk.0.attn_q.weight", 256, 256),
    ("blk.0.attn_k.weight", 128, 256),
    ("blk.0.attn_v.weight", 128, 256),
    ("blk.0.attn_output.weight", 256, 256),
    ("blk.0.ffn_gate.weight", 512, 256),
    ("blk.0.ffn_up.weight", 512, 256),
    ("blk.0.ffn_down.weight", 256, 512),
]
MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def make_tensor(t, rows, cols):
    out = np.empty((rows, cols), dtype=np.float64)
    for r in range(rows):
        s = 2.0 ** ((7 * r) % 20 - 14)
        kind = r % 8
        for c in range(cols):
            base = 0x5EED0000 + (t << 40) + (r << 20) + (c << 2)
            u = [(splitmix64(base + i) >> 40) / 2.0**24 for i in range(4)]
            g = u[0] + u[1] + u[2] + u[3] - 2.0
            if kind == 0:
                v = g * s
            elif kind == 1:
                v = u[0] * s
            elif kind == 2:
                v = -u[0] * s
            elif kind == 3:
                v = g * s * (50.0 if c % 37 == 5 else 1.0)
            elif kind == 4:
                v = g * 2.0 ** (-30 if r % 16 == 4 else -20)
            elif kind == 5:
                v = 0.0 if (c // 32) % 2 == 0 else g * s
            elif kind == 6:
                v = (np.floor(31.0 * u[0]) - 15.0) / 16.0
            else:
                v = ((c // 32) % 9 - 4) / 4.0
            out[r, c] = v
    return out.astype(np.float32)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    llama, out_path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.path.join(llama, "gguf-py"))
    import gguf  # noqa: E402  (llama.cpp's package, from LLAMACPP_DIR)

    quantize = os.path.join(llama, "build", "bin", "llama-quantize")
    with tempfile.TemporaryDirectory() as tmp:
        f32 = os.path.join(tmp, "f32.gguf")
        w = gguf.GGUFWriter(f32, "llama")
        w.add_context_length(256)
        w.add_embedding_length(256)
        w.add_block_count(1)
        w.add_feed_forward_length(512)
        w.add_head_count(4)
        w.add_head_count_kv(2)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_freq_base(10000.0)
        w.add_vocab_size(64)
        w.add_tokenizer_model("llama")
        w.add_token_list([f"t{i}" for i in range(64)])
        w.add_token_scores([0.0] * 64)
        w.add_token_types([1] * 64)
        w.add_file_type(0)
        for t, (name, rows, cols) in enumerate(TENSORS):
            w.add_tensor(name, make_tensor(t, rows, cols))
        for name in ("blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"):
            w.add_tensor(name, np.ones(256, dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        lines = []
        for qt in TYPES:
            q = os.path.join(tmp, f"{qt}.gguf")
            subprocess.run([quantize, "--pure", f32, q, qt, "1"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            r = gguf.GGUFReader(q)
            by_name = {x.name: x for x in r.tensors}
            for name, rows, cols in TENSORS:
                x = by_name[name]
                if x.tensor_type.name != qt:
                    sys.exit(f"{qt}: {name} came out {x.tensor_type.name}")
                lines.append(f"{qt} {name} {rows} {cols} {fnv1a64(bytes(x.data.tobytes())):016x}")
    commit = open(os.path.join(llama, "src", "COMMIT")).read().strip() if os.path.exists(
        os.path.join(llama, "src", "COMMIT")) else "unknown"
    with open(out_path, "w") as f:
        f.write(f"# llama-quantize --pure of the generator's weights (make_quant_refs.py), llama.cpp {commit}\n")
        f.write("\n".join(lines) + "\n")


main()

"""The tensors of a GGUF file and their bytes as stored (standard library only).

gguf_tensors(path) -> {name: (ggml type, bytes)} for F32, F16 and the block
types mdi-llm runs; layer_of(name) -> the block index of "blk.N.*" or None.
Used by bench/perf.sh (each rank's weights against the GGUF's) and by the
tests of imported GGUFs (tests/tools/quant)."""
import re
import struct

# ggml type -> (weights per block, bytes per block)
SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 12: (256, 144),
         13: (256, 176), 14: (256, 210)}
F16 = 1
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def gguf_tensors(path):
    with open(path, "rb") as f:
        data = f.read(1 << 26)  # the header: metadata (vocabularies) and tensor infos
    pos = 24
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("<Q")
        pos += n
        return data[pos - n:pos].decode()

    def skip(t):
        nonlocal pos
        if t == 8:
            string()
        elif t == 9:
            et, n = take("<I"), take("<Q")
            for _ in range(n):
                skip(et)
        else:
            pos += SCALAR[t]

    for _ in range(n_kv):
        string()
        skip(take("<I"))
    out = {}
    for _ in range(n_tensors):
        name = string()
        count = 1
        for _ in range(take("<I")):
            count *= take("<Q")
        t = take("<I")
        take("<Q")
        block, size = SIZES[t]
        out[name] = (t, count // block * size)
    return out


def layer_of(name):
    m = re.match(r"blk\.(\d+)\.", name)
    return int(m.group(1)) if m else None

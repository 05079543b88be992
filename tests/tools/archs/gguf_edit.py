#!/usr/bin/env python3
"""Copy a GGUF file with metadata values set or added, for the refusal tests.

usage: gguf_edit.py IN.gguf OUT.gguf KEY=TYPE:VALUE...

TYPE is str, u32 or f32; an existing key keeps its place, a new one is
appended.  Tensor infos and data are copied unchanged (their offsets are
relative to the data section, which is re-aligned).  Standard library only."""
import struct
import sys

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
TYPES = {"str": 8, "u32": 4, "f32": 6}


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    data = open(sys.argv[1], "rb").read()
    pos = 4

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def skip_value(t):
        nonlocal pos
        if t == 8:
            n = take("<Q")
            pos += n
        elif t == 9:
            et, n = take("<I"), take("<Q")
            for _ in range(n):
                skip_value(et)
        else:
            pos += struct.calcsize(SCALAR[t])

    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    kvs = []
    for _ in range(n_kv):
        start = pos
        n = take("<Q")
        key = data[pos:pos + n].decode()
        pos += n
        skip_value(take("<I"))
        kvs.append((key, data[start:pos]))
    info_start = pos
    for _ in range(n_tensors):
        n = take("<Q")
        pos += n
        n_dims = take("<I")
        pos += 8 * n_dims + 12
    infos = data[info_start:pos]
    align = 32
    tensor_data = data[(pos + align - 1) // align * align:]
    for arg in sys.argv[3:]:
        key, tv = arg.split("=", 1)
        t, v = tv.split(":", 1)
        k = key.encode()
        raw = struct.pack("<Q", len(k)) + k + struct.pack("<I", TYPES[t])
        raw += struct.pack("<Q", len(v.encode())) + v.encode() if t == "str" else struct.pack(SCALAR[TYPES[t]],
                                                                                               float(v) if t == "f32" else int(v))
        kvs = [(key, raw) if old == key else (old, r) for old, r in kvs]
        if key not in [old for old, _ in kvs]:
            kvs.append((key, raw))
    head = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(kvs)) + b"".join(r for _, r in kvs) + infos
    with open(sys.argv[2], "wb") as f:
        f.write(head + b"\0" * (-len(head) % align) + tensor_data)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compare two llama2.c legacy (v0) checkpoints.

usage: compare_llama2c.py EXPECTED.bin ACTUAL.bin

The header and every weight must be byte-identical.  The RoPE tables
freq_cis_real/imag ([seq_len][head_size/2] each, after rms_final) may differ
by one unit in the last place: the shipped files were written by PyTorch,
whose cos/sin are not the C library's (run.c skips the tables)."""
import struct
import sys


def layout(header):
    dim, hidden, layers, heads, kv_heads, vocab, seq = header
    kv_dim = dim // heads * kv_heads
    per_layer = 2 * dim + 2 * dim * dim + 2 * kv_dim * dim + 3 * hidden * dim
    tables_at = 28 + 4 * (abs(vocab) * dim + layers * per_layer + dim)
    tables_len = 4 * 2 * seq * (dim // heads // 2)
    return tables_at, tables_len


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = (open(p, "rb").read() for p in sys.argv[1:])
    if len(a) != len(b):
        sys.exit(f"FAIL: sizes differ: {len(a)} and {len(b)} bytes")
    header = struct.unpack("<7i", a[:28])
    at, n = layout(header)
    if a[:at] != b[:at]:
        first = next(i for i in range(at) if a[i] != b[i])
        sys.exit(f"FAIL: header or weights differ (first at byte {first})")
    if a[at + n:] != b[at + n:]:
        sys.exit("FAIL: the classifier or trailing bytes differ")
    ta = struct.unpack(f"<{n // 4}i", a[at:at + n])  # float bits as integers
    tb = struct.unpack(f"<{n // 4}i", b[at:at + n])
    off = [abs(x - y) for x, y in zip(ta, tb)]
    if max(off) > 1:
        sys.exit(f"FAIL: a RoPE table entry differs by {max(off)} units in the last place")
    print(f"header {header}: {at} bytes of header and weights identical, "
          f"{len(a) - at - n} bytes after the RoPE tables identical; "
          f"RoPE tables: {n // 4 - off.count(0)} of {n // 4} floats differ by 1 ulp")
    print("PASS")


main()

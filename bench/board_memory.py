#!/usr/bin/env python3
"""Weights and KV cache per rank of Llama-3.2-1B, Llama-3.2-3B and
Llama-3.1-8B in Q8_0 and Q4_K_M on 1-4 ranks (docs/CLUSTER.md, "Memory per
board"), from the published shapes and the bytes of the stored blocks.

The split is the one `mdi_convert split --ranks N` writes per-rank files
with: src/model/split.c's mdi_split_plan_bytes, mirrored here (rank 0 holds
k0 layers plus the embedding and the whole classifier, the other ranks
share the rest evenly, the first ones taking the remainder; the k0 with the
smallest slowest rank wins, a later one only when it is better by more than
one 64-row panel of the classifier).  Q4_K_M is llama.cpp's mix: Q4_K
everywhere except attn_v and ffn_down in the layers of use_more_bits (the
first and last eighth and every third between), which are Q6_K, and the
output matrix (the embedding when tied) Q6_K.  Norms are float32; the KV
cache is float32, one sequence of 2048 positions.

  python3 bench/board_memory.py            # the tables as Markdown
Python standard library only.
"""
GiB = 2**30
MODELS = {  # dim, layers, heads, KV heads, FFN, vocabulary, tied embedding
    "Llama-3.2-1B": dict(dim=2048, L=16, h=32, kv=8, ffn=8192, V=128256, tied=True),
    "Llama-3.2-3B": dict(dim=3072, L=28, h=24, kv=8, ffn=8192, V=128256, tied=True),
    "Llama-3.1-8B": dict(dim=4096, L=32, h=32, kv=8, ffn=14336, V=128256, tied=False),
}
BYTES_PER_WEIGHT = {"q8_0": 34 / 32, "q4_k": 144 / 256, "q6_k": 210 / 256}
PANEL = 64


def more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def plan(L, n, layer, head, V):
    if n == 1:
        return [L]
    best = None
    for k0 in range(0, L - (n - 1) + 1):
        rest = L - k0
        counts = [k0] + [rest // (n - 1) + (r - 1 < rest % (n - 1)) for r in range(1, n)]
        worst = max([k0 * layer + head] + [counts[r] * layer for r in range(1, n)])
        if best is None or worst < best[0] - head * PANEL / V:
            best = (worst, counts)
    return best[1]


def rows(quant, m):
    d, kvd = m["dim"], m["kv"] * m["dim"] // m["h"]
    layer_bytes = []
    for i in range(m["L"]):
        main = d * d * 2 + d * kvd + 2 * d * m["ffn"]  # wq, wo, wk, w1, w3
        extra = d * kvd + d * m["ffn"]  # wv, w2
        if quant == "q8_0":
            b = (main + extra) * BYTES_PER_WEIGHT["q8_0"]
        else:
            t = "q6_k" if more_bits(i, m["L"]) else "q4_k"
            b = main * BYTES_PER_WEIGHT["q4_k"] + extra * BYTES_PER_WEIGHT[t]
        layer_bytes.append(b + 2 * d * 4)
    emb = m["V"] * d
    if quant == "q8_0":
        cls = emb_b = emb * BYTES_PER_WEIGHT["q8_0"]
    else:
        cls = emb * BYTES_PER_WEIGHT["q6_k"]
        emb_b = cls if m["tied"] else emb * BYTES_PER_WEIGHT["q4_k"]
    rank0 = emb_b + (0 if m["tied"] else cls) + d * 4
    total = sum(layer_bytes) + rank0
    mean = sum(layer_bytes) / m["L"]
    for n in range(1, 5):
        counts = plan(m["L"], n, mean, cls, m["V"])
        weights, at = [], 0
        for r, k in enumerate(counts):
            weights.append((sum(layer_bytes[at:at + k]) + (rank0 if r == 0 else 0)) / GiB)
            at += k
        kv = [k * 2 * kvd * 2048 * 4 / GiB for k in counts]
        yield total / GiB, n, counts, weights, kv


for quant, title in (("q8_0", "Q8_0"), ("q4_k_m", "Q4_K_M")):
    print(f"{title}:\n")
    print(f"| model | weights ({title}) | ranks | split | weights per rank, GiB "
          "| KV cache per rank, GiB, one sequence of 2048 positions |")
    print("|---|---|---|---|---|---|")
    for name, m in MODELS.items():
        for total, n, counts, weights, kv in rows(quant, m):
            print(f"| {name} | {total:.2f} GiB | {n} | {','.join(map(str, counts))} | "
                  f"{' / '.join('%.2f' % w for w in weights)} | {' / '.join('%.3f' % k for k in kv)} |")
    print()

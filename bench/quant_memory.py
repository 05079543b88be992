#!/usr/bin/env python3
"""Weights per rank of Llama models in llama.cpp's Q4_K_M (and other types), 1 to 4 ranks.

usage: quant_memory.py [--ranks 4] [--model NAME]... [--type q4_k_m|q4_0|q8_0|f32] [--markdown]

A GGUF's quantized matrices keep their bytes in mdi-llm (docs/FORMAT.md), so a
rank holds exactly its share of the file's tensors: its layers, and on rank 0
the embedding, the final norm and the classifier.  The tensor types are
llama-quantize's for the file type (llama.cpp's llama_tensor_get_type_impl
for the llama architecture without an importance matrix):

  Q4_K_M  every matrix Q4_K, except the classifier (and a tied embedding,
          which is the classifier) Q6_K, and attn_v and ffn_down Q6_K in the
          layers where use_more_bits(i, n): i < n/8, i >= 7n/8, or
          (i - n/8) % 3 == 2
  Q4_0    every matrix Q4_0 except the classifier (and a tied embedding) Q6_K
  Q8_0    every matrix Q8_0;  F32: float32
Norms are float32.  The split is mdi_split_plan_bytes()'s --split auto
(src/model/split.c): rank 0 takes k0 layers and the classifier, the others
share the rest evenly (the first ones one more), k0 minimising the largest
rank's bytes read per token (a layer's mean bytes; the classifier's bytes on
rank 0).  The KV cache (float32) adds 2 x kv_dim x 4 bytes per layer and
position for each sequence slot."""
import argparse

MODELS = {  # dim, hidden, layers, heads, kv heads, vocab, tied
    "Llama-3.2-1B": (2048, 8192, 16, 32, 8, 128256, True),
    "Llama-3.2-3B": (3072, 8192, 28, 24, 8, 128256, True),
    "Llama-3.1-8B": (4096, 14336, 32, 32, 8, 128256, False),
}
BLOCK = {"f32": (1, 4), "q8_0": (32, 34), "q4_0": (32, 18), "q4_k": (256, 144), "q6_k": (256, 210)}


def matrix_bytes(t, rows, cols):
    block, size = BLOCK[t]
    return rows * (cols // block) * size


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def layer_types(ftype, i, n):
    """attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down."""
    if ftype == "q4_k_m":
        more = "q6_k" if use_more_bits(i, n) else "q4_k"
        return ["q4_k", "q4_k", more, "q4_k", "q4_k", "q4_k", more]
    return [ftype] * 7


def model_bytes(name, ftype):
    dim, hid, n, heads, kvh, vocab, tied = MODELS[name]
    kv = dim // heads * kvh
    shapes = [(dim, dim), (kv, dim), (kv, dim), (dim, dim), (hid, dim), (hid, dim), (dim, hid)]
    layers = [sum(matrix_bytes(t, r, c) for t, (r, c) in zip(layer_types(ftype, i, n), shapes)) + 2 * dim * 4
              for i in range(n)]
    out_type = {"q4_k_m": "q6_k", "q4_0": "q6_k"}.get(ftype, ftype)
    emb_type = out_type if tied else {"q4_k_m": "q4_k"}.get(ftype, ftype)
    classifier = matrix_bytes(out_type, vocab, dim)
    head = classifier + dim * 4 + (0 if tied else matrix_bytes(emb_type, vocab, dim))
    return layers, head, classifier, kv


def split_auto(n_layers, n_ranks, layer, head):
    if n_ranks == 1:
        return [n_layers]
    best, best_cost = None, None
    for k0 in range(0, n_layers - (n_ranks - 1) + 1):
        rest, stages = n_layers - k0, n_ranks - 1
        counts = [k0] + [rest // stages + (r < rest % stages) for r in range(stages)]
        worst = max([head + k0 * layer] + [c * layer for c in counts[1:]])
        if best_cost is None or worst < best_cost:
            best, best_cost = counts, worst
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, default=4)
    ap.add_argument("--model", action="append", choices=sorted(MODELS))
    ap.add_argument("--type", default="q4_k_m", choices=["q4_k_m", "q4_0", "q8_0", "f32"])
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    gib = 1024.0 ** 3
    rows = []
    for name in a.model or list(MODELS):
        layers, head, classifier, kv = model_bytes(name, a.type)
        total = sum(layers) + head
        for n in range(1, a.ranks + 1):
            counts = split_auto(len(layers), n, sum(layers) / len(layers), classifier)
            at, per = 0, []
            for r, c in enumerate(counts):
                per.append(sum(layers[at:at + c]) + (head if r == 0 else 0))
                at += c
            rows.append((name, total, n, counts, per, kv, len(layers)))
    if a.markdown:
        print("| model | weights (%s) | ranks | split | weights per rank, GiB | KV cache per rank, GiB, "
              "one sequence of 2048 positions |" % a.type.upper())
        print("|---|---|---|---|---|---|")
    for name, total, n, counts, per, kv, _ in rows:
        cells = [name, "%.2f GiB" % (total / gib), str(n), ",".join(map(str, counts)),
                 " / ".join("%.2f" % (p / gib) for p in per),
                 " / ".join("%.3f" % (2 * kv * 4 * 2048 * c / gib) for c in counts)]
        print(("| " + " | ".join(cells) + " |") if a.markdown else "  ".join(cells))


main()

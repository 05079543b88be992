#!/usr/bin/env python3
"""Quantized GGUF models made by llama.cpp, with llama.cpp's logits on them.

usage: make_quant_models.py LLAMACPP_DIR OUTDIR

LLAMACPP_DIR is a built llama.cpp (this script builds nothing): it needs
LLAMACPP_DIR/gguf-py, LLAMACPP_DIR/build/bin/llama-quantize and
LLAMACPP_DIR/bin/llama_ref (the fixtures' tools/llama_ref.c linked against
that libllama: greedy ids and every logit of a prompt, one thread, F32 KV
cache, llama.cpp's own CPU kernels).  It writes into OUTDIR:

  kmix.gguf             a small llama2-architecture model (dim 256, hidden 256,
                        2 layers, 4 heads, 2 KV heads, stories260K's 512-token
                        vocabulary) with random weights, whose 15 matrices
                        llama-quantize puts in every type mdi-llm runs, plus
                        one F16 matrix: layer 0 attn_q Q4_K, attn_k Q5_K,
                        attn_v Q5_1, attn_output Q8_0, ffn_gate Q4_0, ffn_up
                        Q4_1, ffn_down Q5_0; layer 1 attn_q Q6_K, attn_k Q4_0,
                        attn_v Q8_0, attn_output Q5_K, ffn_gate Q5_1, ffn_up
                        Q4_K, ffn_down F16; token_embd (the tied classifier) Q6_K
  kmix.logits.txt       llama.cpp's logits on kmix.gguf for PROMPT and the 16
                        ids it generates greedily ("tokens ID...", then one line
                        of 512 logits per position: tests/tools/hf/test_hf_logits)
  kmix.deq.logits.txt   the same for kmix.gguf's weights dequantized to F32
                        (gguf-py's dequantize): what float activations give
  stories260K.Q4_K_M.gguf   models/stories260K.gguf through llama-quantize Q4_K_M
                        (its 64-wide rows fall back to Q5_0, the classifier to
                        Q8_0, ffn_down's rows of 172 to F16)
  stories260K.Q4_K_M.logits.txt   llama.cpp's logits on it for BOS "Once upon a
                        time" and 24 generated ids
  refs.txt              the generated ids and the llama.cpp commit
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
STORIES = os.path.join(ROOT, "models", "stories260K.gguf")
PROMPT = [1, 403, 407, 261, 378, 432, 383, 286]  # BOS "Once upon a time, there was"
STORY_PROMPT = [1, 403, 407, 261, 378]
DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB = 256, 256, 2, 4, 2, 512
TYPES = {
    "blk.0.attn_q": "q4_k", "blk.0.attn_k": "q5_k", "blk.0.attn_v": "q5_1", "blk.0.attn_output": "q8_0",
    "blk.0.ffn_gate": "q4_0", "blk.0.ffn_up": "q4_1", "blk.0.ffn_down": "q5_0",
    "blk.1.attn_q": "q6_k", "blk.1.attn_k": "q4_0", "blk.1.attn_v": "q8_0", "blk.1.attn_output": "q5_k",
    "blk.1.ffn_gate": "q5_1", "blk.1.ffn_up": "q4_k", "blk.1.ffn_down": "f16",
    "token_embd": "q6_k",
}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)


def copy_tokenizer(gguf, reader, writer):
    """stories260K's SentencePiece vocabulary and special ids."""
    f = reader.fields
    writer.add_tokenizer_model("llama")
    writer.add_token_list([bytes(f["tokenizer.ggml.tokens"].parts[i]) for i in f["tokenizer.ggml.tokens"].data])
    writer.add_token_scores([float(f["tokenizer.ggml.scores"].parts[i][0]) for i in f["tokenizer.ggml.scores"].data])
    writer.add_token_types([int(f["tokenizer.ggml.token_type"].parts[i][0]) for i in f["tokenizer.ggml.token_type"].data])
    for key, add in (("bos_token_id", writer.add_bos_token_id), ("eos_token_id", writer.add_eos_token_id),
                     ("unknown_token_id", writer.add_unk_token_id)):
        add(int(f["tokenizer.ggml." + key].parts[-1][0]))


def write_model(gguf, path, tensors):
    reader = gguf.GGUFReader(STORIES)
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(256)
    w.add_embedding_length(DIM)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(HIDDEN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(DIM // HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(VOCAB)
    w.add_file_type(0)
    copy_tokenizer(gguf, reader, w)
    for name, t in tensors.items():
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def kmix_weights():
    """N(0, 1/fan_in) matrices (o and down x2), norms 1 + N(0, 0.1^2), the
    final norm x2.5 for a logit spread of a few units, as the fixtures'."""
    rng = np.random.default_rng(2026)
    kv = DIM // HEADS * KV_HEADS

    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(scale=1.0):
        return ((1 + 0.1 * rng.standard_normal(DIM)) * scale).astype(np.float32)

    t = {"token_embd.weight": mat(VOCAB, DIM)}
    for l in range(LAYERS):
        p = f"blk.{l}."
        t[p + "attn_norm.weight"] = norm()
        t[p + "attn_q.weight"] = mat(DIM, DIM)
        t[p + "attn_k.weight"] = mat(kv, DIM)
        t[p + "attn_v.weight"] = mat(kv, DIM)
        t[p + "attn_output.weight"] = mat(DIM, DIM, 2.0)
        t[p + "ffn_norm.weight"] = norm()
        t[p + "ffn_gate.weight"] = mat(HIDDEN, DIM)
        t[p + "ffn_up.weight"] = mat(HIDDEN, DIM)
        t[p + "ffn_down.weight"] = mat(DIM, HIDDEN, 2.0)
    t["output_norm.weight"] = norm(2.5)
    return t


def dequantized(gguf, path, out):
    """An F32 GGUF with path's metadata and its tensors dequantized."""
    r = gguf.GGUFReader(path)
    tensors = {}
    for x in r.tensors:
        v = gguf.dequantize(x.data, x.tensor_type)
        tensors[x.name] = np.asarray(v, dtype=np.float32).reshape([int(d) for d in reversed(x.shape)])
    write_model(gguf, out, tensors)


def reference(llama_ref, model, prompt, n_new, logits):
    import json
    out = run([llama_ref, model, str(n_new), "5", ",".join(map(str, prompt)), logits]).stdout
    return json.loads(out)["generated_ids"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    llama, out = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.path.join(llama, "gguf-py"))
    import gguf  # noqa: E402  (llama.cpp's package, from LLAMACPP_DIR)

    quantize = os.path.join(llama, "build", "bin", "llama-quantize")
    llama_ref = os.path.join(llama, "bin", "llama_ref")
    os.makedirs(out, exist_ok=True)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        f32 = os.path.join(tmp, "kmix.f32.gguf")
        write_model(gguf, f32, kmix_weights())
        kmix = os.path.join(out, "kmix.gguf")
        args = [quantize]
        for name, t in TYPES.items():
            args += ["--tensor-type", f"{name}={t}"]
        run(args + [f32, kmix, "Q4_K_M", "1"])
        ids = reference(llama_ref, kmix, PROMPT, 16, os.path.join(out, "kmix.logits.txt"))
        lines.append("kmix.gguf generated " + " ".join(map(str, ids)))
        deq = os.path.join(tmp, "kmix.deq.gguf")
        dequantized(gguf, kmix, deq)
        ids = reference(llama_ref, deq, PROMPT, 16, os.path.join(out, "kmix.deq.logits.txt"))
        lines.append("kmix.deq generated " + " ".join(map(str, ids)))
        story = os.path.join(out, "stories260K.Q4_K_M.gguf")
        run([quantize, STORIES, story, "Q4_K_M", "1"])
        ids = reference(llama_ref, story, STORY_PROMPT, 24, os.path.join(out, "stories260K.Q4_K_M.logits.txt"))
        lines.append("stories260K.Q4_K_M.gguf generated " + " ".join(map(str, ids)))
    commit_file = os.path.join(llama, "src", "COMMIT")
    commit = open(commit_file).read().strip() if os.path.exists(commit_file) else "unknown"
    with open(os.path.join(out, "refs.txt"), "w") as f:
        f.write(f"# make_quant_models.py with llama.cpp {commit}; prompts {PROMPT} (kmix), {STORY_PROMPT} (stories)\n")
        f.write("\n".join(lines) + "\n")


main()

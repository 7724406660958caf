/**
 * npm run bench -- <model.gguf> [--prompt 128] [--gen 128] [--runs 3] [--context 1024] [--kv f16|f32|q8_0] [--json]
 *
 * Runs the same WASM engine the Worker runs, in Node on one thread: load time (file → weights in WASM memory →
 * ready), prefill tokens/s (one batched forward over the prompt), decode tokens/s (greedy, one token per forward,
 * EOS ignored), WASM memory and process peak RSS. Several runs; prints median and min/max.
 */
import { parseArgs } from "node:util";
import { loadEngineNode } from "../lib/node/engine.js";
import { EngineModel } from "../lib/engine/model.js";
import { engineMemory } from "../lib/engine/wasm.js";
import { nodeFiles } from "../lib/node/files.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: "string", default: "128" },
    gen: { type: "string", default: "128" },
    runs: { type: "string", default: "3" },
    context: { type: "string", default: "1024" },
    kv: { type: "string", default: "f16" },
    json: { type: "boolean", default: false },
  },
});
const file = positionals[0];
if (!file) {
  console.error("usage: npm run bench -- <model.gguf> [--prompt N] [--gen N] [--runs N] [--context N] [--kv f16|f32|q8_0] [--json]");
  process.exit(2);
}
const promptLen = Number(values.prompt);
const genLen = Number(values.gen);
const runs = Number(values.runs);
const kvType = values.kv === "f32" || values.kv === "q8_0" ? values.kv : "f16";

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

const bindings = await loadEngineNode();
const results: Array<{ loadS: number; prefillTps: number; decodeTps: number }> = [];
let report: ReturnType<EngineModel["memory"]> | undefined;
let peakWasm = 0;

for (let run = 0; run < runs; run++) {
  const t0 = performance.now();
  const { chunks } = await nodeFiles.open(file);
  const model = await EngineModel.load(bindings, chunks, { contextLength: Number(values.context), kvType });
  const loadS = (performance.now() - t0) / 1000;
  if (promptLen + genLen > model.contextLength) {
    console.error(`prompt + gen (${promptLen + genLen}) exceeds the loaded context ${model.contextLength}; pass --context`);
    process.exit(2);
  }
  // Deterministic prompt ids away from the low special-token range.
  const lo = Math.min(300, model.vocabSize - 1);
  const prompt = Array.from({ length: promptLen }, (_, i) => lo + ((i * 7919 + 13) % (model.vocabSize - lo)));

  const tp = performance.now();
  let next = argmax(model.forward(0, prompt, 0));
  const prefillS = (performance.now() - tp) / 1000;

  const td = performance.now();
  for (let i = 0; i < genLen; i++) next = argmax(model.forward(0, [next], promptLen + i));
  const decodeS = (performance.now() - td) / 1000;

  results.push({ loadS, prefillTps: promptLen / prefillS, decodeTps: genLen / decodeS });
  report = model.memory();
  peakWasm = Math.max(peakWasm, engineMemory().buffer.byteLength);
  model.dispose();
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};
const summary = {
  model: file,
  runs,
  promptTokens: promptLen,
  genTokens: genLen,
  kvType,
  loadS: stat(results.map((r) => r.loadS)),
  prefillTokS: stat(results.map((r) => r.prefillTps)),
  decodeTokS: stat(results.map((r) => r.decodeTps)),
  memory: report,
  peakWasmBytes: peakWasm,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  node: process.version,
};
if (values.json) {
  console.log(JSON.stringify(summary));
} else {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const fmt = (s: { median: number; min: number; max: number }, d = 1) =>
    `${s.median.toFixed(d)} (min ${s.min.toFixed(d)}, max ${s.max.toFixed(d)})`;
  console.log(`model            ${file}`);
  console.log(`runs             ${runs} (prompt ${promptLen} tokens, ${genLen} new tokens, KV ${kvType}, Node ${process.version}, 1 thread)`);
  console.log(`load             ${fmt(summary.loadS, 3)} s`);
  console.log(`prefill          ${fmt(summary.prefillTokS)} tok/s`);
  console.log(`decode           ${fmt(summary.decodeTokS)} tok/s`);
  if (report) {
    console.log(
      `memory           weights ${mib(report.weights)} + KV ${mib(report.kvCache)} + scratch ${mib(report.scratch)} = ${mib(report.total)}`,
    );
  }
  console.log(`peak WASM memory ${mib(peakWasm)}`);
  console.log(`peak RSS         ${mib(summary.peakRssBytes)}`);
}

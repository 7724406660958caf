// Child process: native llama.cpp (node-llama-cpp's prebuilt CPU binary, one thread, context 512, f16 KV) decodes each
// prompt greedily and records its 8 highest logits before every step (teacher-forced along its own greedy path).
//   node llama-cpp-topk.mjs <node-llama-cpp root> <model.gguf> <cases.json: [{prompt: ids, steps}]>
// Prints one line `RESULT {"cases": [{"greedy": ids, "top": [[[id, logit] × 8] × steps]}]}`.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [root, modelPath, casesFile] = process.argv.slice(2);
const req = createRequire(join(resolve(root), "package.json"));
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(req.resolve("node-llama-cpp")).href);
const llama = await getLlama({
  gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, maxThreads: 1, logLevel: LlamaLogLevel.error, progressLogs: false,
});
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const ctx = await model.createContext({ contextSize: 512, batchSize: 512, threads: 1, flashAttention: false, sequences: 1 });
const seq = ctx.getSequence();
const want = { generateNext: { logits: { filter: { tokens: [], includeTop: 8 } } } };

/** The 8 highest [id, logit], highest first, lowest id first among equal logits (greedy's tie rule). */
const top8 = (logits) => [...logits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 8);

const cases = [];
for (const { prompt, steps } of JSON.parse(readFileSync(casesFile, "utf8"))) {
  await seq.clearHistory();
  let out = await seq.controlledEvaluate([...prompt.slice(0, -1), [prompt.at(-1), want]]);
  const greedy = [];
  const top = [];
  for (let s = 0; s < steps; s++) {
    const t = top8(out.at(-1).next.logits);
    top.push(t);
    greedy.push(t[0][0]);
    if (s + 1 < steps) out = await seq.controlledEvaluate([[t[0][0], want]]);
  }
  cases.push({ greedy, top });
}
process.stdout.write(`RESULT ${JSON.stringify({ cases })}\n`);
await ctx.dispose();
await model.dispose();
await llama.dispose();

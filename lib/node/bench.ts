/**
 * `ellm bench` (and `npm run bench`): the same WASM engine the Worker runs, in Node on one thread — load time (file →
 * weights in WASM memory → ready), prefill tokens/s (one batched forward over the prompt), decode tokens/s (greedy,
 * one token per forward, EOS ignored), WASM memory and process peak RSS; median and min/max over several runs.
 */
import { EngineModel } from "../engine/model.js";
import { engineMemory } from "../engine/wasm.js";
import { InvalidArgumentError } from "../errors.js";
import type { KvType, MemoryReport } from "../types.js";
import { loadEngineNode } from "./engine.js";
import { nodeFiles } from "./files.js";

export interface BenchOptions {
  promptTokens: number;
  genTokens: number;
  runs: number;
  contextLength: number;
  kvType: KvType;
}

interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface BenchSummary {
  model: string;
  runs: number;
  promptTokens: number;
  genTokens: number;
  kvType: KvType;
  loadS: Spread;
  prefillTokS: Spread;
  decodeTokS: Spread;
  memory: MemoryReport | undefined;
  peakWasmBytes: number;
  peakRssBytes: number;
  node: string;
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

const spread = (xs: number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};

export async function benchmark(file: string, o: BenchOptions): Promise<BenchSummary> {
  const bindings = await loadEngineNode();
  const results: Array<{ loadS: number; prefillTps: number; decodeTps: number }> = [];
  let report: MemoryReport | undefined;
  let peakWasm = 0;
  for (let run = 0; run < o.runs; run++) {
    const t0 = performance.now();
    const { chunks } = await nodeFiles.open(file);
    const model = await EngineModel.load(bindings, chunks, { contextLength: o.contextLength, kvType: o.kvType });
    const loadS = (performance.now() - t0) / 1000;
    try {
      if (o.promptTokens + o.genTokens > model.contextLength) {
        throw new InvalidArgumentError(`prompt + gen (${o.promptTokens + o.genTokens}) exceeds the loaded context ${model.contextLength}; pass --context`, "context");
      }
      // Deterministic prompt ids away from the low special-token range.
      const lo = Math.min(300, model.vocabSize - 1);
      const prompt = Array.from({ length: o.promptTokens }, (_, i) => lo + ((i * 7919 + 13) % (model.vocabSize - lo)));
      const tp = performance.now();
      let next = argmax(model.forward(0, prompt, 0));
      const prefillS = (performance.now() - tp) / 1000;
      const td = performance.now();
      for (let i = 0; i < o.genTokens; i++) next = argmax(model.forward(0, [next], o.promptTokens + i));
      const decodeS = (performance.now() - td) / 1000;
      results.push({ loadS, prefillTps: o.promptTokens / prefillS, decodeTps: o.genTokens / decodeS });
      report = model.memory();
      peakWasm = Math.max(peakWasm, engineMemory().buffer.byteLength);
    } finally {
      model.dispose();
    }
  }
  return {
    model: file, runs: o.runs, promptTokens: o.promptTokens, genTokens: o.genTokens, kvType: o.kvType,
    loadS: spread(results.map((r) => r.loadS)),
    prefillTokS: spread(results.map((r) => r.prefillTps)),
    decodeTokS: spread(results.map((r) => r.decodeTps)),
    memory: report,
    peakWasmBytes: peakWasm,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    node: process.version,
  };
}

export function formatBench(s: BenchSummary): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const fmt = (x: Spread, d = 1) => `${x.median.toFixed(d)} (min ${x.min.toFixed(d)}, max ${x.max.toFixed(d)})`;
  const lines = [
    `model            ${s.model}`,
    `runs             ${s.runs} (prompt ${s.promptTokens} tokens, ${s.genTokens} new tokens, KV ${s.kvType}, Node ${s.node}, 1 thread)`,
    `load             ${fmt(s.loadS, 3)} s`,
    `prefill          ${fmt(s.prefillTokS)} tok/s`,
    `decode           ${fmt(s.decodeTokS)} tok/s`,
  ];
  if (s.memory) {
    const m = s.memory;
    lines.push(`memory           weights ${mib(m.weights)} + KV ${mib(m.kvCache)} + scratch ${mib(m.scratch)} = ${mib(m.total)}`);
  }
  lines.push(`peak WASM memory ${mib(s.peakWasmBytes)}`, `peak RSS         ${mib(s.peakRssBytes)}`);
  return lines.join("\n");
}

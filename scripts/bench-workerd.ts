/**
 * npm run bench:workerd -- [model.gguf] [--runs 3] [--gen 128] [--context 1024]
 *
 * The Worker itself — the bundle `wrangler deploy` uploads — in local workerd, serving a GGUF from local R2, the path
 * production takes, side by side with the same Hono app in Node (`ellm serve`, same engine, same HTTP route).
 * Per run, a fresh workerd isolate: cold time to first token (first request: R2 → WASM memory load, prefill, first
 * token; the load and the first prefill as the Worker's Server-Timing reports them, beside the warm prefill: the
 * difference is V8 still compiling the kernels), warm time to first token (same request again), and steady decode
 * tokens/s of a streamed completion (tokens after the first / time after the first); then a fresh Node process, the same warm and decode requests. Ratios are
 * per run (workerd / Node), medians printed, with the engine binary each side chose (relaxed SIMD where the runtime has it exact). No request reuses a cached prefix (`cache_prompt: false`). Default model: the SmolLM2-135M-shaped Q4_0 fixture.
 */
import { statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import { spawnEllmServe, stopChild } from "./ellm-serve-child.js";
import { buildBundle, startBundle } from "./workerd/bundle-server.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string", default: "3" }, gen: { type: "string", default: "128" }, context: { type: "string", default: "1024" } },
});
const runs = Number(values.runs);
const gen = Number(values.gen);
const file = positionals[0] ? resolve(positionals[0]) : await (await import("./make-fixtures.mjs")).makeFixture("smollm2-135m-Q4_0");
const model = { id: "bench", file, contextLength: Number(values.context) };
// The deployable bundle, exactly what `wrangler deploy` would upload.
const bundle = await buildBundle();

/**
 * A fresh workerd isolate through Miniflare — not `wrangler dev`, whose attached inspector makes V8 run WebAssembly
 * in its unoptimised debug tier (about half speed), which no deployed Worker does.
 */
async function startWorker(): Promise<{ url: string; stop: () => Promise<void>; startMs: number }> {
  const t0 = performance.now();
  const server = await startBundle(bundle, [model], { bindings: { CONTEXT_LENGTH: String(values.context) } });
  return { url: server.url, stop: server.stop, startMs: performance.now() - t0 };
}

/** A fresh Node process running the same app (`ellm serve`), its model loaded before it listens. */
async function startNode(): Promise<{ url: string; id: string; stop: () => Promise<void> }> {
  const served = await spawnEllmServe(file, Number(values.context));
  return { url: served.url, id: served.model, stop: () => stopChild(served.child) };
}

/** Streams a completion; returns ms to the first content chunk, tokens and ms after it, the model-load and prefill times. */
async function streamed(url: string, modelId: string, maxTokens: number) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: modelId, prompt: "Once upon a time, in a land far away,", max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true }, cache_prompt: false }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const timing = res.headers.get("server-timing") ?? "";
  const loadMs = Number(/load;dur=([\d.]+)/.exec(timing)?.[1] ?? NaN);
  const prefillMs = Number(/prefill;dur=([\d.]+)/.exec(timing)?.[1] ?? NaN);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let firstAt: number | undefined;
  let completionTokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut).replace(/^data: /, "");
      buffer = buffer.slice(cut + 2);
      if (event === "[DONE]") continue;
      const chunk = JSON.parse(event) as { choices: unknown[]; usage?: { completion_tokens: number } };
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      else if (firstAt === undefined && chunk.choices.length > 0) firstAt = performance.now();
    }
  }
  const end = performance.now();
  return { ttftMs: (firstAt ?? end) - t0, loadMs, prefillMs, decodeTps: ((completionTokens - 1) * 1000) / (end - (firstAt ?? end)) };
}

/** The engine binary a server runs ("simd" or "relaxed", from /healthz). */
async function engineBuild(url: string): Promise<string> {
  return ((await (await fetch(`${url}/healthz`)).json()) as { engine: { build: string } }).engine.build;
}

const builds = { workerd: new Set<string>(), node: new Set<string>() };
type Row = { startS: number; coldMs: number; loadMs: number; coldPrefillMs: number; warmPrefillMs: number; warmMs: number; decodeTps: number; nodeWarmMs: number; nodeDecodeTps: number; decodeRatio: number; warmRatio: number };
const rows: Row[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const worker = await startWorker();
    let w;
    try {
      const cold = await streamed(worker.url, "bench", 1);
      const warm = await streamed(worker.url, "bench", 1);
      const decode = await streamed(worker.url, "bench", gen);
      builds.workerd.add(await engineBuild(worker.url));
      w = {
        startS: worker.startMs / 1000, coldMs: cold.ttftMs, loadMs: cold.loadMs, coldPrefillMs: cold.prefillMs, warmPrefillMs: warm.prefillMs,
        warmMs: warm.ttftMs, decodeTps: decode.decodeTps,
      };
    } finally {
      await worker.stop();
    }
    const node = await startNode();
    try {
      await streamed(node.url, node.id, 1); // the first request in Node: its tier-up, not a load (serve loads first)
      const warm = await streamed(node.url, node.id, 1);
      const decode = await streamed(node.url, node.id, gen);
      builds.node.add(await engineBuild(node.url));
      rows.push({ ...w, nodeWarmMs: warm.ttftMs, nodeDecodeTps: decode.decodeTps, decodeRatio: w.decodeTps / decode.decodeTps, warmRatio: w.warmMs / warm.ttftMs });
    } finally {
      await node.stop();
    }
  }
} finally {
  bundle.remove();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const col = (k: keyof Row) => rows.map((r) => r[k]);
const fmt = (k: keyof Row, digits: number) =>
  `${median(col(k)).toFixed(digits)} (min ${Math.min(...col(k)).toFixed(digits)}, max ${Math.max(...col(k)).toFixed(digits)})`;
console.log(`bench:workerd — ${basename(file)} (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB), the deploy bundle in local workerd (Miniflare) vs the same app in Node ${process.version} (ellm serve), ${runs} fresh isolates/processes`);
console.log(`engine binary              workerd ${[...builds.workerd].join("/")}   Node ${[...builds.node].join("/")}`);
console.log(`workerd start              ${fmt("startS", 2)} s`);
console.log(`cold TTFT (load+prefill)   ${fmt("coldMs", 0)} ms   of which R2 → WASM load ${fmt("loadMs", 0)} ms`);
console.log(`  first prefill            ${fmt("coldPrefillMs", 0)} ms   (the same prompt warm: ${fmt("warmPrefillMs", 0)} ms)`);
console.log(`warm TTFT                  workerd ${fmt("warmMs", 0)} ms   Node ${fmt("nodeWarmMs", 0)} ms   workerd/Node ${fmt("warmRatio", 2)}`);
console.log(`decode (${gen} tokens)       workerd ${fmt("decodeTps", 1)} tok/s   Node ${fmt("nodeDecodeTps", 1)} tok/s   workerd/Node ${fmt("decodeRatio", 2)}`);

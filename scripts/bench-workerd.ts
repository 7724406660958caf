/**
 * npm run bench:workerd -- [model.gguf] [--runs 3] [--gen 128] [--context 1024]
 *
 * The Worker itself — the bundle `wrangler deploy` uploads — in local workerd, serving a GGUF from local R2, the path
 * production takes. Per run, a fresh isolate: cold time to first token (first request: R2 → WASM memory load,
 * prefill, first token), warm time to first token (same request again), and steady decode tokens/s of a streamed
 * completion (tokens after the first / time after the first). Default model: the SmolLM2-135M-shaped Q4_0 fixture.
 */
import { statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Miniflare } from "miniflare";
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
async function startWorker(): Promise<{ mf: Miniflare; startMs: number }> {
  const t0 = performance.now();
  const server = await startBundle(bundle, [model], { bindings: { CONTEXT_LENGTH: String(values.context) } });
  return { mf: server.mf, startMs: performance.now() - t0 };
}

/** Streams a completion; returns ms to the first content chunk, tokens and ms after it, and the model-load time. */
async function streamed(mf: Miniflare, maxTokens: number) {
  const t0 = performance.now();
  const res = await mf.dispatchFetch("http://edge.local/v1/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", prompt: "Once upon a time, in a land far away,", max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const loadMs = Number(/load;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? NaN);
  const reader = (res.body as unknown as ReadableStream<Uint8Array>).getReader();
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
  return { ttftMs: (firstAt ?? end) - t0, loadMs, decodeTps: ((completionTokens - 1) * 1000) / (end - (firstAt ?? end)) };
}

const rows: Array<{ startS: number; coldMs: number; loadMs: number; warmMs: number; decodeTps: number }> = [];
try {
  for (let run = 0; run < runs; run++) {
    const { mf, startMs } = await startWorker();
    try {
      const cold = await streamed(mf, 1);
      const warm = await streamed(mf, 1);
      const decode = await streamed(mf, gen);
      rows.push({ startS: startMs / 1000, coldMs: cold.ttftMs, loadMs: cold.loadMs, warmMs: warm.ttftMs, decodeTps: decode.decodeTps });
    } finally {
      await mf.dispose();
    }
  }
} finally {
  bundle.remove();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const col = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k]);
const fmt = (k: keyof (typeof rows)[number], digits: number) =>
  `${median(col(k)).toFixed(digits)} (min ${Math.min(...col(k)).toFixed(digits)}, max ${Math.max(...col(k)).toFixed(digits)})`;
console.log(`bench:workerd — ${basename(file)} (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB), the deploy bundle in local workerd (Miniflare), ${runs} fresh isolates`);
console.log(`workerd start              ${fmt("startS", 2)} s`);
console.log(`cold TTFT (load+prefill)   ${fmt("coldMs", 0)} ms   of which R2 → WASM load ${fmt("loadMs", 0)} ms`);
console.log(`warm TTFT                  ${fmt("warmMs", 0)} ms`);
console.log(`decode (${gen} tokens)       ${fmt("decodeTps", 1)} tok/s`);

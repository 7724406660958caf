/**
 * npm run bench:workerd -- [model.gguf] [--runs 3] [--gen 128] [--context 1024]
 *
 * The Worker itself, in local workerd (`wrangler dev`), serving a GGUF from local R2 — the path production takes.
 * Per run, a fresh wrangler dev (a fresh isolate): cold time to first token (first request: R2 → WASM memory load,
 * prefill, first token), warm time to first token (same request again), and steady decode tokens/s of a streamed
 * completion (tokens after the first / time after the first). Default model: the SmolLM2-135M-shaped Q4_0 fixture.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string", default: "3" }, gen: { type: "string", default: "128" }, context: { type: "string", default: "1024" } },
});
const runs = Number(values.runs);
const gen = Number(values.gen);
const file = positionals[0] ? resolve(positionals[0]) : await (await import("./make-fixtures.mjs")).makeFixture("smollm2-135m-Q4_0");
const bytes = readFileSync(file);
const BUCKET = "ellm-models-preview"; // what `wrangler dev` binds MODELS to
const entry = {
  id: "bench", r2Key: `bench/${basename(file)}`, bytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex"),
  format: "gguf", quantization: "bench", contextLength: Number(values.context), backend: "edge",
};
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const persist = mkdtempSync(join(tmpdir(), "ellm-bench-workerd-"));
const put = spawnSync("npx", ["wrangler", "r2", "object", "put", `${BUCKET}/${entry.r2Key}`, "--file", file, "--local", "--persist-to", persist], { env, encoding: "utf8" });
if (put.status !== 0) throw new Error(`seeding local R2 failed:\n${put.stderr}`);

const freePort = () =>
  new Promise<number>((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });

async function startWorker(): Promise<{ child: ChildProcess; base: string; startMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    "npx",
    ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist, "--var", `CATALOG:${JSON.stringify([entry])}`, "--var", `CONTEXT_LENGTH:${values.context}`],
    { env, stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    // /v1/models answers without touching the engine, so the first completion pays for everything after isolate start.
    if (await fetch(`${base}/v1/models`).then((r) => r.ok, () => false)) return { child, base, startMs: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("wrangler dev did not start within 60 s");
}

/** Streams a completion; returns ms to the first content chunk, tokens and ms after it, and the model-load time. */
async function streamed(base: string, maxTokens: number) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", prompt: "Once upon a time, in a land far away,", max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const loadMs = Number(/load;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? NaN);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let firstAt: number | undefined;
  let completionTokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
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
    const { child, base, startMs } = await startWorker();
    try {
      const cold = await streamed(base, 1);
      const warm = await streamed(base, 1);
      const decode = await streamed(base, gen);
      rows.push({ startS: startMs / 1000, coldMs: cold.ttftMs, loadMs: cold.loadMs, warmMs: warm.ttftMs, decodeTps: decode.decodeTps });
    } finally {
      process.kill(-child.pid!, "SIGTERM");
    }
  }
} finally {
  rmSync(persist, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const col = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k]);
const fmt = (k: keyof (typeof rows)[number], digits: number) =>
  `${median(col(k)).toFixed(digits)} (min ${Math.min(...col(k)).toFixed(digits)}, max ${Math.max(...col(k)).toFixed(digits)})`;
console.log(`bench:workerd — ${basename(file)} (${(entry.bytes / 2 ** 20).toFixed(1)} MiB), local workerd via wrangler dev, ${runs} fresh isolates`);
console.log(`wrangler dev start         ${fmt("startS", 2)} s`);
console.log(`cold TTFT (load+prefill)   ${fmt("coldMs", 0)} ms   of which R2 → WASM load ${fmt("loadMs", 0)} ms`);
console.log(`warm TTFT                  ${fmt("warmMs", 0)} ms`);
console.log(`decode (${gen} tokens)       ${fmt("decodeTps", 1)} tok/s`);

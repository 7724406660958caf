#!/usr/bin/env node
// Micro-benchmark of the engine's matmul kernels in Node: the check build in wasm/pkg-checks (the production kernels
// plus the exports that pick a kernel path; scripts/setup makes it, or ELLM_WASM_CHECKS=1 scripts/build-wasm).
// Reports GMAC/s per format, path and token count on SmolLM2-135M-sized matrices, and checks SIMD ≈ scalar. The
// SIMD kernels run on weights repacked as the loader repacks them (interleaved 4-row groups), the scalar ones on
// the file's row-major bytes.
//
//   node [--experimental-wasm-relaxed-simd] scripts/bench-kernels.mjs [--quick] [--relaxed] [--wasm file.wasm] [--only Q4_0,Q8_0] [--tokens 1,64]
// --relaxed loads wasm/pkg-checks/ellm_engine_relaxed_bg.wasm (Node 20 needs the flag); --wasm any build sharing
// the check build's glue.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    relaxed: { type: "boolean", default: false },
    wasm: { type: "string" },
    only: { type: "string" },
    tokens: { type: "string", default: "1,64" },
    rows: { type: "string" },
  },
});
const pkg = new URL("../wasm/pkg-checks/", import.meta.url);
if (!existsSync(new URL("ellm_engine.js", pkg))) {
  console.error(`no check build in ${pkg.pathname}: run scripts/setup, or ELLM_WASM_CHECKS=1 scripts/build-wasm`);
  process.exit(2);
}
const engine = await import(new URL("ellm_engine.js", pkg));
const wasmFile = opts.wasm ?? new URL(opts.relaxed ? "ellm_engine_relaxed_bg.wasm" : "ellm_engine_bg.wasm", pkg);
const wasmBytes = await readFile(wasmFile);
if (!WebAssembly.validate(wasmBytes)) {
  console.error(`${wasmFile}: this runtime cannot compile it (relaxed SIMD on Node 20 needs --experimental-wasm-relaxed-simd)`);
  process.exit(2);
}
engine.initSync({ module: await WebAssembly.compile(wasmBytes) });

const quick = opts.quick;
const minSeconds = quick ? 0.2 : 0.6;

function random(n, seed) {
  let a = seed >>> 0;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    v[i] = (a / 4294967296) * 2 - 1;
  }
  return v;
}

/** CPU seconds of this thread so far: on a shared, oversubscribed machine it counts only the time we ran. */
function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Seconds per matmul: one warm-up call (V8 tiers the wasm up from its baseline compiler), then iterations are
 * calibrated so one run lasts about minSeconds, and the best of 5 runs is kept. Timed in process CPU time
 * (the process is single-threaded while the kernel runs), so other jobs on the machine inflate it far less than
 * wall time; cache sharing with them still can.
 */
function time(path, dtype, rows, cols, w, x, nTokens) {
  const matmul = (iterations) => engine.matmulCheck(path, dtype, rows, cols, w[path], x, nTokens, iterations, path === "simd" && w.packed);
  // Warm up for a while, not once: V8 first runs wasm from Liftoff and swaps in TurboFan code when its
  // background compile finishes, which takes long for the big matmul function on a busy machine.
  const warmEnd = performance.now() + (quick ? 300 : 800);
  while (performance.now() < warmEnd) matmul(1);
  let iterations = 1;
  for (;;) {
    const t0 = cpuSeconds();
    matmul(iterations);
    const seconds = cpuSeconds() - t0;
    if (seconds >= minSeconds / 5) break;
    iterations = Math.min(iterations * Math.max(2, Math.ceil(minSeconds / 5 / Math.max(seconds, 1e-4))), 1 << 20);
  }
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const t0 = cpuSeconds();
    matmul(iterations);
    best = Math.min(best, (cpuSeconds() - t0) / iterations);
  }
  return best;
}

const cases = [
  // [dtype, rows, cols]: attention/FFN shapes of SmolLM2-135M (dim 576, ffn 1536).
  ["Q4_0", 1536, 576],
  ["Q4_0", 576, 576], // the attention projections and the FFN down projection: short rows, per-call costs show
  ["Q4_0", 192, 576],
  ["Q4_0", 576, 1536],
  ["Q4_1", 1536, 576],
  ["Q5_0", 1536, 576],
  ["Q5_1", 1536, 576],
  ["IQ4_NL", 1536, 576],
  ["Q8_0", 1536, 576],
  ["Q2_K", 576, 1536],
  ["Q3_K", 576, 1536],
  ["Q4_K", 576, 1536],
  ["Q5_K", 576, 1536],
  ["Q6_K", 576, 1536],
  ["IQ4_XS", 576, 1536],
  ["F16", 1536, 576],
  // The tied embedding / LM head (49152×576): 16–30 MB, far beyond L2, so it measures streaming from memory.
  ["Q4_0", 49152, 576],
  ["Q8_0", 49152, 576],
];
const tokenCounts = opts.tokens.split(",").map(Number);

console.log(`simd: ${engine.simdEnabled()}  wasm: ${wasmFile}  node ${process.version}`);
console.log("dtype  rows×cols    tokens  path    ms/matmul   GMAC/s   weight GB/s   max|simd−scalar|/Σ|out|");
const wanted = ([d, r]) => (!opts.only || opts.only.split(",").includes(d)) && (!opts.rows || opts.rows.split(",").map(Number).includes(r));
for (const [dtype, rows, cols] of cases.filter(wanted)) {
  const scalar = engine.quantize(dtype, random(rows * cols, 1));
  const packed = !dtype.startsWith("F");
  const w = { scalar, simd: packed ? engine.repackCheck(dtype, rows, scalar) : scalar, packed };
  for (const nTokens of tokenCounts) {
    const x = random(nTokens * cols, 2);
    const ref = engine.matmulCheck("scalar", dtype, rows, cols, w.scalar, x, nTokens);
    const out = engine.matmulCheck("simd", dtype, rows, cols, w.simd, x, nTokens, 1, packed);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < ref.length; i++) {
      diff = Math.max(diff, Math.abs(out[i] - ref[i]));
      norm += Math.abs(ref[i]) / ref.length;
    }
    for (const path of ["scalar", "simd"]) {
      if (quick && path === "scalar" && nTokens > 1) continue;
      const s = time(path, dtype, rows, cols, w, x, nTokens);
      const macs = rows * cols * nTokens;
      const gbs = w.scalar.length / s / 1e9;
      console.log(
        `${dtype.padEnd(6)} ${`${rows}×${cols}`.padEnd(12)} ${String(nTokens).padStart(6)}  ${path.padEnd(6)} ${(s * 1e3).toFixed(3).padStart(10)} ${(macs / s / 1e9).toFixed(2).padStart(8)} ${gbs.toFixed(2).padStart(12)}   ${path === "simd" ? (diff / norm).toExponential(2) : ""}`,
      );
    }
  }
}

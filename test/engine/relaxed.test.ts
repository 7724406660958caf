/**
 * The relaxed-SIMD engine build against the scalar kernels (through the check build's relaxed binary,
 * wasm/pkg-checks/ellm_engine_relaxed_bg.wasm: the same code as wasm/pkg's plus the kernel-path exports), and the
 * run-time choice between the two production builds.
 *
 * The relaxed binary runs in a child process: it needs a runtime with relaxed SIMD. On Node 20 that is
 * `--experimental-wasm-relaxed-simd` plus `--no-liftoff` (Node 20's baseline compiler gets the 8-bit dot product
 * wrong, which the loader's probe detects); Node ≥ 22 runs it as is. Where even that is impossible the tests say why
 * and skip.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RELAXED_PROBE, relaxedSimdExact, relaxedSimdSupported } from "../../lib/engine/wasm.js";
import { ENGINE_RELAXED_WASM_URL, loadedEngineBuild } from "../../lib/node/engine.js";
import { loadEngine } from "../helpers/engine.js";
import { CHECKS_GLUE_PATH, CHECKS_RELAXED_PATH } from "../helpers/kernel-checks.js";

const relaxedPath = fileURLToPath(ENGINE_RELAXED_WASM_URL);
const nodeMajor = Number(process.versions.node.split(".")[0]);
const childFlags = nodeMajor < 22 ? ["--experimental-wasm-relaxed-simd", "--no-liftoff"] : [];

/**
 * Child program: loads the relaxed binary with the shared glue and, for each case, returns the largest
 * |simd − scalar| relative to the mean |scalar| output, and the exact-equality count.
 */
const CHECKER = `
import { readFileSync } from "node:fs";
const [glue, wasm, casesJson] = process.argv.slice(1);
const engine = await import(glue);
const bytes = readFileSync(wasm);
if (!WebAssembly.validate(bytes)) { console.log(JSON.stringify({ error: "relaxed binary does not validate" })); process.exit(0); }
engine.initSync({ module: new WebAssembly.Module(bytes) });
let seed = 12345;
const next = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296 * 2 - 1; };
const results = [];
for (const [dtype, rows, cols, nTokens] of JSON.parse(casesJson)) {
  const w = engine.quantize(dtype, Float32Array.from({ length: rows * cols }, next));
  const x = Float32Array.from({ length: nTokens * cols }, () => next() * 3);
  const ref = engine.matmulCheck("scalar", dtype, rows, cols, w, x, nTokens);
  // Twice: the first call may run baseline-tier code, the later ones optimised code.
  let rel = 0;
  for (let rep = 0; rep < 2; rep++) {
    const out = engine.matmulCheck("simd", dtype, rows, cols, w, x, nTokens);
    let norm = 0, diff = 0;
    for (let i = 0; i < ref.length; i++) { norm += Math.abs(ref[i]) / ref.length; diff = Math.max(diff, Math.abs(out[i] - ref[i])); }
    rel = Math.max(rel, diff / norm);
  }
  // Block weights repacked as the loader does (the 32-value formats then take 8-row tiles): the same arithmetic per
  // row as rows repacked a group at a time, bit for bit. Float weights are never repacked.
  let packedSame = true;
  if (!["F32", "F16", "BF16"].includes(dtype)) {
    const packed = engine.matmulCheck("simd", dtype, rows, cols, engine.repackCheck(dtype, rows, w), x, nTokens, 1, true);
    const unpacked = engine.matmulCheck("simd", dtype, rows, cols, w, x, nTokens);
    packedSame = packed.every((v, i) => Object.is(v, unpacked[i]));
  }
  results.push({ dtype, rows, cols, nTokens, rel, packedSame });
}
console.log(JSON.stringify({ results }));
`;

type ChildResult = { dtype: string; rows: number; cols: number; nTokens: number; rel: number; packedSame: boolean };
function runChild(cases: [string, number, number, number][]): { results?: ChildResult[]; error?: string } {
  const child = spawnSync(process.execPath, [...childFlags, "--input-type=module", "-e", CHECKER, CHECKS_GLUE_PATH, CHECKS_RELAXED_PATH, JSON.stringify(cases)], {
    encoding: "utf8",
    timeout: 120_000,
  });
  if (child.status !== 0) return { error: `child exited ${child.status}: ${child.stderr.slice(-2000)}` };
  return JSON.parse(child.stdout.trim().split("\n").pop()!);
}

const haveBinary = existsSync(relaxedPath);
const skipReason = existsSync(CHECKS_RELAXED_PATH)
  ? undefined
  : `no ${CHECKS_RELAXED_PATH} (run scripts/setup, or ELLM_WASM_CHECKS=1 scripts/build-wasm)`;
if (skipReason) console.warn(`relaxed-SIMD tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)("relaxed-SIMD build vs scalar kernels", () => {
  it("the 32-value block formats (the relaxed 8-bit dot / fused multiply-add paths) agree with scalar on awkward shapes", () => {
    const cases: [string, number, number, number][] = [];
    for (const dtype of ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL"]) {
      for (const rows of [1, 3, 4, 5, 8, 13]) for (const nTokens of [1, 2, 3, 8, 9, 17]) cases.push([dtype, rows, dtype === "Q8_0" ? 160 : 96, nTokens]);
      cases.push([dtype, 1536, 576, 1], [dtype, 576, 1536, 8]);
    }
    const { results, error } = runChild(cases);
    expect(error).toBeUndefined();
    expect(results).toHaveLength(cases.length);
    for (const r of results!) {
      // Integer sums are exact; only f32 rounding (fused vs separate multiply-add) may differ.
      expect(r.rel, `${r.dtype} ${r.rows}×${r.cols} × ${r.nTokens} tokens`).toBeLessThan(1e-5);
      expect(r.packedSame, `${r.dtype} ${r.rows}×${r.cols} × ${r.nTokens} tokens, repacked weights`).toBe(true);
    }
  });

  it("the other formats (plain SIMD128 code compiled with relaxed SIMD enabled) agree with scalar", () => {
    const cases: [string, number, number, number][] = [];
    for (const dtype of ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"]) cases.push([dtype, 5, 512, 3], [dtype, 8, 256, 1], [dtype, 13, 768, 9]);
    for (const dtype of ["F32", "F16", "BF16"]) cases.push([dtype, 7, 72, 2], [dtype, 4, 64, 9]);
    const { results, error } = runChild(cases);
    expect(error).toBeUndefined();
    for (const r of results!) {
      expect(r.rel, `${r.dtype} ${r.rows}×${r.cols} × ${r.nTokens}`).toBeLessThan(1e-5);
      expect(r.packedSame, `${r.dtype} ${r.rows}×${r.cols} × ${r.nTokens}, repacked weights`).toBe(true);
    }
  });
});

describe("choosing the engine build at run time", () => {
  it("loadEngineNode loads the relaxed build only where the probe says it is exact", async () => {
    await loadEngine();
    expect(loadedEngineBuild()).toBe(relaxedSimdExact() && haveBinary ? "relaxed" : "simd");
  });

  it("Workers bundles carry the same probe (lib/engine/relaxed-probe.wasm: Workers cannot compile the bytes themselves)", () => {
    expect(new Uint8Array(readFileSync(new URL("../../lib/engine/relaxed-probe.wasm", import.meta.url)))).toEqual(RELAXED_PROBE);
  });

  it("a child Node 20 with the flag reports relaxed SIMD as supported but not exact", () => {
    if (nodeMajor >= 22) return; // nothing to demonstrate on runtimes where it is exact
    const child = spawnSync(
      process.execPath,
      ["--experimental-wasm-relaxed-simd", "--import", "tsx", "-e", `import("${fileURLToPath(new URL("../../lib/engine/wasm.ts", import.meta.url))}").then(m => console.log(JSON.stringify([m.relaxedSimdSupported(), m.relaxedSimdExact()])))`],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout.trim())).toEqual([true, false]);
  });
});

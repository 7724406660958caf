/**
 * Test helper: the engine's check build (wasm/pkg-checks, made by scripts/setup with `ELLM_WASM_CHECKS=1
 * scripts/build-wasm`): the production engine plus the exports that run one kernel path on caller data. The
 * production binaries (wasm/pkg) leave those out, so the kernel agreement tests load this build, with its own glue,
 * next to the library's engine. Without it they skip and say why.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { relaxedSimdExact, type EngineBindings } from "../../lib/engine/wasm.js";

export const CHECKS_PKG = new URL("../../wasm/pkg-checks/", import.meta.url);
export const CHECKS_GLUE_PATH = fileURLToPath(new URL("ellm_engine.js", CHECKS_PKG));
export const CHECKS_SIMD_PATH = fileURLToPath(new URL("ellm_engine_bg.wasm", CHECKS_PKG));
export const CHECKS_RELAXED_PATH = fileURLToPath(new URL("ellm_engine_relaxed_bg.wasm", CHECKS_PKG));

type Path = "scalar" | "simd" | string;

/** The check build's bindings (wasm/src/bindings/checks.rs) and the production ones the tests use with them. */
export interface KernelChecks extends Pick<EngineBindings, "quantize" | "dequantize" | "simdEnabled"> {
  /** out (nTokens × rows) = W · x on one kernel path, `iterations` times (default 1). */
  /** `interleaved`: `weights` were repacked by `repackCheck`, as the loader repacks them. */
  matmulCheck(
    path: Path,
    dtype: string,
    rows: number,
    cols: number,
    weights: Uint8Array,
    x: Float32Array,
    nTokens: number,
    iterations?: number,
    interleaved?: boolean,
  ): Float32Array;
  repackCheck(dtype: string, rows: number, weights: Uint8Array): Uint8Array;
  /** One attention vector primitive on one path (see `vec_check` in checks.rs). */
  vecCheck(op: string, path: Path, a: Float32Array, b: Float32Array, alpha: number): Float32Array;
  /** Prompt attention on one path: its blocked outputs, then token by token's (see `attention_check` in checks.rs). */
  attentionCheck(path: Path, kvType: string, nHeads: number, nKvHeads: number, headDim: number, q: Float32Array, keys: Float32Array, values: Float32Array): Float32Array;
  /** The activation quantizer (Q8_0) on one path. */
  quantizeQ8_0Check(path: Path, values: Float32Array): Uint8Array;
}

export type KernelChecksLoad = { checks: KernelChecks; build: "simd" | "relaxed"; skip?: undefined } | { checks?: undefined; skip: string };

let loading: Promise<KernelChecksLoad> | undefined;

async function load(): Promise<KernelChecksLoad> {
  if (!existsSync(CHECKS_GLUE_PATH) || !existsSync(CHECKS_SIMD_PATH)) {
    return { skip: `no check build in ${fileURLToPath(CHECKS_PKG)} (run scripts/setup, or ELLM_WASM_CHECKS=1 scripts/build-wasm)` };
  }
  // The same choice as loadEngineNode: relaxed SIMD where it is exact (and not refused by ELLM_ENGINE_BUILD).
  const wanted = process.env.ELLM_ENGINE_BUILD ?? "auto";
  const relaxed = wanted !== "simd" && existsSync(CHECKS_RELAXED_PATH) && relaxedSimdExact() ? readFileSync(CHECKS_RELAXED_PATH) : undefined;
  const build = relaxed && WebAssembly.validate(relaxed) ? "relaxed" : "simd";
  const bytes = build === "relaxed" ? relaxed! : readFileSync(CHECKS_SIMD_PATH);
  const glue = (await import(CHECKS_GLUE_PATH)) as KernelChecks & { initSync(m: { module: WebAssembly.Module }): unknown };
  glue.initSync({ module: new WebAssembly.Module(bytes) });
  return { checks: glue, build };
}

/** Loads the check build once per process; `skip` says why it cannot (printed once per caller, under `what`). */
export async function loadKernelChecks(what: string): Promise<KernelChecksLoad> {
  loading ??= load();
  const result = await loading;
  if (result.skip) console.warn(`${what} skipped: ${result.skip}`);
  return result;
}

/** Node-only: compile the engine's .wasm from disk and instantiate it. */
import { readFile } from "node:fs/promises";
import { initEngine, isEngineInitialised, relaxedSimdExact, type EngineBindings } from "../engine/wasm.js";
import * as bindings from "../../wasm/pkg/ellm_engine.js";

/** Path of the SIMD128 engine binary shipped next to the glue code. */
export const ENGINE_WASM_URL = new URL("../../wasm/pkg/ellm_engine_bg.wasm", import.meta.url);
/** The same engine built with relaxed SIMD as well (same glue, same exports); used where the runtime validates it. */
export const ENGINE_RELAXED_WASM_URL = new URL("../../wasm/pkg/ellm_engine_relaxed_bg.wasm", import.meta.url);

/** Which binary `loadEngineNode` picks: "auto" (relaxed if this runtime supports it), "simd" or "relaxed". */
export type EngineBuild = "auto" | "simd" | "relaxed";

let loading: Promise<EngineBindings> | undefined;
let chosen: "simd" | "relaxed" | undefined;

/** The build `loadEngineNode` loaded (undefined before it has). */
export function loadedEngineBuild(): "simd" | "relaxed" | undefined {
  return chosen;
}

/** Bytes backed by a plain ArrayBuffer, as the WebAssembly API's types want. */
type WasmBytes = Uint8Array<ArrayBuffer>;

async function readBytes(path: URL | string): Promise<WasmBytes> {
  return new Uint8Array(await readFile(path)) as WasmBytes;
}

async function readOptional(url: URL): Promise<WasmBytes | undefined> {
  try {
    return await readBytes(url);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Picks the engine binary: relaxed SIMD when present and `WebAssembly.validate` accepts it, else SIMD128. */
async function pickBinary(build: EngineBuild): Promise<{ build: "simd" | "relaxed"; bytes: WasmBytes }> {
  // A binary of one's own (dev: profiling builds with names, other target dirs); it must share the glue.
  const override = process.env.ELLM_ENGINE_WASM;
  if (override) return { build: override.includes("relaxed") ? "relaxed" : "simd", bytes: await readBytes(override) };
  if (build !== "simd") {
    const relaxed = await readOptional(ENGINE_RELAXED_WASM_URL);
    const usable = relaxedSimdExact();
    if (relaxed && usable && WebAssembly.validate(relaxed)) return { build: "relaxed", bytes: relaxed };
    if (build === "relaxed") {
      throw new Error(
        !relaxed
          ? `relaxed-SIMD engine binary missing: ${ENGINE_RELAXED_WASM_URL.pathname} (run scripts/build-wasm)`
          : WebAssembly.validate(relaxed)
            ? "this runtime's relaxed SIMD gives wrong 8-bit dot products (Node 20's experimental support); use Node ≥ 22"
            : "this runtime does not support wasm relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd, and is wrong with it)",
      );
    }
  }
  return { build: "simd", bytes: await readBytes(ENGINE_WASM_URL) };
}

/**
 * Loads the engine once per process. `build` (default: env ELLM_ENGINE_BUILD, else "auto") forces one binary,
 * for benchmarks and tests; the first call decides for the process. Env ELLM_ENGINE_WASM=<path> loads that file instead.
 */
export function loadEngineNode(build?: EngineBuild): Promise<EngineBindings> {
  if (isEngineInitialised() && !loading) return Promise.resolve(bindings);
  const requested = build ?? (process.env.ELLM_ENGINE_BUILD as EngineBuild | undefined) ?? "auto";
  if (!["auto", "simd", "relaxed"].includes(requested)) {
    return Promise.reject(new Error(`ELLM_ENGINE_BUILD must be auto, simd or relaxed, got ${JSON.stringify(requested)}`));
  }
  loading ??= pickBinary(requested)
    .then(async ({ build: picked, bytes }) => {
      const module = await WebAssembly.compile(bytes);
      chosen = picked;
      return module;
    })
    .then((module) => initEngine(module));
  return loading;
}

/** Path of the grammar module (llguidance) shipped next to the engine. */
export const GRAMMAR_WASM_URL = new URL("../../wasm/pkg/ellm_grammar_bg.wasm", import.meta.url);

let grammarModule: Promise<WebAssembly.Module> | undefined;

/** Compiles the grammar module once per process (only when a generation first asks for a response format). */
export function loadGrammarModuleNode(): Promise<WebAssembly.Module> {
  grammarModule ??= readBytes(GRAMMAR_WASM_URL).then((bytes) => WebAssembly.compile(bytes));
  grammarModule.catch(() => (grammarModule = undefined));
  return grammarModule;
}

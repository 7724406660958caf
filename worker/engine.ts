/** The Worker's engine instance: the .wasm comes precompiled from the bundle, instantiated once per isolate. */
import simdModule from "../wasm/pkg/ellm_engine_bg.wasm";
import relaxedModule from "../wasm/pkg/ellm_engine_relaxed_bg.wasm";
import grammarModule from "../wasm/pkg/ellm_grammar_bg.wasm";
import probeModule from "./relaxed-probe.wasm";
import { initEngine, relaxedSimdExact, type EngineBindings } from "../lib/engine/wasm.js";
import { initGrammar } from "../lib/grammar/wasm.js";

// The grammar module (response formats) is only registered here; it is instantiated on the first request with one.
initGrammar(grammarModule);

// Always there in a bundle; `ellm serve` imports a .wasm its Node cannot compile as undefined (lib/node/serve.ts).
const relaxed: WebAssembly.Module | undefined = relaxedModule;
let build: "simd" | "relaxed" | undefined;

/**
 * The engine binary this isolate runs: the relaxed-SIMD build where the runtime gives its exact 8-bit dot products
 * (the bundled probe, lib/engine/wasm.ts's RELAXED_PROBE, says so), else SIMD128. workerd's V8 decodes the
 * SIMD128 build ~14% slower than Node 20's V8 does; the relaxed build closes most of that (bench:workerd).
 */
export function workerEngineBuild(): "simd" | "relaxed" {
  return (build ??= relaxed && relaxedSimdExact(probeModule) ? "relaxed" : "simd");
}

export function workerEngine(): EngineBindings {
  return initEngine(workerEngineBuild() === "relaxed" ? relaxed! : simdModule);
}

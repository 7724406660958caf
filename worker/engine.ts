/** The Worker's engine instance: the .wasm comes precompiled from the bundle, instantiated once per isolate. */
import grammarModule from "../wasm/pkg/ellm_grammar_bg.wasm";
import { bundledEngineBuild, bundledEngineModule } from "../lib/engine/bundled.js";
import { initEngine, type EngineBindings } from "../lib/engine/wasm.js";
import { initGrammar } from "../lib/grammar/wasm.js";

// The grammar module (response formats) is only registered here; it is instantiated on the first request with one.
initGrammar(grammarModule);

/** The engine binary this isolate runs (relaxed SIMD where exact, else SIMD128: lib/engine/bundled.ts). */
export const workerEngineBuild = bundledEngineBuild;

export function workerEngine(): EngineBindings {
  return initEngine(bundledEngineModule());
}

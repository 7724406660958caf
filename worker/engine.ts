/** The Worker's engine instance: the .wasm comes precompiled from the bundle, instantiated once per isolate. */
import engineModule from "../wasm/pkg/ellm_engine_bg.wasm";
import grammarModule from "../wasm/pkg/ellm_grammar_bg.wasm";
import { initEngine, type EngineBindings } from "../lib/engine/wasm.js";
import { initGrammar } from "../lib/grammar/wasm.js";

// The grammar module (response formats) is only registered here; it is instantiated on the first request with one.
initGrammar(grammarModule);

export function workerEngine(): EngineBindings {
  return initEngine(engineModule);
}

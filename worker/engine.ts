/** The Worker's engine instance: the .wasm comes precompiled from the bundle, instantiated once per isolate. */
import engineModule from "../wasm/pkg/ellm_engine_bg.wasm";
import { initEngine, type EngineBindings } from "../lib/engine/wasm.js";

export function workerEngine(): EngineBindings {
  return initEngine(engineModule);
}

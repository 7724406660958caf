/** Test helper: the real engine, compiled from wasm/pkg (run scripts/build-wasm first). */
import { loadEngineNode } from "../../lib/node/engine.js";
import { engineMemory, type EngineBindings } from "../../lib/engine/wasm.js";

export function loadEngine(): Promise<EngineBindings> {
  return loadEngineNode();
}

export { engineMemory };

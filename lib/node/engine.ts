/** Node-only: compile the engine's .wasm from disk and instantiate it. */
import { readFile } from "node:fs/promises";
import { initEngine, isEngineInitialised, type EngineBindings } from "../engine/wasm.js";
import * as bindings from "../../wasm/pkg/ellm_engine.js";

/** Path of the engine binary shipped next to the glue code. */
export const ENGINE_WASM_URL = new URL("../../wasm/pkg/ellm_engine_bg.wasm", import.meta.url);

let loading: Promise<EngineBindings> | undefined;

export function loadEngineNode(): Promise<EngineBindings> {
  if (isEngineInitialised()) return Promise.resolve(bindings);
  loading ??= readFile(ENGINE_WASM_URL)
    .then((bytes) => WebAssembly.compile(bytes))
    .then((module) => initEngine(module));
  return loading;
}

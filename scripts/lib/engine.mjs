// The engine for Node scripts: instantiates wasm/pkg synchronously (run scripts/build-wasm first).
import { readFileSync } from "node:fs";
import * as glue from "../../wasm/pkg/ellm_engine.js";

let memory;

/** The initialised wasm-bindgen module (same instance on every call). */
export function loadEngine() {
  if (!memory) {
    const bytes = readFileSync(new URL("../../wasm/pkg/ellm_engine_bg.wasm", import.meta.url));
    memory = glue.initSync({ module: new WebAssembly.Module(bytes) }).memory;
  }
  return glue;
}

/** The engine's linear memory (for views over regions such as `GgufLoader.nextRegion`). */
export function engineMemory() {
  loadEngine();
  return memory;
}

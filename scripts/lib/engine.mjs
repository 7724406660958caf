// The engine for Node scripts: instantiates wasm/pkg synchronously (run scripts/build-wasm first).
import { readFileSync } from "node:fs";
import * as glue from "../../wasm/pkg/ellm_engine.js";

let engine;

/** The initialised wasm-bindgen module (same instance on every call). */
export function loadEngine() {
  if (!engine) {
    const bytes = readFileSync(new URL("../../wasm/pkg/ellm_engine_bg.wasm", import.meta.url));
    glue.initSync({ module: new WebAssembly.Module(bytes) });
    engine = glue;
  }
  return engine;
}

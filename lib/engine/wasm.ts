/**
 * The one place that instantiates the WASM engine. The caller supplies a compiled `WebAssembly.Module`:
 * Workers import it from the bundle (runtime compilation of fetched bytes is blocked there), Node compiles the file
 * from disk (lib/node), browsers use `WebAssembly.compileStreaming`. Everything else talks to the returned bindings.
 */
import * as bindings from "../../wasm/pkg/ellm_engine.js";

export type EngineBindings = typeof bindings;

let memory: WebAssembly.Memory | undefined;

/** Instantiates the engine once per JS realm; later calls return the same bindings. */
export function initEngine(module: WebAssembly.Module): EngineBindings {
  if (!memory) {
    memory = bindings.initSync({ module }).memory;
  }
  return bindings;
}

/** The engine's linear memory: zero-copy views (logits, load regions) are built over its current buffer. */
export function engineMemory(): WebAssembly.Memory {
  if (!memory) throw new Error("engine not initialised: call initEngine(module) first");
  return memory;
}

export function isEngineInitialised(): boolean {
  return memory !== undefined;
}

/**
 * The engine as a Workers bundle carries it (wrangler's CompiledWasm rule): both builds precompiled, and the probe
 * that picks one per isolate — Workers cannot compile bytes, so the probe of ./wasm.ts ships as a module too. Only
 * bundle entries import this (lib/workers.ts, worker/engine.ts): the core stays free of .wasm imports.
 */
import simdModule from "../../wasm/pkg/ellm_engine_bg.wasm";
import relaxedModule from "../../wasm/pkg/ellm_engine_relaxed_bg.wasm";
import probeModule from "./relaxed-probe.wasm";
import { relaxedSimdExact } from "./wasm.js";

// Always there in a bundle; `ellm serve` imports a .wasm its Node cannot compile as undefined (lib/node/serve.ts).
const relaxed: WebAssembly.Module | undefined = relaxedModule;
let build: "simd" | "relaxed" | undefined;

/**
 * The relaxed-SIMD build where the runtime gives its exact 8-bit dot products, else SIMD128. workerd's V8 decodes
 * the SIMD128 build ~15% slower than Node 20's V8 does; the relaxed build closes that (bench:workerd).
 */
export function bundledEngineBuild(): "simd" | "relaxed" {
  return (build ??= relaxed && relaxedSimdExact(probeModule) ? "relaxed" : "simd");
}

export function bundledEngineModule(): WebAssembly.Module {
  return bundledEngineBuild() === "relaxed" ? relaxed! : simdModule;
}

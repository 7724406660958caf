/**
 * Workers entry point (`ellm-edge/workers`): the core, with the engine instantiated on first use from the .wasm that
 * the bundle carries as a precompiled module (wrangler's CompiledWasm rule; Workers cannot compile fetched bytes).
 * wrangler resolves a .wasm import only relative to the importing file, hence this entry rather than a wasm export.
 */
import grammarModule from "../wasm/pkg/ellm_grammar_bg.wasm";
import { bundledEngineModule } from "./engine/bundled.js";
import { initEngine } from "./engine/wasm.js";
import { platform } from "./platform.js";

// The engine: its relaxed-SIMD build where the runtime has it exact, else SIMD128 (both bundled: ./engine/bundled.ts).
// The grammar module (response formats) is bundled too, and instantiated only by the first constrained generation.
platform.install({ loadEngine: async () => initEngine(bundledEngineModule()), loadGrammarModule: async () => grammarModule });

export * from "./index.js";

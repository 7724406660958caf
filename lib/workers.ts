/**
 * Workers entry point (`ellm-edge/workers`): the core, with the engine instantiated on first use from the .wasm that
 * the bundle carries as a precompiled module (wrangler's CompiledWasm rule; Workers cannot compile fetched bytes).
 * wrangler resolves a .wasm import only relative to the importing file, hence this entry rather than a wasm export.
 */
import engineModule from "../wasm/pkg/ellm_engine_bg.wasm";
import { initEngine } from "./engine/wasm.js";
import { platform } from "./platform.js";

platform.install({ loadEngine: async () => initEngine(engineModule) });

export * from "./index.js";

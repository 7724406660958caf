export declare function loadEngine(): typeof import("../../wasm/pkg/ellm_engine.js");
export declare function engineMemory(): WebAssembly.Memory;

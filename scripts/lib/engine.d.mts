export declare function loadEngine(): typeof import("../../wasm/pkg/ellm_engine.js");

//! wasm-bindgen layer: the only code that speaks JavaScript. Each submodule binds one part of the core.

use wasm_bindgen::prelude::*;

#[cfg(feature = "checks")]
pub mod checks;
pub mod error;
pub mod gguf;
pub mod header;
pub mod kernels;
pub mod model;
pub mod options;
pub mod report;
pub mod vocabulary;

/// Engine version, from Cargo.toml.
#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Whether this build's kernels use SIMD128 (true for every wasm build made by scripts/build-wasm).
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}

//! eLLM Edge engine: a llama-family transformer over GGUF weights, built for WebAssembly SIMD128.
//!
//! Layers, bottom up:
//! - `error`: the stable error codes every layer reports; `fresh_alloc`: the allocator (zeroed blocks skip fresh pages).
//! - `tensor`: data types (ggml block formats) and borrowed tensor views.
//! - `kernels`: per-format quantize / dequantize / dot products (scalar reference + SIMD128), matmul tiles.
//! - `gguf`: the GGUF container reader and the streaming loader that writes tensor data in place.
//! - `model`: hyper-parameters, weights, KV cache, scratch and the forward pass.
//! - `bindings`: the wasm-bindgen layer, the only code that speaks JavaScript.

pub mod error;
mod fresh_alloc;
pub mod tensor;
pub mod kernels;
pub mod gguf;
pub mod model;
pub mod bindings;

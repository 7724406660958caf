//! Numerical kernels, one module per ggml block format (scalar reference + SIMD128), and the matmul
//! driver that quantizes activations and tiles rows × tokens.
//!
//! Layout: `half` (f16/bf16 conversions), `q4_0` / `q4_1` / `q5_0` / `q5_1` / `q8_0` / `iq4_nl` / `q2_k` / `q3_k` /
//! `q4_k` / `q5_k` / `q6_k` / `iq4_xs` / `q8_k` / `float` (one block format each: `quantize_row`, `dequantize_row`,
//! scalar `vec_dot`, and on wasm SIMD128 builds a `simd` module: a tile, or for the Q8_0-partnered formats the block
//! decoder `q8_tiles` runs), `q8_tiles` (the SIMD loops of every Q8_0-partnered format), `block32` (their scalar
//! dequantize and dot, written once over each typed block's d, m and q(j)), `kquant_fit` (the K-quant
//! quantizers' scale searches), `block` (typed block views), `tile_rows` (the rows a tile reads, in either weight
//! layout), `vec` (attention primitives), `exp` (e^x for softmax and SwiGLU, exact to libm), `attn_tiles` (prompt attention's query-block × key-block tiles), `matmul`
//! (the API the model calls), `repack` (the load-time weight layout of the SIMD tiles). SIMD code is compiled only
//! for `wasm32` + `simd128`; elsewhere `KernelPath::Simd` runs the scalar
//! code.

pub mod attn_tiles;
mod block;
mod block256;
mod block32;
pub mod error;
mod exp;
pub mod float;
pub mod half;
pub mod iq4_nl;
pub mod iq4_xs;
mod kquant_fit;
pub mod matmul;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q5_0;
pub mod q5_1;
pub mod q4_k;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod q8_k;
pub mod repack;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod q8_tiles;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod tile_rows;
pub mod vec;

#[cfg(test)]
mod tests;

pub use error::KernelError;
pub use exp::{exp_in_place_with, silu_mul_with};
pub use half::{bf16_to_f32, bf16_to_f32_slice, f16_to_f32, f16_to_f32_slice, f32_to_bf16, f32_to_bf16_slice, f32_to_f16};
pub use matmul::{
    can_convert, default_path, dequantize, dequantize_row, is_supported, supported_names, matmul, matmul_with, quantize, quantize_q8_0_with, KernelPath,
    MatmulScratch,
};
pub use vec::{
    axpy_f16, axpy_f16_with, axpy_f32, axpy_f32_with, axpy_q8_0_with, dot_f16_f32, dot_f16_f32_with, dot_f32,
    dot_f32_with, dot_q8_0_with, f32_to_f16_slice, f32_to_f16_slice_with, round_to_f16_with, round_weights_to_f16_with, scores_f16_with, weighted_sum_f16_with,
};

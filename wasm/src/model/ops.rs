//! Element-wise building blocks of the transformer block: RMSNorm, softmax, SwiGLU, bias and residual adds.

use crate::kernels;

/// `out = x · w / sqrt(mean(x²) + eps)`, rounded step by step as ggml's `rms_norm` (f32 squares summed in f64, the
/// mean, the root and the scale in f32; then `(x · scale) · w`): the normalised activations are quantized next, and
/// a one-ulp difference from llama.cpp there can become a whole quantization step.
pub fn rmsnorm(out: &mut [f32], x: &[f32], w: &[f32], eps: f32) {
    debug_assert!(out.len() == x.len() && w.len() == x.len());
    let ss: f64 = x.iter().map(|&v| (v * v) as f64).sum();
    let mean = (ss / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for ((o, &xv), &wv) in out.iter_mut().zip(x).zip(w) {
        *o = xv * scale * wv;
    }
}

/// In-place softmax, shifted by the maximum for stability; the sum in f64 and its inverse rounded once to f32, as
/// ggml's `soft_max`.
///
/// e^x is libm's `expf`, four lanes at a time where SIMD128 is available but bit for bit (`kernels::exp`; here and
/// in `silu_mul`). A cheaper vector e^x (ggml's own AVX-512 `ggml_v_expf`, lane for lane, its fused multiply-adds
/// emulated in f64) decoded about 5% faster, but against llama.cpp on real weights it moved a few teacher-forced
/// steps whose top-1 lead is barely over the 0.5-nat bar: what these ops feed is quantized next (Q8_K's 256-value
/// grid most of all), where a one-ulp change can become a whole step either way.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v -= max;
    }
    kernels::exp_in_place_with(kernels::default_path(), x);
    let mut sum = 0.0f64;
    for &v in x.iter() {
        sum += v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// SwiGLU: `gate = silu(gate) · up`, with `silu(g) = g / (1 + e^-g)`.
pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
    debug_assert_eq!(gate.len(), up.len());
    kernels::silu_mul_with(kernels::default_path(), gate, up);
}

/// `x[t·b.len() + i] += b[i]` for every row `t` of `x`.
pub fn add_bias_rows(x: &mut [f32], b: &[f32]) {
    for row in x.chunks_exact_mut(b.len()) {
        add_in_place(row, b);
    }
}

/// `y += x` element-wise (residual connection).
pub fn add_in_place(y: &mut [f32], x: &[f32]) {
    debug_assert_eq!(y.len(), x.len());
    for (a, &b) in y.iter_mut().zip(x) {
        *a += b;
    }
}

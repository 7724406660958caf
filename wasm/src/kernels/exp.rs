//! e^x for softmax and SwiGLU, four lanes at a time on SIMD128 builds and bit for bit what the scalar `f32::exp`
//! gives there: on wasm32 that is Rust's libm `expf` (FreeBSD's `e_expf.c`), whose steps the vector code repeats in
//! the same f32 operations and order (IEEE, no fused multiply-add in either). Why exact and not a cheaper vector
//! e^x: these values are quantized next, where a one-ulp change can become a whole step and moved teacher-forced
//! steps against llama.cpp (see `model::ops::softmax`). Inputs the vector code does not cover (|x| ≥ 87.34, inf,
//! NaN) send their group of four to the scalar function.

use super::matmul::KernelPath;

/// x[i] = e^x[i], exactly as `f32::exp`.
pub fn exp_in_place_with(path: KernelPath, x: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::exp_in_place(x);
    }
    let _ = path;
    for v in x {
        *v = v.exp();
    }
}

/// SwiGLU: gate[i] = gate[i] / (1 + e^-gate[i]) · up[i], exactly as computed with `f32::exp`. Panics if the
/// lengths differ.
pub fn silu_mul_with(path: KernelPath, gate: &mut [f32], up: &[f32]) {
    assert_eq!(gate.len(), up.len(), "silu_mul: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::silu_mul(gate, up);
    }
    let _ = path;
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = silu_mul_one(*g, u);
    }
}

#[inline(always)]
fn silu_mul_one(g: f32, u: f32) -> f32 {
    g / (1.0 + (-g).exp()) * u
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    const LN2_HI: f32 = 6.931_457_5e-1; // 0x3f317200
    const LN2_LO: f32 = 1.428_606_8e-6; // 0x35bfbe8e
    const INV_LN2: f32 = 1.442_695_0; // 0x3fb8aa3b
    const P1: f32 = 1.666_662_5e-1; // 0xaaaa8f.0p-26
    const P2: f32 = -2.766_733_3e-3; // -0xb55215.0p-32

    pub fn exp_in_place(x: &mut [f32]) {
        let mut chunks = x.chunks_exact_mut(4);
        for c in &mut chunks {
            // SAFETY: c is 4 floats; wasm loads and stores need no alignment.
            unsafe {
                let v = v128_load(c.as_ptr() as *const v128);
                v128_store(c.as_mut_ptr() as *mut v128, exp4(v, || core::array::from_fn(|i| c[i].exp())));
            }
        }
        for v in chunks.into_remainder() {
            *v = v.exp();
        }
    }

    pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
        let mut g4 = gate.chunks_exact_mut(4);
        let mut u4 = up.chunks_exact(4);
        for (g, u) in (&mut g4).zip(&mut u4) {
            // SAFETY: g and u are 4 floats each; wasm loads and stores need no alignment.
            unsafe {
                let gv = v128_load(g.as_ptr() as *const v128);
                let e = exp4(f32x4_neg(gv), || core::array::from_fn(|i| (-g[i]).exp()));
                let r = f32x4_mul(f32x4_div(gv, f32x4_add(f32x4_splat(1.0), e)), v128_load(u.as_ptr() as *const v128));
                v128_store(g.as_mut_ptr() as *mut v128, r);
            }
        }
        for (g, &u) in g4.into_remainder().iter_mut().zip(u4.remainder()) {
            *g = super::silu_mul_one(*g, u);
        }
    }

    /// e^v lane by lane as libm's `expf`, or `scalar()` where a lane is outside the range handled here.
    #[inline(always)]
    fn exp4(v: v128, scalar: impl FnOnce() -> [f32; 4]) -> v128 {
        let hx = v128_and(v, u32x4_splat(0x7fff_ffff));
        // |x| ≥ 87.34 (overflow, underflow, inf) or NaN: expf's special cases.
        if v128_any_true(u32x4_ge(hx, u32x4_splat(0x42ae_ac50))) {
            let r = scalar();
            // SAFETY: 4 floats.
            return unsafe { v128_load(r.as_ptr() as *const v128) };
        }
        let negative = i32x4_lt(v, i32x4_splat(0)); // sign bit set (−0 too, as expf's `sign`)
        // k: round(x / ln2) by truncation of x / ln2 ± 0.5 beyond 1.5 ln2; ±1 beyond 0.5 ln2; else 0.
        let half = v128_bitselect(f32x4_splat(-0.5), f32x4_splat(0.5), negative);
        let k_far = i32x4_trunc_sat_f32x4(f32x4_add(f32x4_mul(f32x4_splat(INV_LN2), v), half));
        let k_near = v128_bitselect(i32x4_splat(-1), i32x4_splat(1), negative);
        let far = u32x4_gt(hx, u32x4_splat(0x3f85_1592));
        let reduce = u32x4_gt(hx, u32x4_splat(0x3eb1_7218));
        let k = v128_and(v128_bitselect(k_far, k_near, far), reduce);
        let kf = f32x4_convert_i32x4(k);
        // Lanes with k = 0 get hi = x - 0 · LN2_HI = x, lo = 0: expf's |x| ≤ 0.5 ln2 branch, the same values.
        let hi = f32x4_sub(v, f32x4_mul(kf, f32x4_splat(LN2_HI)));
        let lo = f32x4_mul(kf, f32x4_splat(LN2_LO));
        let x = f32x4_sub(hi, lo);
        let xx = f32x4_mul(x, x);
        let c = f32x4_sub(x, f32x4_mul(xx, f32x4_add(f32x4_splat(P1), f32x4_mul(xx, f32x4_splat(P2)))));
        let t = f32x4_div(f32x4_mul(x, c), f32x4_sub(f32x4_splat(2.0), c));
        let y = f32x4_add(f32x4_splat(1.0), f32x4_add(f32x4_sub(t, lo), hi));
        // scalbnf(y, k) for -126 ≤ k ≤ 127 (all k here: |x| < 87.34): one multiply by 2^k (2^0 = 1 is exact).
        let scaled = f32x4_mul(y, i32x4_shl(i32x4_add(k, i32x4_splat(127)), 23));
        // |x| ≤ 2^-14: expf returns 1 + x.
        let tiny = u32x4_le(hx, u32x4_splat(0x3900_0000));
        v128_bitselect(f32x4_add(f32x4_splat(1.0), v), scaled, tiny)
    }
}

//! Vector primitives for attention (q·k scores, weighted sums of values, f16 KV-cache writes), each with a
//! scalar reference and a SIMD128 version. The plain names use `default_path()`; `*_with` pick explicitly.
//! The Q8_0 pair serves the q8_0 KV cache as llama.cpp's `-ctk q8_0 -ctv q8_0` does: the query is quantized to
//! Q8_0 once per head and dotted with the keys in integers; values are dequantized block by block into the sum.

use super::half::{f16_to_f32, f32_to_f16, read_f16};
use super::matmul::{default_path, KernelPath};
use super::q8_0;

/// Σ a[i]·b[i]. Panics if the lengths differ (a caller bug).
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    dot_f32_with(default_path(), a, b)
}

/// Σ f16(a[i])·b[i]. Panics if the lengths differ.
pub fn dot_f16_f32(a: &[u16], b: &[f32]) -> f32 {
    dot_f16_f32_with(default_path(), a, b)
}

/// y += a·x. Panics if the lengths differ.
pub fn axpy_f32(y: &mut [f32], a: f32, x: &[f32]) {
    axpy_f32_with(default_path(), y, a, x)
}

/// y += a·f16(x). Panics if the lengths differ.
pub fn axpy_f16(y: &mut [f32], a: f32, x: &[u16]) {
    axpy_f16_with(default_path(), y, a, x)
}

/// dst[i] = f16(src[i]), round to nearest even. Panics if the lengths differ.
pub fn f32_to_f16_slice(src: &[f32], dst: &mut [u16]) {
    f32_to_f16_slice_with(default_path(), src, dst)
}

pub fn dot_f32_with(path: KernelPath, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_f32: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::dot_f32(a, b);
    }
    let _ = path;
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn dot_f16_f32_with(path: KernelPath, a: &[u16], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_f16_f32: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::dot_f16_f32(a, b);
    }
    let _ = path;
    a.iter().zip(b).map(|(&x, y)| f16_to_f32(x) * y).sum()
}

pub fn axpy_f32_with(path: KernelPath, y: &mut [f32], a: f32, x: &[f32]) {
    assert_eq!(y.len(), x.len(), "axpy_f32: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::axpy_f32(y, a, x);
    }
    let _ = path;
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

pub fn axpy_f16_with(path: KernelPath, y: &mut [f32], a: f32, x: &[u16]) {
    assert_eq!(y.len(), x.len(), "axpy_f16: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::axpy_f16(y, a, x);
    }
    let _ = path;
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * f16_to_f32(xv);
    }
}

/// `N` query heads against the same f16 key rows (`keys`: rows of `qs[h].len()` values): `out[h * n + p] =
/// dot_f16_f32(keys[p], qs[h]) · scale` for the n rows. Bit-identical to N passes of `dot_f16_f32_with`, but each key
/// is loaded and converted once for the N heads that share it (grouped-query attention). Panics on mismatched sizes.
pub fn scores_f16_with<const N: usize>(path: KernelPath, keys: &[u16], qs: [&[f32]; N], scale: f32, out: &mut [f32]) {
    let dim = qs[0].len();
    assert!(dim > 0 && qs.iter().all(|q| q.len() == dim) && keys.len() % dim == 0, "scores_f16: row sizes");
    let n = keys.len() / dim;
    assert!(out.len() >= N * n, "scores_f16: output too small");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::scores_f16(keys, qs, scale, n, out);
    }
    for (h, q) in qs.iter().enumerate() {
        for (p, row) in keys.chunks_exact(dim).enumerate() {
            out[h * n + p] = dot_f16_f32_with(path, row, q) * scale;
        }
    }
}

/// `outs[h] = Σ_p weights[h * n + p] · f16(values[p])` for `N` heads sharing the same f16 value rows (`outs`: N rows
/// of the value width, overwritten). Bit-identical to zeroing each head's row and N passes of `axpy_f16_with`, with
/// each value converted once. Panics on mismatched sizes.
pub fn weighted_sum_f16_with<const N: usize>(path: KernelPath, values: &[u16], weights: &[f32], outs: &mut [f32]) {
    let dim = outs.len() / N;
    assert!(dim > 0 && outs.len() == N * dim && values.len() % dim == 0, "weighted_sum_f16: row sizes");
    let n = values.len() / dim;
    assert!(weights.len() >= N * n, "weighted_sum_f16: weights too short");
    outs.fill(0.0);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::weighted_sum_f16::<N>(values, weights, n, outs);
    }
    for (h, oh) in outs.chunks_exact_mut(dim).enumerate() {
        for (p, row) in values.chunks_exact(dim).enumerate() {
            axpy_f16_with(path, oh, weights[h * n + p], row);
        }
    }
}

/// Σ over blocks of d_a·d_b·Σ qa·qb: two rows of Q8_0 blocks (same length). Panics if the lengths differ or are
/// not whole blocks.
pub fn dot_q8_0_with(path: KernelPath, a: &[u8], b: &[u8]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_q8_0: length mismatch");
    assert_eq!(a.len() % q8_0::BLOCK_BYTES, 0, "dot_q8_0: not whole blocks");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::dot_q8_0(a, b);
    }
    let _ = path;
    q8_0::vec_dot(a, b)
}

/// y += a·dequant(x), `x` a row of Q8_0 blocks of `y.len()` values; each value is `(a·d)·q`. Panics if the
/// lengths disagree.
pub fn axpy_q8_0_with(path: KernelPath, y: &mut [f32], a: f32, x: &[u8]) {
    assert_eq!(y.len() % q8_0::BLOCK_LEN, 0, "axpy_q8_0: length not a multiple of 32");
    assert_eq!(x.len(), y.len() / q8_0::BLOCK_LEN * q8_0::BLOCK_BYTES, "axpy_q8_0: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::axpy_q8_0(y, a, x);
    }
    let _ = path;
    for (yb, xb) in y.chunks_exact_mut(q8_0::BLOCK_LEN).zip(x.chunks_exact(q8_0::BLOCK_BYTES)) {
        let ad = a * read_f16(xb, 0);
        for (yv, &q) in yb.iter_mut().zip(&xb[2..]) {
            *yv += ad * (q as i8) as f32;
        }
    }
}

pub fn f32_to_f16_slice_with(path: KernelPath, src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len(), "f32_to_f16_slice: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::f32_to_f16_slice(src, dst);
    }
    let _ = path;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f32_to_f16(s);
    }
}

/// Rounds every value to the nearest f16, kept as f32 (what an f16 operand of llama.cpp's matmul holds); both paths
/// give the same bits.
pub fn round_to_f16_with(path: KernelPath, values: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::round_to_f16(values);
    }
    let _ = path;
    for v in values {
        *v = f16_to_f32(f32_to_f16(*v));
    }
}

/// `round_to_f16_with` for softmax weights (`+0 ≤ w ≤ 1`, the domain it is exact on; NaN, `-0` and values past
/// f16's range are not), in a few integer operations instead of two conversions: a weight under 2^-14 (an f16
/// subnormal) is rounded to the 2^-24 grid by adding and subtracting 0.5 (the f32 ulp at 0.5 is 2^-24, and ties go
/// to even as in the conversion); a larger one keeps 10 mantissa bits, rounded to nearest even in the bits. Both
/// paths give the same bits.
pub fn round_weights_to_f16_with(path: KernelPath, weights: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::round_weights_to_f16(weights);
    }
    let _ = path;
    for w in weights {
        *w = round_weight_to_f16(*w);
    }
}

/// Smallest normal f16, 2^-14.
const F16_MIN_NORMAL: f32 = 6.103_515_6e-5;

#[inline(always)]
fn round_weight_to_f16(w: f32) -> f32 {
    if w < F16_MIN_NORMAL {
        (w + 0.5) - 0.5
    } else {
        let b = w.to_bits();
        f32::from_bits(b.wrapping_add(0xfff + ((b >> 13) & 1)) & !0x1fff)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use crate::kernels::half::{f16_to_f32, f32_to_f16, read_f16};
    use crate::kernels::q8_0::{BLOCK_BYTES, BLOCK_LEN};
    use crate::kernels::simd::{F16Consts, ToF16Consts, hsum_f32x4, load, load_f32x4, load_u16x8, store_f32x4};
    use core::arch::wasm32::*;

    /// Σ qa·qb of one block pair: the 32 signed bytes widened to i16, four `i32x4_dot_i16x8`.
    #[inline(always)]
    fn block_dot_i32(a: &[u8], b: &[u8]) -> v128 {
        let (a0, a1, b0, b1) = (load(a, 2), load(a, 18), load(b, 2), load(b, 18));
        let d = |x: v128, y: v128| {
            i32x4_add(
                i32x4_dot_i16x8(i16x8_extend_low_i8x16(x), i16x8_extend_low_i8x16(y)),
                i32x4_dot_i16x8(i16x8_extend_high_i8x16(x), i16x8_extend_high_i8x16(y)),
            )
        };
        i32x4_add(d(a0, b0), d(a1, b1))
    }

    pub fn dot_q8_0(a: &[u8], b: &[u8]) -> f32 {
        let mut acc = f32x4_splat(0.0);
        for (ab, bb) in a.chunks_exact(BLOCK_BYTES).zip(b.chunks_exact(BLOCK_BYTES)) {
            let s = f32x4_convert_i32x4(block_dot_i32(ab, bb));
            acc = f32x4_add(acc, f32x4_mul(s, f32x4_splat(read_f16(ab, 0) * read_f16(bb, 0))));
        }
        hsum_f32x4(acc)
    }

    pub fn axpy_q8_0(y: &mut [f32], a: f32, x: &[u8]) {
        for (b, xb) in x.chunks_exact(BLOCK_BYTES).enumerate() {
            let ad = f32x4_splat(a * read_f16(xb, 0));
            let at = b * BLOCK_LEN;
            for (half, off) in [(0usize, 2usize), (16, 18)] {
                let q = load(xb, off);
                let (lo, hi) = (i16x8_extend_low_i8x16(q), i16x8_extend_high_i8x16(q));
                let parts = [
                    i32x4_extend_low_i16x8(lo),
                    i32x4_extend_high_i16x8(lo),
                    i32x4_extend_low_i16x8(hi),
                    i32x4_extend_high_i16x8(hi),
                ];
                for (k, p) in parts.into_iter().enumerate() {
                    let i = at + half + 4 * k;
                    store_f32x4(y, i, f32x4_add(load_f32x4(y, i), f32x4_mul(ad, f32x4_convert_i32x4(p))));
                }
            }
        }
    }

    pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        let n8 = a.len() - a.len() % 8;
        // Two accumulators hide the add latency.
        let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        let mut i = 0;
        while i < n8 {
            s0 = f32x4_add(s0, f32x4_mul(load_f32x4(a, i), load_f32x4(b, i)));
            s1 = f32x4_add(s1, f32x4_mul(load_f32x4(a, i + 4), load_f32x4(b, i + 4)));
            i += 8;
        }
        let mut s = hsum_f32x4(f32x4_add(s0, s1));
        for j in n8..a.len() {
            s += a[j] * b[j];
        }
        s
    }

    pub fn dot_f16_f32(a: &[u16], b: &[f32]) -> f32 {
        let f16 = F16Consts::hoisted();
        let n8 = a.len() - a.len() % 8;
        let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        let mut i = 0;
        while i < n8 {
            let (lo, hi) = f16.to_f32x4x2(load_u16x8(a, i));
            s0 = f32x4_add(s0, f32x4_mul(lo, load_f32x4(b, i)));
            s1 = f32x4_add(s1, f32x4_mul(hi, load_f32x4(b, i + 4)));
            i += 8;
        }
        let mut s = hsum_f32x4(f32x4_add(s0, s1));
        for j in n8..a.len() {
            s += f16_to_f32(a[j]) * b[j];
        }
        s
    }

    /// `dot_f16_f32` of every key row with each of the N queries, in its exact order of operations.
    pub fn scores_f16<const N: usize>(keys: &[u16], qs: [&[f32]; N], scale: f32, n: usize, out: &mut [f32]) {
        let f16 = F16Consts::hoisted();
        let dim = qs[0].len();
        let n8 = dim - dim % 8;
        for (p, row) in keys.chunks_exact(dim).enumerate() {
            let mut s0 = [f32x4_splat(0.0); N];
            let mut s1 = [f32x4_splat(0.0); N];
            let mut i = 0;
            while i < n8 {
                let (lo, hi) = f16.to_f32x4x2(load_u16x8(row, i));
                for h in 0..N {
                    s0[h] = f32x4_add(s0[h], f32x4_mul(lo, load_f32x4(qs[h], i)));
                    s1[h] = f32x4_add(s1[h], f32x4_mul(hi, load_f32x4(qs[h], i + 4)));
                }
                i += 8;
            }
            for h in 0..N {
                let mut s = hsum_f32x4(f32x4_add(s0[h], s1[h]));
                for j in n8..dim {
                    s += f16_to_f32(row[j]) * qs[h][j];
                }
                out[h * n + p] = s * scale;
            }
        }
    }

    /// `axpy_f16` of every value row into each of the N outputs, in its exact order of operations.
    pub fn weighted_sum_f16<const N: usize>(values: &[u16], weights: &[f32], n: usize, outs: &mut [f32]) {
        let f16 = F16Consts::hoisted();
        let dim = outs.len() / N;
        let n8 = dim - dim % 8;
        for (p, row) in values.chunks_exact(dim).enumerate() {
            let a: [f32; N] = core::array::from_fn(|h| weights[h * n + p]);
            let av: [v128; N] = core::array::from_fn(|h| f32x4_splat(a[h]));
            let mut i = 0;
            while i < n8 {
                let (lo, hi) = f16.to_f32x4x2(load_u16x8(row, i));
                for h in 0..N {
                    let y = &mut outs[h * dim..(h + 1) * dim];
                    store_f32x4(y, i, f32x4_add(load_f32x4(y, i), f32x4_mul(av[h], lo)));
                    store_f32x4(y, i + 4, f32x4_add(load_f32x4(y, i + 4), f32x4_mul(av[h], hi)));
                }
                i += 8;
            }
            for j in n8..dim {
                let x = f16_to_f32(row[j]);
                for h in 0..N {
                    outs[h * dim + j] += a[h] * x;
                }
            }
        }
    }

    pub fn axpy_f32(y: &mut [f32], a: f32, x: &[f32]) {
        let n4 = y.len() - y.len() % 4;
        let av = f32x4_splat(a);
        let mut i = 0;
        while i < n4 {
            let v = f32x4_add(load_f32x4(y, i), f32x4_mul(av, load_f32x4(x, i)));
            store_f32x4(y, i, v);
            i += 4;
        }
        for j in n4..y.len() {
            y[j] += a * x[j];
        }
    }

    pub fn axpy_f16(y: &mut [f32], a: f32, x: &[u16]) {
        let f16 = F16Consts::hoisted();
        let n8 = y.len() - y.len() % 8;
        let av = f32x4_splat(a);
        let mut i = 0;
        while i < n8 {
            let (lo, hi) = f16.to_f32x4x2(load_u16x8(x, i));
            store_f32x4(y, i, f32x4_add(load_f32x4(y, i), f32x4_mul(av, lo)));
            store_f32x4(y, i + 4, f32x4_add(load_f32x4(y, i + 4), f32x4_mul(av, hi)));
            i += 8;
        }
        for j in n8..y.len() {
            y[j] += a * f16_to_f32(x[j]);
        }
    }

    pub fn round_weights_to_f16(weights: &mut [f32]) {
        let c = crate::kernels::simd::opaque([f32x4_splat(super::F16_MIN_NORMAL), f32x4_splat(0.5), u32x4_splat(1), u32x4_splat(0xfff), u32x4_splat(!0x1fff)]);
        let [min_normal, half, one, below, mask] = c;
        let n4 = weights.len() - weights.len() % 4;
        let mut i = 0;
        while i < n4 {
            let w = load_f32x4(weights, i);
            let sub = f32x4_sub(f32x4_add(w, half), half);
            let normal = v128_and(i32x4_add(w, i32x4_add(below, v128_and(u32x4_shr(w, 13), one))), mask);
            store_f32x4(weights, i, v128_bitselect(sub, normal, f32x4_lt(w, min_normal)));
            i += 4;
        }
        for w in &mut weights[n4..] {
            *w = super::round_weight_to_f16(*w);
        }
    }

    pub fn round_to_f16(values: &mut [f32]) {
        let (to_f16, to_f32) = (ToF16Consts::hoisted(), F16Consts::hoisted());
        let n4 = values.len() - values.len() % 4;
        let mut i = 0;
        while i < n4 {
            store_f32x4(values, i, to_f32.to_f32x4(to_f16.convert(load_f32x4(values, i))));
            i += 4;
        }
        for v in &mut values[n4..] {
            *v = f16_to_f32(f32_to_f16(*v));
        }
    }

    pub fn f32_to_f16_slice(src: &[f32], dst: &mut [u16]) {
        let to_f16 = ToF16Consts::hoisted();
        let n8 = src.len() - src.len() % 8;
        let mut i = 0;
        while i < n8 {
            let lo = to_f16.convert(load_f32x4(src, i));
            let hi = to_f16.convert(load_f32x4(src, i + 4));
            let packed = u16x8_narrow_i32x4(lo, hi); // lanes ≤ 0xffff: the saturating narrow is exact
            let out: &mut [u16; 8] = (&mut dst[i..i + 8]).try_into().expect("8-half slice");
            // SAFETY: 16 writable bytes; unaligned stores are fine in wasm.
            unsafe { core::ptr::write_unaligned(out.as_mut_ptr() as *mut v128, packed) };
            i += 8;
        }
        for j in n8..src.len() {
            dst[j] = f32_to_f16(src[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_primitives() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.25).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot_f32_with(KernelPath::Scalar, &a, &b), want);
        let mut h = vec![0u16; 19];
        f32_to_f16_slice_with(KernelPath::Scalar, &a, &mut h);
        // Every a[i] is a multiple of 0.5 below 2^10, so f16 holds it exactly.
        assert_eq!(dot_f16_f32_with(KernelPath::Scalar, &h, &b), want);
        let mut y = b.clone();
        axpy_f32_with(KernelPath::Scalar, &mut y, 2.0, &a);
        let mut y16 = b.clone();
        axpy_f16_with(KernelPath::Scalar, &mut y16, 2.0, &h);
        for i in 0..19 {
            assert_eq!(y[i], b[i] + 2.0 * a[i]);
            assert_eq!(y16[i], y[i]);
        }
    }

    #[test]
    fn weight_rounding_equals_the_f16_round_trip_on_0_to_1() {
        // Every 7th f32 from +0 to 1.0 (all exponents, both f16 ranges, and the ties around each), then each boundary.
        let one = 1.0f32.to_bits();
        let edges = [0u32, 1, 0x3380_0000, 0x3300_0000, 0x3880_0000 - 1, 0x3880_0000, 0x3880_1000, 0x3880_3000, one];
        for b in (0..=one).step_by(7).chain(edges) {
            let w = f32::from_bits(b);
            let want = f16_to_f32(f32_to_f16(w));
            let mut got = [w];
            round_weights_to_f16_with(KernelPath::Scalar, &mut got);
            assert_eq!(got[0].to_bits(), want.to_bits(), "{w:e} ({b:#010x})");
        }
    }

    #[test]
    fn q8_0_primitives_match_dequantized_math() {
        let a: Vec<f32> = (0..64).map(|i| ((i * 29 % 61) as f32 - 30.0) * 0.07).collect();
        let b: Vec<f32> = (0..64).map(|i| ((i * 17 % 53) as f32 - 26.0) * 0.05).collect();
        let (mut qa, mut qb) = (vec![0u8; 68], vec![0u8; 68]);
        q8_0::quantize_row(&a, &mut qa);
        q8_0::quantize_row(&b, &mut qb);
        let (mut da, mut db) = (vec![0.0; 64], vec![0.0; 64]);
        q8_0::dequantize_row(&qa, &mut da);
        q8_0::dequantize_row(&qb, &mut db);
        let want: f64 = da.iter().zip(&db).map(|(x, y)| *x as f64 * *y as f64).sum();
        let got = dot_q8_0_with(KernelPath::Scalar, &qa, &qb) as f64;
        assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "{got} vs {want}");
        let mut y = b.clone();
        axpy_q8_0_with(KernelPath::Scalar, &mut y, 0.75, &qa);
        for i in 0..64 {
            assert!((y[i] - (b[i] + 0.75 * da[i])).abs() <= 1e-6, "axpy_q8_0 at {i}");
        }
    }
}

//! Tiles of prompt attention: a block of query rows (several tokens × the query heads of one KV head) against a
//! block of cached key or value rows, so each cached row is loaded and converted once per block of queries rather
//! than once per query token. `model::attention::attend_prompt` drives them.
//!
//! Every number equals the per-row primitives of `vec` on the same path, bit for bit: a score is `dot_f16_f32`
//! (or `dot_q8_0`) in its own order of operations, and a weighted sum adds `c · x` in ascending positions as
//! repeated `axpy_f16` (`axpy_q8_0`) do. So a prompt attends with exactly the numbers one token at a time would.

use super::half::f16_to_f32;
use super::matmul::KernelPath;
use super::q8_0::{BLOCK_BYTES, BLOCK_LEN};
use super::vec::dot_q8_0_with;

/// Cached rows decoded into one tile (a tile of 32 head rows of 64 f32 is 8 KiB: it stays in L1).
pub const TILE_ROWS: usize = 32;

/// `dst = f32(src)` for f16 values (exact).
pub fn f16_to_f32_tile_with(path: KernelPath, src: &[u16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "f16_to_f32_tile: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd && src.len() % 8 == 0 {
        return simd::f16_tile(src, dst);
    }
    let _ = path;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16_to_f32(s);
    }
}

/// Splits rows of Q8_0 blocks: `quants` gets every quant as f32 (exact) and `scales` every block's scale, so that
/// `scales[b] · quants[32b + j]` is the block's value `j`. Panics unless `src` is whole blocks that fit the outputs.
pub fn q8_0_to_f32_tile_with(path: KernelPath, src: &[u8], quants: &mut [f32], scales: &mut [f32]) {
    let nb = src.len() / BLOCK_BYTES;
    assert!(src.len() % BLOCK_BYTES == 0 && quants.len() == nb * BLOCK_LEN && scales.len() == nb, "q8_0_to_f32_tile: sizes");
    for (s, b) in scales.iter_mut().zip(src.chunks_exact(BLOCK_BYTES)) {
        *s = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::q8_0_quants(src, quants);
    }
    let _ = path;
    for (qb, b) in quants.chunks_exact_mut(BLOCK_LEN).zip(src.chunks_exact(BLOCK_BYTES)) {
        for (d, &q) in qb.iter_mut().zip(&b[2..]) {
            *d = (q as i8) as f32;
        }
    }
}

/// `out[r · stride + p] = (q_r · k_p) · scale` for every query row `q_r` of `q` and key row `k_p` of `keys` (both
/// `dim` wide), each dot in `dot_f16_f32`'s order, so keys decoded from f16 give its bits. On the SIMD path `dim`
/// must be a multiple of 8. Panics on mismatched sizes.
pub fn scores_tile_with(path: KernelPath, q: &[f32], keys: &[f32], dim: usize, scale: f32, out: &mut [f32], stride: usize) {
    assert!(dim > 0 && q.len() % dim == 0 && keys.len() % dim == 0, "scores_tile: row sizes");
    let (n_rows, n_keys) = (q.len() / dim, keys.len() / dim);
    assert!(n_rows == 0 || n_keys == 0 || (n_rows - 1) * stride + n_keys <= out.len(), "scores_tile: output too small");
    assert!(n_rows <= 1 || stride >= n_keys, "scores_tile: rows overlap");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        assert_eq!(dim % 8, 0, "scores_tile: SIMD needs whole 8-value chunks");
        return simd::scores(q, keys, dim, scale, out, stride);
    }
    let _ = path;
    for (r, qr) in q.chunks_exact(dim).enumerate() {
        for (p, k) in keys.chunks_exact(dim).enumerate() {
            // dot_f16_f32's scalar order: one running sum, front to back.
            out[r * stride + p] = k.iter().zip(qr).map(|(x, y)| x * y).sum::<f32>() * scale;
        }
    }
}

/// Q8_0: `out[r · stride + p] = dot_q8_0(keys_p, q_r) · scale` for every quantized query row of `q` and key row of
/// `keys` (`row_bytes` each, whole blocks). Panics on mismatched sizes.
pub fn scores_q8_0_tile_with(path: KernelPath, q: &[u8], keys: &[u8], row_bytes: usize, scale: f32, out: &mut [f32], stride: usize) {
    assert!(row_bytes > 0 && row_bytes % BLOCK_BYTES == 0, "scores_q8_0_tile: rows are not whole blocks");
    assert!(q.len() % row_bytes == 0 && keys.len() % row_bytes == 0, "scores_q8_0_tile: row sizes");
    let (n_rows, n_keys) = (q.len() / row_bytes, keys.len() / row_bytes);
    assert!(n_rows == 0 || n_keys == 0 || (n_rows - 1) * stride + n_keys <= out.len(), "scores_q8_0_tile: output too small");
    assert!(n_rows <= 1 || stride >= n_keys, "scores_q8_0_tile: rows overlap");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return simd::scores_q8_0(q, keys, row_bytes, scale, out, stride);
    }
    for (r, qr) in q.chunks_exact(row_bytes).enumerate() {
        for (p, k) in keys.chunks_exact(row_bytes).enumerate() {
            out[r * stride + p] = dot_q8_0_with(path, k, qr) * scale;
        }
    }
}

/// `out_r += Σ_p c_rp · x_p` for every output row `out_r` (`dim` wide) over the value rows `x_p` of `values`, with
/// `c_rp = w[r · stride + p]`, or with `scales` (one per 32 values of each row, from `q8_0_to_f32_tile_with`)
/// `c_rp = w[r · stride + p] · scales[..]` for the 32 values it covers. Added in ascending `p`, each term `c · x`,
/// as repeated `axpy_f16` (`axpy_q8_0`) add. On the SIMD path `dim` must be a multiple of 16. Panics on
/// mismatched sizes.
pub fn weighted_tile_with(path: KernelPath, w: &[f32], stride: usize, values: &[f32], scales: Option<&[f32]>, dim: usize, out: &mut [f32]) {
    assert!(dim > 0 && values.len() % dim == 0 && out.len() % dim == 0, "weighted_tile: row sizes");
    let (n_rows, n_keys) = (out.len() / dim, values.len() / dim);
    assert!(n_rows == 0 || n_keys == 0 || (n_rows - 1) * stride + n_keys <= w.len(), "weighted_tile: weights too short");
    if let Some(s) = scales {
        assert!(dim % BLOCK_LEN == 0 && s.len() == n_keys * dim / BLOCK_LEN, "weighted_tile: one scale per 32 values");
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        assert_eq!(dim % 16, 0, "weighted_tile: SIMD needs whole 16-value chunks");
        return simd::weighted(w, stride, values, scales, dim, out);
    }
    let _ = path;
    let nb = dim / BLOCK_LEN;
    for (r, o) in out.chunks_exact_mut(dim).enumerate() {
        for (p, x) in values.chunks_exact(dim).enumerate() {
            let a = w[r * stride + p];
            match scales {
                None => o.iter_mut().zip(x).for_each(|(y, &v)| *y += a * v),
                Some(s) => {
                    for (b, (ob, xb)) in o.chunks_exact_mut(BLOCK_LEN).zip(x.chunks_exact(BLOCK_LEN)).enumerate() {
                        let c = a * s[p * nb + b];
                        ob.iter_mut().zip(xb).for_each(|(y, &v)| *y += c * v);
                    }
                }
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::super::half::f16_to_f32;
    use super::super::q8_0::{BLOCK_BYTES, BLOCK_LEN};
    use super::super::simd::{load, load_f32x4, load_u16x8, store_f32x4, F16Consts};
    use core::arch::wasm32::*;

    pub fn f16_tile(src: &[u16], dst: &mut [f32]) {
        let f16 = F16Consts::hoisted();
        for i in (0..src.len()).step_by(8) {
            let (lo, hi) = f16.to_f32x4x2(load_u16x8(src, i));
            store_f32x4(dst, i, lo);
            store_f32x4(dst, i + 4, hi);
        }
    }

    pub fn q8_0_quants(src: &[u8], quants: &mut [f32]) {
        for (b, blk) in src.chunks_exact(BLOCK_BYTES).enumerate() {
            for (half, off) in [(0usize, 2usize), (16, 18)] {
                let q = load(blk, off);
                let (lo, hi) = (i16x8_extend_low_i8x16(q), i16x8_extend_high_i8x16(q));
                let parts = [i32x4_extend_low_i16x8(lo), i32x4_extend_high_i16x8(lo), i32x4_extend_low_i16x8(hi), i32x4_extend_high_i16x8(hi)];
                for (k, p) in parts.into_iter().enumerate() {
                    store_f32x4(quants, b * BLOCK_LEN + half + 4 * k, f32x4_convert_i32x4(p));
                }
            }
        }
    }

    /// The horizontal sums of four vectors in one: lane `k` is `hsum_f32x4` of the `k`th, in its order
    /// (`(v0 + v2) + (v1 + v3)`), with two shuffles per pair instead of two per vector.
    #[inline(always)]
    fn hsum4(a: v128, b: v128, c: v128, d: v128) -> v128 {
        let ab = f32x4_add(i32x4_shuffle::<0, 1, 4, 5>(a, b), i32x4_shuffle::<2, 3, 6, 7>(a, b));
        let cd = f32x4_add(i32x4_shuffle::<0, 1, 4, 5>(c, d), i32x4_shuffle::<2, 3, 6, 7>(c, d));
        f32x4_add(i32x4_shuffle::<0, 2, 4, 6>(ab, cd), i32x4_shuffle::<1, 3, 5, 7>(ab, cd))
    }

    /// Writes the four lanes of `v` (pairs in the order `(r, p)` of an `R × P` tile, `R · P ≤ 4`) to `out`.
    #[inline(always)]
    fn store_pairs<const R: usize, const P: usize>(v: v128, out: &mut [f32], at: usize, stride: usize) {
        let lanes = [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
        for r in 0..R {
            for p in 0..P {
                out[at + r * stride + p] = lanes[r * P + p];
            }
        }
    }

    /// Four f32 from `p`, unaligned and unchecked: the tile loops check their bounds once on entry, so their inner
    /// loops carry no index checks (with them, each load cost more than its multiply-add).
    ///
    /// # Safety
    /// 16 readable bytes at `p`.
    #[inline(always)]
    unsafe fn ld(p: *const f32) -> v128 {
        core::ptr::read_unaligned(p as *const v128)
    }

    /// Query rows `q[0..R]` against key rows `keys[0..P]` (`dim` apart, `R · P ≤ 4`): each pair's two accumulators
    /// take the low and high four of every 8 values, as `dot_f16_f32`'s do.
    ///
    /// # Safety
    /// `R` rows at `q` and `P` rows at `keys` of `dim` floats each, `dim` a multiple of 8.
    #[inline(always)]
    unsafe fn score_block<const R: usize, const P: usize>(q: *const f32, keys: *const f32, dim: usize) -> v128 {
        let zero = f32x4_splat(0.0);
        let mut s0 = [[zero; P]; R];
        let mut s1 = [[zero; P]; R];
        let mut i = 0;
        while i < dim {
            let kv: [(v128, v128); P] = core::array::from_fn(|p| (ld(keys.add(p * dim + i)), ld(keys.add(p * dim + i + 4))));
            for r in 0..R {
                let (qlo, qhi) = (ld(q.add(r * dim + i)), ld(q.add(r * dim + i + 4)));
                for p in 0..P {
                    s0[r][p] = f32x4_add(s0[r][p], f32x4_mul(kv[p].0, qlo));
                    s1[r][p] = f32x4_add(s1[r][p], f32x4_mul(kv[p].1, qhi));
                }
            }
            i += 8;
        }
        let mut v = [zero; 4];
        for r in 0..R {
            for p in 0..P {
                v[r * P + p] = f32x4_add(s0[r][p], s1[r][p]);
            }
        }
        hsum4(v[0], v[1], v[2], v[3])
    }

    pub fn scores(q: &[f32], keys: &[f32], dim: usize, scale: f32, out: &mut [f32], stride: usize) {
        let (n_rows, n_keys) = (q.len() / dim, keys.len() / dim);
        let sv = f32x4_splat(scale);
        let mut r = 0;
        while r < n_rows {
            let two_rows = r + 2 <= n_rows;
            let mut p = 0;
            while p < n_keys {
                let two_keys = p + 2 <= n_keys;
                let at = r * stride + p;
                // SAFETY: rows r.. (two only when r + 2 ≤ n_rows) of q and p.. of keys, whole rows of dim (a multiple
                // of 8), as `scores_tile_with` checked.
                let (qr, kp) = unsafe { (q.as_ptr().add(r * dim), keys.as_ptr().add(p * dim)) };
                unsafe {
                    match (two_rows, two_keys) {
                        (true, true) => store_pairs::<2, 2>(f32x4_mul(score_block::<2, 2>(qr, kp, dim), sv), out, at, stride),
                        (true, false) => store_pairs::<2, 1>(f32x4_mul(score_block::<2, 1>(qr, kp, dim), sv), out, at, stride),
                        (false, true) => store_pairs::<1, 2>(f32x4_mul(score_block::<1, 2>(qr, kp, dim), sv), out, at, stride),
                        (false, false) => store_pairs::<1, 1>(f32x4_mul(score_block::<1, 1>(qr, kp, dim), sv), out, at, stride),
                    }
                }
                p += 2;
            }
            r += 2;
        }
    }

    /// Sixteen bytes from `p`, unaligned and unchecked.
    ///
    /// # Safety
    /// 16 readable bytes at `p`.
    #[inline(always)]
    unsafe fn ld8(p: *const u8) -> v128 {
        core::ptr::read_unaligned(p as *const v128)
    }

    /// The f16 at `p` (a Q8_0 block's scale) as f32.
    ///
    /// # Safety
    /// 2 readable bytes at `p`.
    #[inline(always)]
    unsafe fn scale_at(p: *const u8) -> f32 {
        f16_to_f32(u16::from_le(core::ptr::read_unaligned(p as *const u16)))
    }

    /// The Q8_0 dots of the key row at `key` with the `R ≤ 4` query rows at `q` (`row_bytes` apart), each as
    /// `vec::dot_q8_0`: per block the i32 dot of the quants, converted, times `d_key · d_query`, summed in four
    /// lanes; the key's quants are widened once for all `R` rows.
    ///
    /// # Safety
    /// One row at `key` and `R` at `q` of `row_bytes` (whole Q8_0 blocks) each.
    #[inline(always)]
    unsafe fn q8_0_block<const R: usize>(q: *const u8, key: *const u8, row_bytes: usize) -> v128 {
        let zero = f32x4_splat(0.0);
        let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
        for b in (0..row_bytes).step_by(BLOCK_BYTES) {
            let (k0, k1) = (ld8(key.add(b + 2)), ld8(key.add(b + 18)));
            let kw = [i16x8_extend_low_i8x16(k0), i16x8_extend_high_i8x16(k0), i16x8_extend_low_i8x16(k1), i16x8_extend_high_i8x16(k1)];
            let dk = scale_at(key.add(b));
            let row = |acc: v128, r: usize| {
                let qb = q.add(r * row_bytes + b);
                let (q0, q1) = (ld8(qb.add(2)), ld8(qb.add(18)));
                let d0 = i32x4_add(i32x4_dot_i16x8(kw[0], i16x8_extend_low_i8x16(q0)), i32x4_dot_i16x8(kw[1], i16x8_extend_high_i8x16(q0)));
                let d1 = i32x4_add(i32x4_dot_i16x8(kw[2], i16x8_extend_low_i8x16(q1)), i32x4_dot_i16x8(kw[3], i16x8_extend_high_i8x16(q1)));
                let s = f32x4_convert_i32x4(i32x4_add(d0, d1));
                f32x4_add(acc, f32x4_mul(s, f32x4_splat(dk * scale_at(qb))))
            };
            // Written out row by row (R is a constant): as a loop, LLVM kept the accumulators in memory.
            a0 = row(a0, 0);
            if R > 1 {
                a1 = row(a1, 1);
            }
            if R > 2 {
                a2 = row(a2, 2);
            }
            if R > 3 {
                a3 = row(a3, 3);
            }
        }
        hsum4(a0, a1, a2, a3)
    }

    pub fn scores_q8_0(q: &[u8], keys: &[u8], row_bytes: usize, scale: f32, out: &mut [f32], stride: usize) {
        let n_rows = q.len() / row_bytes;
        let sv = f32x4_splat(scale);
        for (p, key) in keys.chunks_exact(row_bytes).enumerate() {
            let mut r = 0;
            while r < n_rows {
                // SAFETY: rows r..r + R (R ≤ n_rows − r) of q and the key row, whole blocks, as `scores_q8_0_tile_with`
                // checked.
                let (qr, k) = unsafe { (q.as_ptr().add(r * row_bytes), key.as_ptr()) };
                let lanes = unsafe {
                    match n_rows - r {
                        1 => q8_0_block::<1>(qr, k, row_bytes),
                        2 => q8_0_block::<2>(qr, k, row_bytes),
                        3 => q8_0_block::<3>(qr, k, row_bytes),
                        _ => q8_0_block::<4>(qr, k, row_bytes),
                    }
                };
                let lanes = f32x4_mul(lanes, sv);
                let lanes = [f32x4_extract_lane::<0>(lanes), f32x4_extract_lane::<1>(lanes), f32x4_extract_lane::<2>(lanes), f32x4_extract_lane::<3>(lanes)];
                for (k, &v) in lanes.iter().enumerate().take(n_rows - r) {
                    out[(r + k) * stride + p] = v;
                }
                r += 4;
            }
        }
    }

    /// Output rows `r0..r0 + R`, values `i..i + 16`: the 4 × R accumulators stay in registers over every position.
    /// `S`: the coefficients are `w · scales` (Q8_0 values), else `w`.
    ///
    /// # Safety
    /// `values` holds `n_keys` rows of `dim`; `w[(r0 + r) · stride + p]` exists for every `r < R`, `p < n_keys`;
    /// with `S`, `scales` holds `dim / 32` per row; `i + 16 ≤ dim`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn weighted_block<const R: usize, const S: bool>(w: &[f32], stride: usize, values: &[f32], scales: &[f32], n_keys: usize, dim: usize, out: &mut [f32], r0: usize, i: usize) {
        let mut acc: [[v128; 4]; R] = core::array::from_fn(|r| core::array::from_fn(|j| load_f32x4(out, (r0 + r) * dim + i + 4 * j)));
        let (nb, b) = (dim / BLOCK_LEN, i / BLOCK_LEN);
        let (wp, vp, sp) = (w.as_ptr().add(r0 * stride), values.as_ptr().add(i), scales.as_ptr());
        for p in 0..n_keys {
            let x: [v128; 4] = core::array::from_fn(|j| ld(vp.add(p * dim + 4 * j)));
            for (r, a) in acc.iter_mut().enumerate() {
                let c = *wp.add(r * stride + p);
                let c = if S { c * *sp.add(p * nb + b) } else { c };
                let cv = f32x4_splat(c);
                for j in 0..4 {
                    a[j] = f32x4_add(a[j], f32x4_mul(cv, x[j]));
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            for (j, &v) in a.iter().enumerate() {
                store_f32x4(out, (r0 + r) * dim + i + 4 * j, v);
            }
        }
    }

    pub fn weighted(w: &[f32], stride: usize, values: &[f32], scales: Option<&[f32]>, dim: usize, out: &mut [f32]) {
        let (n_rows, n_keys) = (out.len() / dim, values.len() / dim);
        let mut r = 0;
        while r < n_rows {
            for i in (0..dim).step_by(16) {
                // SAFETY: as `weighted_tile_with` checked: n_keys whole rows of values, the weights of rows r..r + R
                // (R ≤ n_rows − r) for every position, one scale per 32 values, dim a multiple of 16.
                unsafe {
                    match (r + 2 <= n_rows, scales) {
                        (true, None) => weighted_block::<2, false>(w, stride, values, &[], n_keys, dim, out, r, i),
                        (false, None) => weighted_block::<1, false>(w, stride, values, &[], n_keys, dim, out, r, i),
                        (true, Some(s)) => weighted_block::<2, true>(w, stride, values, s, n_keys, dim, out, r, i),
                        (false, Some(s)) => weighted_block::<1, true>(w, stride, values, s, n_keys, dim, out, r, i),
                    }
                }
            }
            r += 2;
        }
    }
}

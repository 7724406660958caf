//! IQ4_XS: super-blocks of 256 values, `{ f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128] }` (136 bytes).
//! Eight sub-blocks of 32 values with signed 6-bit scales (low 4 bits in nibble ib % 2 of scales_l[ib / 2], top
//! 2 bits at bit 2·ib of scales_h, stored +32); value = d · (scale − 32) · KVALUES[q], q a 4-bit index into
//! a non-linear table. Sub-block ib's value j < 16 is the low nibble of qs[16ib + j], value j + 16 the high
//! nibble. Dot partner: Q8_K.

use super::block::{as_blocks_mut, byte_block};
use super::block256::Block256;
use super::half::{f16_to_f32, f32_to_f16};
use super::kquant_fit::{nearest_int, nearest_level, GROUP_MAX_EPS};

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 136;

/// ggml's `block_iq4_xs`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    /// Top 2 bits of the eight sub-block scales (u16, little-endian).
    pub scales_h: [u8; 2],
    /// Low 4 bits of the sub-block scales, two per byte.
    pub scales_l: [u8; 4],
    pub qs: [u8; 128],
}
byte_block!(Block, BLOCK_BYTES);

/// ggml's `kvalues_iq4nl` (IQ4_NL's levels): denser near zero, where trained weights are.
pub use super::iq4_nl::LEVELS as KVALUES;

/// Sub-block ib's 6-bit scale (0..64, stored with +32).
#[inline(always)]
fn scale(block: &Block, ib: usize) -> u8 {
    let low = (block.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f;
    let high = (u16::from_le_bytes(block.scales_h) >> (2 * ib)) & 3;
    low | ((high as u8) << 4)
}

impl Block256 for Block {
    const NAME: &'static str = "iq4_xs";
    const GROUPS: usize = 8;
    const D_AT: usize = 0;
    /// The table levels of the 256 indices, in value order.
    #[inline(always)]
    fn quants(&self) -> [i8; 256] {
        let mut q = [0i8; 256];
        for ib in 0..8 {
            for j in 0..16 {
                let byte = self.qs[16 * ib + j];
                q[32 * ib + j] = KVALUES[(byte & 0x0f) as usize];
                q[32 * ib + 16 + j] = KVALUES[(byte >> 4) as usize];
            }
        }
        q
    }
    #[inline(always)]
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]) {
        (core::array::from_fn(|ib| if ib < 8 { scale(self, ib) as i32 - 32 } else { 0 }), [0; 16])
    }
}

/// Weighted least-squares scale of `x` ≈ scale · KVALUES[index] with indices chosen for the trial inverse
/// scale `id`; returns (Σ w·q·x, Σ w·q²).
fn trial(x: &[f32], weights: &[f32], id: f32, indices: &mut [u8]) -> (f32, f32) {
    let (mut sumqx, mut sumq2) = (0.0f32, 0.0f32);
    for j in 0..x.len() {
        let l = nearest_level(&KVALUES, id * x[j]);
        indices[j] = l as u8;
        let q = KVALUES[l] as f32;
        sumqx += weights[j] * q * x[j];
        sumq2 += weights[j] * q * q;
    }
    (sumqx, sumq2)
}

/// ggml's quantizer (without an importance matrix): per 32-value sub-block, 15 trial scales around the one
/// mapping the extreme onto the table's end, keeping the best x²-weighted least-squares fit; sub-block scales
/// quantized to signed 6 bits against an f16 super-block unit; indices recomputed against the scales stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "iq4_xs::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "iq4_xs::quantize_row: output size");
    const NTRY: i32 = 7;
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let mut sub_scale = [0.0f32; 8];
        let mut indices = [0u8; 32];
        for (ib, s) in x.chunks_exact(32).enumerate() {
            let weights: [f32; 32] = core::array::from_fn(|j| s[j] * s[j]);
            let (mut amax, mut max) = (0.0f32, 0.0f32);
            for &v in s {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            if amax < GROUP_MAX_EPS {
                continue;
            }
            let (sumqx, sumq2) = trial(s, &weights, KVALUES[0] as f32 / max, &mut indices);
            let mut d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
            let mut best = d * sumqx;
            for itry in -NTRY..=NTRY {
                let (sumqx, sumq2) = trial(s, &weights, (itry as f32 + KVALUES[0] as f32) / max, &mut indices);
                if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
                    d = sumqx / sumq2;
                    best = d * sumqx;
                }
            }
            sub_scale[ib] = d;
        }
        let max_scale = sub_scale.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let d16 = f32_to_f16(-max_scale / 32.0);
        let d = f16_to_f32(d16);
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let (mut scales_h, mut scales_l) = (0u16, [0u8; 4]);
        for (ib, s) in x.chunks_exact(32).enumerate() {
            let l = nearest_int(id * sub_scale[ib]).clamp(-32, 31);
            let dl = d * l as f32;
            let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
            for j in 0..32 {
                indices[j] = nearest_level(&KVALUES, idl * s[j]) as u8;
            }
            for j in 0..16 {
                out.qs[16 * ib + j] = indices[j] | (indices[16 + j] << 4);
            }
            let stored = (l + 32) as u8;
            scales_l[ib / 2] |= (stored & 0x0f) << (4 * (ib % 2));
            scales_h |= ((stored >> 4) as u16) << (2 * ib);
        }
        out.d = d16.to_le_bytes();
        out.scales_h = scales_h.to_le_bytes();
        out.scales_l = scales_l;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd {
    use super::{scale, Block, BLOCK_BYTES, KVALUES};
    use crate::kernels::block::{as_blocks, f16};
    use crate::kernels::q8_k::simd::{tile_with, Decoded};
    use crate::kernels::simd::{opaque, load};
    use crate::kernels::tile_rows::TileRows;
    use core::arch::wasm32::*;

    /// Indices → table values (one swizzle per 16) → i16x8 in value order; 8 signed scales.
    #[inline(always)]
    fn decode(bytes: &[u8], out: &mut Decoded) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = 0.0;
        let (table, mask) = opaque((load(&KVALUES.map(|v| v as u8), 0), u8x16_splat(0x0f)));
        for ib in 0..8 {
            let bytes = load(&b.qs, 16 * ib);
            let lo = i8x16_swizzle(table, v128_and(bytes, mask));
            let hi = i8x16_swizzle(table, u8x16_shr(bytes, 4));
            out.w[4 * ib] = i16x8_extend_low_i8x16(lo);
            out.w[4 * ib + 1] = i16x8_extend_high_i8x16(lo);
            out.w[4 * ib + 2] = i16x8_extend_low_i8x16(hi);
            out.w[4 * ib + 3] = i16x8_extend_high_i8x16(hi);
            out.scales[ib] = scale(b, ib) as i32 - 32;
        }
    }

    /// IQ4_XS weights × Q8_K activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(w: &TileRows<R>, x: &[&[u8]; T]) -> [[f32; T]; R] {
        tile_with::<R, T, 8, false, Decoded>(w, x, BLOCK_BYTES, decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::block256;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 0.5; sub-block ib stores scale 32 + ib − 4 (so −4..3) with top bits exercised by ib = 0..3
        // (28..31 → top bits 01) and ib ≥ 4 (32..35 → 10); index of value i = (i * 7) % 16. Raw bytes at ggml's
        // offsets: d 0, scales_h 2, scales_l 4..8, qs 8..136.
        let (scales_h_at, scales_l_at, qs_at) = (2, 4, 8);
        let mut block = vec![0u8; BLOCK_BYTES];
        block[0..2].copy_from_slice(&0x3800u16.to_le_bytes());
        let mut scales_h = 0u16;
        for ib in 0..8 {
            let s = (28 + ib) as u8;
            block[scales_l_at + ib / 2] |= (s & 0x0f) << (4 * (ib % 2));
            scales_h |= ((s >> 4) as u16) << (2 * ib);
        }
        block[scales_h_at..scales_l_at].copy_from_slice(&scales_h.to_le_bytes());
        let idx = |i: usize| ((i * 7) % 16) as u8;
        for ib in 0..8 {
            for j in 0..16 {
                block[qs_at + 16 * ib + j] = idx(32 * ib + j) | (idx(32 * ib + 16 + j) << 4);
            }
        }
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&block, &mut out);
        for (i, v) in out.iter().enumerate() {
            let want = 0.5 * ((i / 32) as f32 - 4.0) * KVALUES[idx(i) as usize] as f32;
            assert_eq!(*v, want, "value {i}");
        }
    }

    #[test]
    fn round_trip_error_is_small() {
        // Roughly Gaussian data (sum of uniforms), the shape the non-linear table is made for.
        let mut seed = 7u32;
        let mut uniform = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            seed as f32 / 4294967296.0 - 0.5
        };
        let src: Vec<f32> = (0..768).map(|i| (uniform() + uniform() + uniform()) * (1.0 + (i / 32) as f32 * 0.1)).collect();
        let mut q = vec![0u8; 3 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 768];
        block256::dequantize_row::<Block>(&q, &mut back);
        let (mut err2, mut sig2) = (0.0f64, 0.0f64);
        for (s, b) in src.chunks(32).zip(back.chunks(32)) {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (a, c) in s.iter().zip(b) {
                // The widest gap between levels is 24/127 of the range end; half of it plus scale rounding.
                assert!((a - c).abs() <= amax * 0.14 + 1e-3, "{a} vs {c} (amax {amax})");
                err2 += ((a - c) as f64).powi(2);
                sig2 += (*a as f64).powi(2);
            }
        }
        assert!((err2 / sig2).sqrt() < 0.1, "relative rms error {}", (err2 / sig2).sqrt());
    }

    #[test]
    fn zero_sub_blocks_stay_zero() {
        let mut src = vec![0.0f32; 256];
        src[40] = 1.0;
        let mut q = vec![0u8; BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 256];
        block256::dequantize_row::<Block>(&q, &mut back);
        assert!((back[40] - 1.0).abs() < 0.01, "{}", back[40]);
        assert!(back.iter().enumerate().all(|(i, v)| i == 40 || v.abs() < 0.02), "zeros stay near zero");
    }
}

//! Q5_K: super-blocks of 256 values, `{ f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }` (176 bytes).
//! Eight sub-blocks of 32 values with 6-bit scale `sc` and minimum `m`, packed exactly like Q4_K's;
//! value = d · sc · q − dmin · m with q a 5-bit quant. In each 64-value chunk c (0..4), for l < 32:
//!   value 64c + l      : qs[32c + l] low nibble,  high bit = qh[l] bit 2c
//!   value 64c + 32 + l : qs[32c + l] high nibble, high bit = qh[l] bit 2c + 1
//! Dot partner: Q8_K.

use super::block::{as_blocks_mut, byte_block};
use super::block256::Block256;
use super::half::{f16_to_f32, f32_to_f16};
use super::kquant_fit::{fit_scale_min, nearest_int};
use super::q4_k::{pack_scales, scales_mins};

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 176;

/// ggml's `block_q5_K`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    /// Eight 6-bit scales and minimums, packed like Q4_K's.
    pub scales: [u8; 12],
    pub qh: [u8; 32],
    pub qs: [u8; 128],
}
byte_block!(Block, BLOCK_BYTES);

impl Block256 for Block {
    const NAME: &'static str = "q5_k";
    const GROUPS: usize = 8;
    const D_AT: usize = 0;
    const DMIN_AT: Option<usize> = Some(2);
    /// The 256 5-bit quants, in value order.
    #[inline(always)]
    fn quants(&self) -> [i8; 256] {
        let mut q = [0i8; 256];
        for c in 0..4 {
            for l in 0..32 {
                let (byte, hi) = (self.qs[32 * c + l], self.qh[l] >> (2 * c));
                q[64 * c + l] = ((byte & 0x0f) | ((hi & 1) << 4)) as i8;
                q[64 * c + 32 + l] = ((byte >> 4) | (((hi >> 1) & 1) << 4)) as i8;
            }
        }
        q
    }
    #[inline(always)]
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]) {
        scales_mins(&self.scales)
    }
}

/// ggml's reference quantizer: per 32-value sub-block a searched affine fit (weights rms + |x|), 6-bit scales and
/// minimums against f16 super-block units, then the quants recomputed against the scales actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q5_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q5_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let mut q = [0u8; 256];
        let mut sub_scale = [0.0f32; 8];
        let mut sub_min = [0.0f32; 8];
        for j in 0..8 {
            let s = &x[32 * j..32 * j + 32];
            let rms = (s.iter().map(|v| v * v).sum::<f32>() / 32.0).sqrt();
            let weights: [f32; 32] = core::array::from_fn(|l| rms + s[l].abs());
            (sub_scale[j], sub_min[j]) = fit_scale_min(31, s, &weights, &mut q[32 * j..32 * j + 32], -0.5, 0.1, 15, false);
        }
        let max_scale = sub_scale.iter().fold(0.0f32, |m, &v| m.max(v));
        let max_min = sub_min.iter().fold(0.0f32, |m, &v| m.max(v));
        let inv_scale = if max_scale > 0.0 { 63.0 / max_scale } else { 0.0 };
        let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
        let sc: [u8; 8] = core::array::from_fn(|j| nearest_int(inv_scale * sub_scale[j]).clamp(0, 63) as u8);
        let m: [u8; 8] = core::array::from_fn(|j| nearest_int(inv_min * sub_min[j]).clamp(0, 63) as u8);
        let d16 = f32_to_f16(max_scale / 63.0);
        let dmin16 = f32_to_f16(max_min / 63.0);
        let (d, dmin) = (f16_to_f32(d16), f16_to_f32(dmin16));
        for j in 0..8 {
            let step = d * sc[j] as f32;
            if step == 0.0 {
                continue;
            }
            let offset = dmin * m[j] as f32;
            for l in 0..32 {
                q[32 * j + l] = nearest_int((x[32 * j + l] + offset) / step).clamp(0, 31) as u8;
            }
        }
        out.d = d16.to_le_bytes();
        out.dmin = dmin16.to_le_bytes();
        out.scales = pack_scales(&sc, &m);
        set_quants(out, &q);
    }
}

/// Inverse of `quants` for quants 0..=31.
fn set_quants(block: &mut Block, q: &[u8; 256]) {
    block.qh = [0; 32];
    for c in 0..4 {
        for l in 0..32 {
            let (lo, hi) = (q[64 * c + l], q[64 * c + 32 + l]);
            block.qs[32 * c + l] = (lo & 0x0f) | ((hi & 0x0f) << 4);
            block.qh[l] |= ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1));
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd {
    use super::{Block, Block256, BLOCK_BYTES};
    use crate::kernels::block::{as_blocks, f16};
    use crate::kernels::q8_k::simd::Decoded7;
    use crate::kernels::q8_k::simd::tile_bytes;
    use crate::kernels::simd::{opaque, load};
    use crate::kernels::tile_rows::TileRows;
    use core::arch::wasm32::*;

    /// 5-bit quants as bytes in value order: Q4_K's nibble order plus one qh bit per value.
    #[inline(always)]
    fn decode7(bytes: &[u8], out: &mut Decoded7) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = f16(b.dmin);
        let qh = [load(&b.qh, 0), load(&b.qh, 16)];
        let (mask, bit4) = opaque((u8x16_splat(0x0f), u8x16_splat(0x10)));
        // qh bit b moved to bit 4 (the quant's fifth bit): a left shift by 4 − b, or a right shift by b − 4.
        let fifth = |v: v128, b: u32| v128_and(if b <= 4 { i8x16_shl(v, 4 - b) } else { u8x16_shr(v, b - 4) }, bit4);
        for c in 0..4 {
            for h in 0..2 {
                let bytes = load(&b.qs, 32 * c + 16 * h);
                out.w[4 * c + h] = v128_or(v128_and(bytes, mask), fifth(qh[h], 2 * c as u32)); // values 64c + 16h ..
                out.w[4 * c + 2 + h] = v128_or(u8x16_shr(bytes, 4), fifth(qh[h], 2 * c as u32 + 1)); // 64c + 32 + 16h ..
            }
        }
        (out.scales, out.mins) = b.scales_mins();
    }

    /// Q5_K weights × Q8_K activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(w: &TileRows<R>, x: &[&[u8]; T]) -> [[f32; T]; R] {
        tile_bytes::<R, T, 8, true>(w, x, BLOCK_BYTES, decode7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::block256;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 1, dmin = 0.5, sub-block j: sc = j + 1, m = 2j. Quant of value i = i % 32, so the high bit (16)
        // is set for the second half of each 32 and both nibble and qh positions are exercised.
        // Written as raw bytes at ggml's offsets: d 0, dmin 2, scales 4..16, qh 16..48, qs 48..176.
        let mut block = vec![0u8; BLOCK_BYTES];
        block[0..2].copy_from_slice(&0x3c00u16.to_le_bytes());
        block[2..4].copy_from_slice(&0x3800u16.to_le_bytes());
        let sc: [u8; 8] = core::array::from_fn(|j| j as u8 + 1);
        let m: [u8; 8] = core::array::from_fn(|j| 2 * j as u8);
        block[4..16].copy_from_slice(&pack_scales(&sc, &m));
        for c in 0..4 {
            for l in 0..32 {
                let q = l as u8; // same quant for value 64c + l and 64c + 32 + l
                block[48 + 32 * c + l] = (q & 0x0f) | ((q & 0x0f) << 4);
                block[16 + l] |= ((q >> 4) << (2 * c)) | ((q >> 4) << (2 * c + 1));
            }
        }
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&block, &mut out);
        for (i, v) in out.iter().enumerate() {
            let j = i / 32;
            assert_eq!(*v, sc[j] as f32 * (i % 32) as f32 - 0.5 * m[j] as f32, "value {i}");
        }
    }

    #[test]
    fn round_trip_error_is_small() {
        let src: Vec<f32> = (0..768).map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.4) * (1.0 + (i / 32) as f32 * 0.1)).collect();
        let mut q = vec![0u8; 3 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 768];
        block256::dequantize_row::<Block>(&q, &mut back);
        for (j, (s, b)) in src.chunks(32).zip(back.chunks(32)).enumerate() {
            let range = s.iter().fold(0.0f32, |m, &v| m.max(v)) - s.iter().fold(0.0f32, |m, &v| m.min(v));
            let step = range / 31.0;
            let mut err2 = 0.0f32;
            for (a, c) in s.iter().zip(b) {
                // The error-minimising fit may clip an extreme by a little over half a step.
                assert!((a - c).abs() <= 1.5 * step, "sub-block {j}: {a} vs {c} (step {step})");
                err2 += (a - c) * (a - c);
            }
            // Plain rounding of uniform data gives step / √12 ≈ 0.29 step.
            let rms = (err2 / 32.0).sqrt();
            assert!(rms <= 0.35 * step, "sub-block {j}: rms error {rms} vs step {step}");
        }
    }
}

//! Q2_K: super-blocks of 256 values, `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }` (84 bytes).
//! Sixteen groups of 16 values; scales[g] holds the group's 4-bit scale (low nibble) and 4-bit minimum (high
//! nibble); value = d · scale · q − dmin · min with q a 2-bit quant. Per 128-value half n and l < 32, byte
//! qs[32n + l] holds values 128n + 32k + l in bits 2k..2k+2 (k = 0..4). Dot partner: Q8_K.

use super::block::{as_blocks_mut, byte_block};
use super::block256::Block256;
use super::half::{f16_to_f32, f32_to_f16};
use super::kquant_fit::{fit_scale_min, nearest_int};

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 84;

/// ggml's `block_q2_K`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    /// Group g's scale (low nibble) and minimum (high nibble).
    pub scales: [u8; 16],
    pub qs: [u8; 64],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}
byte_block!(Block, BLOCK_BYTES);

impl Block256 for Block {
    const NAME: &'static str = "q2_k";
    const GROUPS: usize = 16;
    const D_AT: usize = 80;
    const DMIN_AT: Option<usize> = Some(82);
    /// The 256 2-bit quants, in value order.
    #[inline(always)]
    fn quants(&self) -> [i8; 256] {
        let mut q = [0i8; 256];
        for n in 0..2 {
            for k in 0..4 {
                for l in 0..32 {
                    q[128 * n + 32 * k + l] = ((self.qs[32 * n + l] >> (2 * k)) & 3) as i8;
                }
            }
        }
        q
    }
    #[inline(always)]
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]) {
        (self.scales.map(|sm| (sm & 0x0f) as i32), self.scales.map(|sm| (sm >> 4) as i32))
    }
}

impl Block {
    /// Inverse of `quants` for quants 0..=3.
    fn set_quants(&mut self, q: &[u8; 256]) {
        for n in 0..2 {
            for l in 0..32 {
                let v = |k: usize| q[128 * n + 32 * k + l] << (2 * k);
                self.qs[32 * n + l] = v(0) | v(1) | v(2) | v(3);
            }
        }
    }
}

/// ggml's reference quantizer: per 16-value group a searched affine fit minimising the |x|-weighted absolute
/// error, 4-bit scales and minimums against f16 super-block units, then the quants recomputed against the
/// scales actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q2_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q2_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let mut q = [0u8; 256];
        let mut group_scale = [0.0f32; 16];
        let mut group_min = [0.0f32; 16];
        for g in 0..16 {
            let s = &x[16 * g..16 * g + 16];
            let weights: [f32; 16] = core::array::from_fn(|l| s[l].abs());
            (group_scale[g], group_min[g]) = fit_scale_min(3, s, &weights, &mut q[16 * g..16 * g + 16], -0.5, 0.1, 15, true);
        }
        let max_scale = group_scale.iter().fold(0.0f32, |m, &v| m.max(v));
        let max_min = group_min.iter().fold(0.0f32, |m, &v| m.max(v));
        let to_4bit = |v: f32, max: f32| if max > 0.0 { nearest_int(15.0 / max * v).clamp(0, 15) as u8 } else { 0 };
        let sc: [u8; 16] = core::array::from_fn(|g| to_4bit(group_scale[g], max_scale));
        let m: [u8; 16] = core::array::from_fn(|g| to_4bit(group_min[g], max_min));
        let d16 = f32_to_f16(if max_scale > 0.0 { max_scale / 15.0 } else { 0.0 });
        let dmin16 = f32_to_f16(if max_min > 0.0 { max_min / 15.0 } else { 0.0 });
        let (d, dmin) = (f16_to_f32(d16), f16_to_f32(dmin16));
        for g in 0..16 {
            let step = d * sc[g] as f32;
            if step == 0.0 {
                continue;
            }
            let offset = dmin * m[g] as f32;
            for l in 0..16 {
                q[16 * g + l] = nearest_int((x[16 * g + l] + offset) / step).clamp(0, 3) as u8;
            }
        }
        out.scales = core::array::from_fn(|g| sc[g] | (m[g] << 4));
        out.set_quants(&q);
        out.d = d16.to_le_bytes();
        out.dmin = dmin16.to_le_bytes();
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

    /// 2-bit quants as bytes in value order; 16 scales and minimums.
    #[inline(always)]
    fn decode7(bytes: &[u8], out: &mut Decoded7) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = f16(b.dmin);
        let three = opaque(u8x16_splat(3));
        for n in 0..2 {
            for h in 0..2 {
                let bytes = load(&b.qs, 32 * n + 16 * h);
                for k in 0..4 {
                    out.w[8 * n + 2 * k + h] = v128_and(u8x16_shr(bytes, 2 * k as u32), three); // values 128n + 32k + 16h ..
                }
            }
        }
        (out.scales, out.mins) = b.scales_mins();
    }

    /// Q2_K weights × Q8_K activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(w: &TileRows<R>, x: &[&[u8]; T]) -> [[f32; T]; R] {
        tile_bytes::<R, T, 16, true>(w, x, BLOCK_BYTES, decode7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::block256;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 1, dmin = 0.25; group g: scale g % 16, min 15 − g; quant of value i = (i / 3) % 4 (varies within
        // every byte's four 2-bit fields).
        let mut q = [0u8; 256];
        for (i, v) in q.iter_mut().enumerate() {
            *v = ((i / 3) % 4) as u8;
        }
        let mut bytes = vec![0u8; BLOCK_BYTES];
        let block = &mut as_blocks_mut::<Block>(&mut bytes)[0];
        block.set_quants(&q);
        block.scales = core::array::from_fn(|g| g as u8 | ((15 - g as u8) << 4));
        block.d = 0x3c00u16.to_le_bytes();
        block.dmin = 0x3400u16.to_le_bytes();
        assert_eq!(block.quants().map(|v| v as u8), q);
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&bytes, &mut out);
        for (i, v) in out.iter().enumerate() {
            let g = i / 16;
            assert_eq!(*v, g as f32 * q[i] as f32 - 0.25 * (15 - g) as f32, "value {i}");
        }
        // ggml's layout, spelled out: value 128 + 64 + 5 is byte 16 + 32 + 5 (qs after the 16 scales), bits 4..6;
        // d and dmin are the last four bytes.
        assert_eq!((bytes[16 + 32 + 5] >> 4) & 3, q[128 + 64 + 5]);
        assert_eq!(bytes[80..84], [0x00, 0x3c, 0x00, 0x34]);
    }

    #[test]
    fn round_trip_error_is_bounded_by_the_group_range() {
        let src: Vec<f32> = (0..512).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.45) * (1.0 + (i / 16) as f32 * 0.1)).collect();
        let mut q = vec![0u8; 2 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 512];
        block256::dequantize_row::<Block>(&q, &mut back);
        let (mut err2, mut sig2) = (0.0f64, 0.0f64);
        for (g, (s, b)) in src.chunks(16).zip(back.chunks(16)).enumerate() {
            let range = s.iter().fold(0.0f32, |m, &v| m.max(v)) - s.iter().fold(0.0f32, |m, &v| m.min(v));
            for (a, c) in s.iter().zip(b) {
                // Four levels over the group's range: a value is at most about one level from its quant.
                assert!((a - c).abs() <= range / 3.0 * 1.1 + 1e-3, "group {g}: {a} vs {c}");
                err2 += ((a - c) as f64).powi(2);
                sig2 += (*a as f64).powi(2);
            }
        }
        // Uniform data over four levels: plain rounding to the group range gives about 0.33.
        assert!((err2 / sig2).sqrt() < 0.3, "relative rms error {}", (err2 / sig2).sqrt());
    }
}

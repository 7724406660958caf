//! Q4_K: super-blocks of 256 values, `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }` (144 bytes).
//! Eight sub-blocks of 32 values, each with a 6-bit scale `sc` and 6-bit minimum `m` packed into `scales`;
//! value = d · sc · q − dmin · m with q a 4-bit quant. In each 64-value chunk c, qs[32c + l] holds value
//! 64c + l in its low nibble and value 64c + 32 + l in its high nibble. Dot partner: Q8_K.

use super::block::{as_blocks_mut, byte_block};
use super::block256::Block256;
use super::half::{f16_to_f32, f32_to_f16};

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 144;

/// ggml's `block_q4_K`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    /// Eight 6-bit scales and minimums (see `scale_min`).
    pub scales: [u8; 12],
    pub qs: [u8; 128],
}
byte_block!(Block, BLOCK_BYTES);

/// (scale, min) of sub-block j (0..8) from the 12 packed bytes: sub-blocks 0..4 keep 6 bits in bytes j / j+4;
/// sub-blocks 4..8 keep their low 4 bits in byte j+4 and their top 2 bits in the spare top bits of bytes j−4 / j.
#[inline(always)]
pub fn scale_min(scales: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        ((scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4), (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))
    }
}

/// Inverse of `scale_min`: packs eight 6-bit scales and mins into 12 bytes.
pub(crate) fn pack_scales(sc: &[u8; 8], m: &[u8; 8]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for j in 0..4 {
        out[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        out[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
        out[j + 8] = (sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4);
    }
    out
}

/// The eight (scale, min) pairs of a Q4_K / Q5_K `scales` field, as `Block256::scales_mins` gives them.
#[inline(always)]
pub(crate) fn scales_mins(scales: &[u8; 12]) -> ([i32; 16], [i32; 16]) {
    let (mut sc, mut m) = ([0; 16], [0; 16]);
    for j in 0..8 {
        let (s, mj) = scale_min(scales, j);
        (sc[j], m[j]) = (s as i32, mj as i32);
    }
    (sc, m)
}

impl Block256 for Block {
    const NAME: &'static str = "q4_k";
    const GROUPS: usize = 8;
    const D_AT: usize = 0;
    const DMIN_AT: Option<usize> = Some(2);
    /// The 256 4-bit quants, in value order.
    #[inline(always)]
    fn quants(&self) -> [i8; 256] {
        let mut q = [0i8; 256];
        for c in 0..4 {
            for l in 0..32 {
                let byte = self.qs[32 * c + l];
                q[64 * c + l] = (byte & 0x0f) as i8;
                q[64 * c + 32 + l] = (byte >> 4) as i8;
            }
        }
        q
    }
    #[inline(always)]
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]) {
        scales_mins(&self.scales)
    }
}

/// Reference-quality quantization: each 32-value sub-block maps [min(0, lo), hi] onto 0..15; the sub-block
/// scales and minimums are then quantized to 6 bits against the super-block's f16 `d` / `dmin`, and the
/// quants are computed against the scales actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q4_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q4_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let mut sub_scale = [0.0f32; 8];
        let mut sub_min = [0.0f32; 8];
        for j in 0..8 {
            let s = &x[32 * j..32 * j + 32];
            let lo = s.iter().fold(0.0f32, |m, &v| m.min(v));
            let hi = s.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            sub_scale[j] = ((hi - lo) / 15.0).max(0.0);
            sub_min[j] = -lo;
        }
        let d16 = f32_to_f16(sub_scale.iter().fold(0.0f32, |m, &v| m.max(v)) / 63.0);
        let dmin16 = f32_to_f16(sub_min.iter().fold(0.0f32, |m, &v| m.max(v)) / 63.0);
        let (d, dmin) = (f16_to_f32(d16), f16_to_f32(dmin16));
        let to_6bit = |v: f32, unit: f32| if unit > 0.0 { (v / unit).round().clamp(0.0, 63.0) as u8 } else { 0 };
        let sc: [u8; 8] = core::array::from_fn(|j| to_6bit(sub_scale[j], d));
        let m: [u8; 8] = core::array::from_fn(|j| to_6bit(sub_min[j], dmin));

        let mut q = [0u8; 256];
        for j in 0..8 {
            let step = d * sc[j] as f32;
            let offset = dmin * m[j] as f32;
            for l in 0..32 {
                let v = x[32 * j + l];
                q[32 * j + l] = if step > 0.0 { ((v + offset) / step).round().clamp(0.0, 15.0) as u8 } else { 0 };
            }
        }
        out.d = d16.to_le_bytes();
        out.dmin = dmin16.to_le_bytes();
        out.scales = pack_scales(&sc, &m);
        for c in 0..4 {
            for l in 0..32 {
                out.qs[32 * c + l] = q[64 * c + l] | (q[64 * c + 32 + l] << 4);
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd {
    use super::{Block, Block256, BLOCK_BYTES};
    use crate::kernels::block::{as_blocks, f16};
    #[cfg(not(target_feature = "relaxed-simd"))]
    use crate::kernels::q8_k::simd::{tile_with, Decoded};
    #[cfg(target_feature = "relaxed-simd")]
    use crate::kernels::q8_k::simd::{tile_with, Decoded7};
    use crate::kernels::simd::{opaque, load};
    use crate::kernels::tile_rows::TileRows;
    use core::arch::wasm32::*;

    /// Nibbles as bytes in value order: chunk c's low nibbles are values 64c..64c+32, high nibbles 64c+32..64c+64.
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    fn decode7(bytes: &[u8], out: &mut Decoded7) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = f16(b.dmin);
        let mask = opaque(u8x16_splat(0x0f));
        for c in 0..4 {
            let (lo, hi) = (load(&b.qs, 32 * c), load(&b.qs, 32 * c + 16));
            out.w[4 * c] = v128_and(lo, mask);
            out.w[4 * c + 1] = v128_and(hi, mask);
            out.w[4 * c + 2] = u8x16_shr(lo, 4);
            out.w[4 * c + 3] = u8x16_shr(hi, 4);
        }
        (out.scales, out.mins) = b.scales_mins();
    }

    /// The same nibbles widened straight to i16x8 (what `widen` of `decode7` gives, a little faster as measured).
    #[cfg(not(target_feature = "relaxed-simd"))]
    #[inline(always)]
    fn decode(bytes: &[u8], out: &mut Decoded) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = f16(b.dmin);
        let mask = opaque(u8x16_splat(0x0f));
        for c in 0..4 {
            let (lo, hi) = (load(&b.qs, 32 * c), load(&b.qs, 32 * c + 16));
            for (k, v) in [v128_and(lo, mask), v128_and(hi, mask), u8x16_shr(lo, 4), u8x16_shr(hi, 4)].into_iter().enumerate() {
                out.w[8 * c + 2 * k] = u16x8_extend_low_u8x16(v);
                out.w[8 * c + 2 * k + 1] = u16x8_extend_high_u8x16(v);
            }
        }
        (out.scales, out.mins) = b.scales_mins();
    }

    /// Q4_K weights × Q8_K activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(w: &TileRows<R>, x: &[&[u8]; T]) -> [[f32; T]; R] {
        #[cfg(target_feature = "relaxed-simd")]
        return tile_with::<R, T, 8, true, Decoded7>(w, x, BLOCK_BYTES, decode7);
        #[cfg(not(target_feature = "relaxed-simd"))]
        tile_with::<R, T, 8, true, Decoded>(w, x, BLOCK_BYTES, decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::block256;

    #[test]
    fn scale_packing_round_trips_all_6bit_values() {
        for base in 0..64u8 {
            let sc: [u8; 8] = core::array::from_fn(|j| (base + 7 * j as u8) % 64);
            let m: [u8; 8] = core::array::from_fn(|j| (base * 3 + 11 * j as u8) % 64);
            let packed = pack_scales(&sc, &m);
            for j in 0..8 {
                assert_eq!(scale_min(&packed, j), (sc[j], m[j]), "j={j} base={base}");
            }
        }
    }

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 1.0, dmin = 0.5; qs byte = low nibble l % 16, high nibble 15 − l % 16.
        let mut block = vec![0u8; BLOCK_BYTES];
        block[0..2].copy_from_slice(&0x3c00u16.to_le_bytes());
        block[2..4].copy_from_slice(&0x3800u16.to_le_bytes());
        // Packed by hand (ggml's layout): bytes 0..4 scales 0..3 (+ top bits of scales 4..7),
        // bytes 4..8 mins 0..3 (+ top bits of mins 4..7), bytes 8..12 low nibbles of scales/mins 4..7.
        // sc[4] = 21 and m[5] = 42 need their top 2 bits stored in the spare bits of bytes 0 and 5.
        let sc = [1u8, 2, 3, 4, 21, 6, 7, 8];
        let m = [0u8, 2, 4, 6, 8, 42, 12, 14];
        let scales = [1 | 1 << 6, 2, 3, 4, 0, 2 | 2 << 6, 4, 6, 5 | 8 << 4, 6 | 10 << 4, 7 | 12 << 4, 8 | 14 << 4];
        block[4..16].copy_from_slice(&scales);
        for c in 0..4 {
            for l in 0..32 {
                block[16 + 32 * c + l] = (l % 16) as u8 | ((15 - (l % 16) as u8) << 4);
            }
        }
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&block, &mut out);
        for i in 0..256 {
            let (c, within) = (i / 64, i % 64);
            let j = i / 32;
            let l = within % 32;
            let q = if within < 32 { l % 16 } else { 15 - l % 16 } as f32;
            let want = sc[j] as f32 * q - 0.5 * m[j] as f32;
            assert_eq!(out[i], want, "value {i} (chunk {c})");
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
            for (a, c) in s.iter().zip(b) {
                // One 4-bit step of the sub-block range, plus slack for the 6-bit scale rounding.
                assert!((a - c).abs() <= range / 15.0 * 0.75 + 1e-3, "sub-block {j}: {a} vs {c}");
            }
        }
    }
}

//! Q6_K: super-blocks of 256 values, `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }` (210 bytes).
//! value i = d · scales[i / 16] · (q − 32), q a 6-bit quant: low 4 bits in `ql`, high 2 bits in `qh`.
//! Per 128-value half n (ql += 64n, qh += 32n), for l < 32:
//!   value l      : ql[l] low nibble,      qh[l] bits 0-1
//!   value l + 32 : ql[l + 32] low nibble, qh[l] bits 2-3
//!   value l + 64 : ql[l] high nibble,     qh[l] bits 4-5
//!   value l + 96 : ql[l + 32] high nibble, qh[l] bits 6-7
//! Dot partner: Q8_K.

use super::block::{as_blocks_mut, byte_block};
use super::block256::Block256;
use super::half::{f16_to_f32, f32_to_f16};

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 210;

/// ggml's `block_q6_K`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub ql: [u8; 128],
    pub qh: [u8; 64],
    /// The sixteen group scales (i8).
    pub scales: [u8; 16],
    pub d: [u8; 2],
}
byte_block!(Block, BLOCK_BYTES);

impl Block256 for Block {
    const NAME: &'static str = "q6_k";
    const GROUPS: usize = 16;
    const D_AT: usize = 208;
    /// The 256 quants in value order, already offset to −32..31.
    #[inline(always)]
    fn quants(&self) -> [i8; 256] {
        let mut q = [0i8; 256];
        for n in 0..2 {
            let (ql, qh) = (&self.ql[64 * n..64 * n + 64], &self.qh[32 * n..32 * n + 32]);
            let out = &mut q[128 * n..128 * n + 128];
            for l in 0..32 {
                out[l] = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i8 - 32;
                out[l + 32] = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
                out[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
                out[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
            }
        }
        q
    }
    #[inline(always)]
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]) {
        (self.scales.map(|s| s as i8 as i32), [0; 16])
    }
}

/// Inverse of `quants` for quants 0..63 (offset already added).
fn pack_quants(q: &[u8; 256], block: &mut Block) {
    for n in 0..2 {
        let q = &q[128 * n..128 * n + 128];
        for l in 0..32 {
            block.ql[64 * n + l] = (q[l] & 0x0f) | ((q[l + 64] & 0x0f) << 4);
            block.ql[64 * n + l + 32] = (q[l + 32] & 0x0f) | ((q[l + 96] & 0x0f) << 4);
            block.qh[32 * n + l] = (q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6);
        }
    }
}

/// Reference-quality quantization: each 16-value group's extreme maps to −32 (so it is exact before the
/// scale rounding); group scales are quantized to i8 against the f16 super-block `d`, and quants are
/// computed against the scales actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q6_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q6_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let group_scale: [f32; 16] = core::array::from_fn(|g| {
            let extreme = x[16 * g..16 * g + 16].iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
            extreme / -32.0
        });
        let d16 = f32_to_f16(group_scale.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0);
        let d = f16_to_f32(d16);
        let sc: [i8; 16] =
            core::array::from_fn(|g| if d > 0.0 { (group_scale[g] / d).round().clamp(-128.0, 127.0) as i8 } else { 0 });
        let mut q = [32u8; 256];
        for (i, qi) in q.iter_mut().enumerate() {
            let step = d * sc[i / 16] as f32;
            if step != 0.0 {
                *qi = ((x[i] / step).round().clamp(-32.0, 31.0) as i32 + 32) as u8;
            }
        }
        pack_quants(&q, out);
        out.scales = sc.map(|s| s as u8);
        out.d = d16.to_le_bytes();
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

    /// 6-bit quants as unsigned bytes (0..63) in value order, for the relaxed 8-bit dot; the −32 offset goes
    /// into the minimums (32 · scale, with dmin = d).
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    fn decode7(bytes: &[u8], out: &mut Decoded7) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = out.d;
        let (low4, bits45) = opaque((u8x16_splat(0x0f), u8x16_splat(0x30)));
        for n in 0..2 {
            for h in 0..2 {
                let ql_a = load(&b.ql, 64 * n + 16 * h);
                let ql_b = load(&b.ql, 64 * n + 32 + 16 * h);
                let qh = load(&b.qh, 32 * n + 16 * h);
                // Quant k's lanes are values 128n + 32k + 16h .. + 16.
                out.w[8 * n + h] = v128_or(v128_and(ql_a, low4), v128_and(i8x16_shl(qh, 4), bits45));
                out.w[8 * n + 2 + h] = v128_or(v128_and(ql_b, low4), v128_and(i8x16_shl(qh, 2), bits45));
                out.w[8 * n + 4 + h] = v128_or(u8x16_shr(ql_a, 4), v128_and(qh, bits45));
                out.w[8 * n + 6 + h] = v128_or(u8x16_shr(ql_b, 4), v128_and(u8x16_shr(qh, 2), bits45));
            }
        }
        (out.scales, _) = b.scales_mins();
        out.mins = out.scales.map(|s| 32 * s);
    }

    /// 6-bit quants → i16x8 (−32..31) in value order; 16 i8 group scales.
    #[cfg(not(target_feature = "relaxed-simd"))]
    #[inline(always)]
    fn decode(bytes: &[u8], out: &mut Decoded) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = 0.0;
        let (low4, bits45, offset) = opaque((u8x16_splat(0x0f), u8x16_splat(0x30), i8x16_splat(32)));
        for n in 0..2 {
            for h in 0..2 {
                let ql_a = load(&b.ql, 64 * n + 16 * h); // ql[l], l = 16h..16h+16
                let ql_b = load(&b.ql, 64 * n + 32 + 16 * h); // ql[l + 32]
                let qh = load(&b.qh, 32 * n + 16 * h);
                let q1 = v128_or(v128_and(ql_a, low4), v128_and(i8x16_shl(qh, 4), bits45));
                let q2 = v128_or(v128_and(ql_b, low4), v128_and(i8x16_shl(qh, 2), bits45));
                let q3 = v128_or(u8x16_shr(ql_a, 4), v128_and(qh, bits45));
                let q4 = v128_or(u8x16_shr(ql_b, 4), v128_and(u8x16_shr(qh, 2), bits45));
                // Value index of q_k's first lane: 128n + 32(k−1) + 16h → i16x8 slot / 8.
                for (k, q) in [q1, q2, q3, q4].into_iter().enumerate() {
                    let q = i8x16_sub(q, offset);
                    let slot = 16 * n + 4 * k + 2 * h;
                    out.w[slot] = i16x8_extend_low_i8x16(q);
                    out.w[slot + 1] = i16x8_extend_high_i8x16(q);
                }
            }
        }
        (out.scales, _) = b.scales_mins();
    }

    /// Q6_K weights × Q8_K activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(w: &TileRows<R>, x: &[&[u8]; T]) -> [[f32; T]; R] {
        #[cfg(target_feature = "relaxed-simd")]
        return tile_with::<R, T, 16, true, Decoded7>(w, x, BLOCK_BYTES, decode7);
        #[cfg(not(target_feature = "relaxed-simd"))]
        tile_with::<R, T, 16, false, Decoded>(w, x, BLOCK_BYTES, decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::block256;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // Every quant q = 32 + (i % 32) − 16 → q − 32 = i % 32 − 16; scales[g] = g − 8; d = 0.25.
        let mut block = vec![0u8; BLOCK_BYTES];
        for n in 0..2 {
            for l in 0..32 {
                let v = (16 + l) as u8; // 6-bit value (16..47) of values l, l+32, l+64, l+96 alike
                block[64 * n + l] = (v & 0x0f) | ((v & 0x0f) << 4);
                block[64 * n + 32 + l] = (v & 0x0f) | ((v & 0x0f) << 4);
                let hi = v >> 4;
                block[128 + 32 * n + l] = hi | (hi << 2) | (hi << 4) | (hi << 6);
            }
        }
        for g in 0..16 {
            block[192 + g] = (g as i8 - 8) as u8;
        }
        block[208..210].copy_from_slice(&0x3400u16.to_le_bytes());
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&block, &mut out);
        for (i, v) in out.iter().enumerate() {
            let want = 0.25 * ((i / 16) as f32 - 8.0) * ((i % 32) as f32 - 16.0);
            assert_eq!(*v, want, "value {i}");
        }
    }

    #[test]
    fn distinct_bit_positions_decode_to_their_values() {
        // One quant per position class set to a distinct value, everything else 32 (→ 0).
        let mut q = [32u8; 256];
        let picks = [(3usize, 1u8), (35, 62), (67, 17), (99, 48), (131, 5), (163, 60), (195, 40), (227, 63)];
        for &(i, v) in &picks {
            q[i] = v;
        }
        let mut block = vec![0u8; BLOCK_BYTES];
        pack_quants(&q, &mut as_blocks_mut::<Block>(&mut block)[0]);
        for g in 0..16 {
            block[192 + g] = 1;
        }
        block[208..210].copy_from_slice(&0x3c00u16.to_le_bytes());
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&block, &mut out);
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, q[i] as f32 - 32.0, "value {i}");
        }
    }

    #[test]
    fn round_trip_error_is_small() {
        let src: Vec<f32> = (0..512).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * (1.0 + (i / 16) as f32 * 0.2)).collect();
        let mut q = vec![0u8; 2 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 512];
        block256::dequantize_row::<Block>(&q, &mut back);
        for (g, (s, b)) in src.chunks(16).zip(back.chunks(16)).enumerate() {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (a, c) in s.iter().zip(b) {
                // Quants span −32..31 with the extreme at −32: the other sign may clamp by up to one step.
                assert!((a - c).abs() <= amax / 32.0 + amax * 0.01, "group {g}: {a} vs {c}");
            }
        }
    }
}

//! Q3_K: super-blocks of 256 values, `{ u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }` (110 bytes).
//! Sixteen groups of 16 values with signed 6-bit scales; value = d · (scale − 32) · (q − 4), q a 3-bit quant.
//! Value v = 128n + 32k + l (n < 2, k < 4, l < 32): low 2 bits in qs[32n + l] bits 2k..2k+2, high bit in
//! hmask[l] bit 4n + k (= v / 32). Scale j: low 4 bits in scales[j] (j < 8) or scales[j − 8] >> 4, top 2 bits
//! in scales[8 + j % 4] at bit 2 · (j / 4). Dot partner: Q8_K.

use super::block::{as_blocks_mut, byte_block};
use super::block256::Block256;
use super::half::{f16_to_f32, f32_to_f16};
use super::kquant_fit::{fit_symmetric, nearest_int};

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 110;

/// ggml's `block_q3_K`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub hmask: [u8; 32],
    pub qs: [u8; 64],
    pub scales: [u8; 12],
    pub d: [u8; 2],
}
byte_block!(Block, BLOCK_BYTES);

/// The sixteen group scales (−32..31) from the 12 packed bytes, four at a time in u32 lanes: bytes 0..4 hold
/// the low nibbles of scales 0..4 (and 8..12 in their high nibbles), bytes 4..8 those of 4..8 (12..16), and
/// byte 8 + i the top 2 bits of scales i, 4 + i, 8 + i, 12 + i.
#[inline(always)]
fn unpack_scales(scales: &[u8; 12]) -> [i8; 16] {
    let word = |i: usize| u32::from_le_bytes([scales[4 * i], scales[4 * i + 1], scales[4 * i + 2], scales[4 * i + 3]]);
    let (lo, hi, top) = (word(0), word(1), word(2));
    let (nib, two) = (0x0f0f_0f0f, 0x0303_0303);
    let words = [
        (lo & nib) | ((top & two) << 4),
        (hi & nib) | (((top >> 2) & two) << 4),
        ((lo >> 4) & nib) | (((top >> 4) & two) << 4),
        ((hi >> 4) & nib) | (((top >> 6) & two) << 4),
    ];
    core::array::from_fn(|j| (words[j / 4].to_le_bytes()[j % 4] as i8).wrapping_sub(32))
}

/// Inverse of `unpack_scales` (before the −32): packs sixteen 6-bit values into 12 bytes.
fn pack_scales(sc: &[u8; 16]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for (j, &s) in sc.iter().enumerate() {
        if j < 8 {
            out[j] |= s & 0x0f;
        } else {
            out[j - 8] |= (s & 0x0f) << 4;
        }
        out[8 + j % 4] |= (s >> 4) << (2 * (j / 4));
    }
    out
}

impl Block256 for Block {
    const NAME: &'static str = "q3_k";
    const GROUPS: usize = 16;
    const D_AT: usize = 108;
    /// The 256 quants in value order, already offset to −4..3.
    #[inline(always)]
    fn quants(&self) -> [i8; 256] {
        let mut q = [0i8; 256];
        for n in 0..2 {
            for k in 0..4 {
                for l in 0..32 {
                    let low = (self.qs[32 * n + l] >> (2 * k)) & 3;
                    let high = (self.hmask[l] >> (4 * n + k)) & 1;
                    q[128 * n + 32 * k + l] = (low | (high << 2)) as i8 - 4;
                }
            }
        }
        q
    }
    #[inline(always)]
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]) {
        (unpack_scales(&self.scales).map(i32::from), [0; 16])
    }
}

/// Inverse of `quants` for quants 0..=7 (offset already added).
fn pack_quants(q: &[u8; 256], block: &mut Block) {
    block.hmask = [0; 32];
    block.qs = [0; 64];
    for n in 0..2 {
        for k in 0..4 {
            for l in 0..32 {
                let v = q[128 * n + 32 * k + l];
                block.qs[32 * n + l] |= (v & 3) << (2 * k);
                block.hmask[l] |= (v >> 2) << (4 * n + k);
            }
        }
    }
}

/// ggml's reference quantizer: per 16-value group a symmetric fit refined by x²-weighted least squares, group
/// scales quantized to signed 6 bits against an f16 super-block unit (the largest one exactly at −32), then
/// the quants recomputed against the scales actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q3_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q3_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let mut levels = [0i8; 256];
        let group_scale: [f32; 16] = core::array::from_fn(|g| fit_symmetric(4, &x[16 * g..16 * g + 16], &mut levels[16 * g..16 * g + 16]));
        let max_scale = group_scale.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let mut sc = [0u8; 16];
        let mut d16 = 0u16;
        if max_scale != 0.0 {
            let iscale = -32.0 / max_scale;
            for g in 0..16 {
                sc[g] = (nearest_int(iscale * group_scale[g]).clamp(-32, 31) + 32) as u8;
            }
            d16 = f32_to_f16(1.0 / iscale);
        }
        let d = f16_to_f32(d16);
        let mut q = [0u8; 256];
        for g in 0..16 {
            let step = d * (sc[g] as i32 - 32) as f32;
            for l in 0..16 {
                let i = 16 * g + l;
                q[i] = if step != 0.0 { (nearest_int(x[i] / step).clamp(-4, 3) + 4) as u8 } else { levels[i] as u8 };
            }
        }
        pack_quants(&q, out);
        out.scales = pack_scales(&sc);
        out.d = d16.to_le_bytes();
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

    /// 3-bit quants as unsigned bytes (0..7) in value order; the −4 offset goes into the minimums (4 · scale,
    /// with dmin = d), so the quants fit the relaxed dot's 7-bit operand.
    #[inline(always)]
    fn decode7(bytes: &[u8], out: &mut Decoded7) {
        let b = &as_blocks::<Block>(bytes)[0];
        out.d = f16(b.d);
        out.dmin = out.d;
        let (three, four) = opaque((u8x16_splat(3), u8x16_splat(4)));
        let hmask = [load(&b.hmask, 0), load(&b.hmask, 16)];
        for n in 0..2 {
            for h in 0..2 {
                let bytes = load(&b.qs, 32 * n + 16 * h);
                for k in 0..4 {
                    // Lanes are values 128n + 32k + 16h .. + 16; their high bits sit at bit 4n + k of hmask.
                    let low = v128_and(u8x16_shr(bytes, 2 * k as u32), three);
                    let bit = 4 * n + k;
                    let high = if bit >= 2 {
                        v128_and(u8x16_shr(hmask[h], bit as u32 - 2), four)
                    } else {
                        v128_and(i8x16_shl(hmask[h], 2 - bit as u32), four)
                    };
                    out.w[8 * n + 2 * k + h] = v128_or(low, high);
                }
            }
        }
        // The quants stay unsigned (q + 4): the offset goes into the minimums, 4 · scale.
        (out.scales, _) = b.scales_mins();
        out.mins = out.scales.map(|s| 4 * s);
    }

    /// Q3_K weights × Q8_K activations.
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
    fn scale_packing_round_trips_all_6bit_values() {
        for base in 0..64u8 {
            let sc: [u8; 16] = core::array::from_fn(|j| (base + 13 * j as u8) % 64);
            let packed = pack_scales(&sc);
            let unpacked = unpack_scales(&packed);
            for j in 0..16 {
                assert_eq!(unpacked[j] as i32 + 32, sc[j] as i32, "j={j} base={base}");
            }
        }
        // ggml's layout by hand: scale 9 = 0b10_0111 → low nibble in the high half of byte 1, top bits 2 at
        // byte 8 + 9 % 4 = 9, bits 2·(9 / 4) = 4..6.
        let mut sc = [0u8; 16];
        sc[9] = 0b10_0111;
        let packed = pack_scales(&sc);
        assert_eq!(packed[1], 0x70);
        assert_eq!(packed[9], 0b10 << 4);
    }

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 0.5; scale j = j + 20 (→ j − 12); quant of value i = (i / 5) % 8 (→ −4..3).
        let mut q = [0u8; 256];
        for (i, v) in q.iter_mut().enumerate() {
            *v = ((i / 5) % 8) as u8;
        }
        let mut bytes = vec![0u8; BLOCK_BYTES];
        let block = &mut as_blocks_mut::<Block>(&mut bytes)[0];
        pack_quants(&q, block);
        let sc: [u8; 16] = core::array::from_fn(|j| j as u8 + 20);
        block.scales = pack_scales(&sc);
        block.d = 0x3800u16.to_le_bytes();
        let mut out = vec![0.0; 256];
        block256::dequantize_row::<Block>(&bytes, &mut out);
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, 0.5 * ((i / 16) as f32 - 12.0) * (q[i] as f32 - 4.0), "value {i}");
        }
        // ggml's layout: value 128 + 96 + 7 = 231 has its high bit at hmask[7] (byte 7) bit 4 + 3; d is last.
        assert_eq!((bytes[7] >> 7) & 1, q[231] >> 2);
        assert_eq!(bytes[108..110], [0x00, 0x38]);
    }

    #[test]
    fn round_trip_error_is_small() {
        let src: Vec<f32> = (0..512).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * (1.0 + (i / 16) as f32 * 0.2)).collect();
        let mut q = vec![0u8; 2 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 512];
        block256::dequantize_row::<Block>(&q, &mut back);
        let (mut err2, mut sig2) = (0.0f64, 0.0f64);
        for (g, (s, b)) in src.chunks(16).zip(back.chunks(16)).enumerate() {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (a, c) in s.iter().zip(b) {
                // Eight levels over ±amax: within about one level.
                assert!((a - c).abs() <= amax / 4.0 * 1.1 + 1e-3, "group {g}: {a} vs {c}");
                err2 += ((a - c) as f64).powi(2);
                sig2 += (*a as f64).powi(2);
            }
        }
        assert!((err2 / sig2).sqrt() < 0.15, "relative rms error {}", (err2 / sig2).sqrt());
    }
}

//! Q4_0: blocks of 32 values, `{ f16 d; u8 qs[16] }` (18 bytes). Value j < 16 is the low nibble of qs[j],
//! value j + 16 the high nibble; value = d · (nibble − 8). Dot partner: Q8_0 activations.

use super::block::byte_block;
use super::half::{f32_to_f16, f16_to_f32};
use super::block32::{self, Block32};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{q8_tiles::{split_nibbles, widen_nibbles, Consts, WideWeights}, simd::load};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::v128;

pub const BLOCK_LEN: usize = 32;
pub const BLOCK_BYTES: usize = 18;

/// ggml's `block_q4_0`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub qs: [u8; 16],
}
byte_block!(Block, BLOCK_BYTES);

impl Block32 for Block {
    const NAME: &'static str = "q4_0";
    #[inline(always)]
    fn q(&self, j: usize) -> i32 {
        block32::nibble(&self.qs, j) as i32 - 8
    }
}

/// Quantizes like ggml's reference: d = m / −8 where m is the value of largest magnitude (so m maps to
/// nibble 0 exactly), q = clamp(round(x / d) + 8, 0, 15). The stored d is rounded to f16.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q4_0::quantize_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q4_0::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let extreme = x.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let d16 = f32_to_f16(extreme / -8.0);
        // Quantize against the scale actually stored, so rounding of d to f16 does not bias every value.
        let d = f16_to_f32(d16);
        let inv_d = if d != 0.0 { 1.0 / d } else { 0.0 };
        out[..2].copy_from_slice(&d16.to_le_bytes());
        let nibble = |v: f32| ((v * inv_d).round() + 8.0).clamp(0.0, 15.0) as u8;
        for j in 0..16 {
            out[2 + j] = nibble(x[j]) | (nibble(x[j + 16]) << 4);
        }
    }
}

/// Q4_0 for the Q8_0-partner tiles: nibbles 0..15 with the −8 folded out.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl WideWeights for Block {
    const OFFSET: i32 = 8;
    const SEVEN_BIT: bool = true;
    const MAX_CODE: i32 = 15;
    #[inline(always)]
    fn bytes(&self, k: &Consts) -> (v128, v128) {
        split_nibbles(load(&self.qs, 0), k)
    }
    #[inline(always)]
    fn widen(&self, k: &Consts) -> [v128; 4] {
        widen_nibbles(load(&self.qs, 0), k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 2.0 (f16 0x4000); qs[j] = low nibble j, high nibble 15 − j.
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x4000u16.to_le_bytes());
        for j in 0..16 {
            block[2 + j] = (j as u8) | ((15 - j as u8) << 4);
        }
        let mut out = vec![0.0; 32];
        block32::dequantize_row::<Block>(&block, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 2.0 * (j as f32 - 8.0), "value {j}");
            assert_eq!(out[j + 16], 2.0 * (7.0 - j as f32), "value {}", j + 16);
        }
    }

    #[test]
    fn round_trip_error_is_within_one_step() {
        // The extreme maps to −8, so the other sign only reaches +7 steps: up to one step of clamping error.
        let src: Vec<f32> = (0..160).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.021).collect();
        let mut q = vec![0u8; 5 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 160];
        block32::dequantize_row::<Block>(&q, &mut back);
        for (s, b) in src.chunks(32).zip(back.chunks(32)) {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let step = amax / 8.0;
            for (a, c) in s.iter().zip(b) {
                assert!((a - c).abs() <= step + amax * 2e-3, "{a} vs {c} (step {step})");
            }
        }
    }

    #[test]
    fn the_extreme_value_is_exact() {
        let mut src = [0.25f32; 32];
        src[5] = -3.0;
        let mut q = vec![0u8; BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 32];
        block32::dequantize_row::<Block>(&q, &mut back);
        assert_eq!(back[5], -3.0);
    }
}

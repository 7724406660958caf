//! Q4_1: blocks of 32 values, `{ f16 d; f16 m; u8 qs[16] }` (20 bytes). Value j < 16 is the low nibble of qs[j],
//! value j + 16 the high nibble; value = d · nibble + m. Dot partner: Q8_0 activations (the minimum term needs Σ x
//! per activation block, which the matmul computes from the Q8_0 quants; ggml uses Q8_1, which stores it).

use super::block::{as_blocks_mut, byte_block};
use super::half::{f16_to_f32, f32_to_f16};
use super::block32::{self, Block32};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{q8_tiles::{split_nibbles, widen_nibbles, Consts, WideWeights}, simd::load};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::v128;

pub const BLOCK_LEN: usize = 32;
pub const BLOCK_BYTES: usize = 20;

/// ggml's `block_q4_1`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; 16],
}
byte_block!(Block, BLOCK_BYTES);

impl Block32 for Block {
    const NAME: &'static str = "q4_1";
    const MIN_AT: Option<usize> = Some(2);
    #[inline(always)]
    fn q(&self, j: usize) -> i32 {
        block32::nibble(&self.qs, j) as i32
    }
}

/// Quantizes like ggml's reference (d = (max − min) / 15, m = min), but rounds each value against the f16 d and m
/// actually stored, so their rounding does not shift the whole block.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q4_1::quantize_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q4_1::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let min = x.iter().fold(f32::INFINITY, |m, &v| m.min(v));
        let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let (d16, m16) = (f32_to_f16((max - min) / 15.0), f32_to_f16(min));
        let (d, m) = (f16_to_f32(d16), f16_to_f32(m16));
        let inv_d = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.d = d16.to_le_bytes();
        out.m = m16.to_le_bytes();
        let nibble = |v: f32| ((v - m) * inv_d).round().clamp(0.0, 15.0) as u8;
        for j in 0..16 {
            out.qs[j] = nibble(x[j]) | (nibble(x[j + 16]) << 4);
        }
    }
}

/// Q4_1 for the Q8_0-partner tiles: Q4_0's nibble decode, with the minimum folded in instead of an offset.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl WideWeights for Block {
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
        // d = 0.5 (f16 0x3800), m = −2 (0xc000); low nibble j, high nibble 15 − j.
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x3800u16.to_le_bytes());
        block[2..4].copy_from_slice(&0xc000u16.to_le_bytes());
        for j in 0..16 {
            block[4 + j] = (j as u8) | ((15 - j as u8) << 4);
        }
        let mut out = vec![0.0; 32];
        block32::dequantize_row::<Block>(&block, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 0.5 * j as f32 - 2.0, "value {j}");
            assert_eq!(out[j + 16], 0.5 * (15 - j) as f32 - 2.0, "value {}", j + 16);
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let src: Vec<f32> = (0..160).map(|i| ((i * 53 % 97) as f32 - 30.0) * 0.021).collect();
        let mut q = vec![0u8; 5 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 160];
        block32::dequantize_row::<Block>(&q, &mut back);
        for (s, b) in src.chunks(32).zip(back.chunks(32)) {
            let (lo, hi) = s.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            let step = (hi - lo) / 15.0;
            for (a, c) in s.iter().zip(b) {
                // Half a step, plus the f16 rounding of m and d (d's error grows over 15 steps).
                assert!((a - c).abs() <= 0.5 * step + (hi.abs() + lo.abs()) * 4e-3, "{a} vs {c} (step {step})");
            }
        }
    }

    #[test]
    fn constant_block_is_exact() {
        let mut q = vec![0u8; BLOCK_BYTES];
        quantize_row(&[0.75; 32], &mut q);
        let mut back = vec![0.0; 32];
        block32::dequantize_row::<Block>(&q, &mut back);
        assert!(back.iter().all(|&v| v == 0.75), "{back:?}");
    }
}

//! Q5_1: blocks of 32 values, `{ f16 d; f16 m; u8 qh[4]; u8 qs[16] }` (24 bytes): Q5_0's 5-bit quants (see `q5_0`)
//! with a minimum instead of an offset; value = d · quant + m. Dot partner: Q8_0 activations.

use super::block::{as_blocks_mut, byte_block};
use super::half::{f16_to_f32, f32_to_f16};
use super::q5_0::{pack5, quant5};
use super::block32::Block32;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{q8_tiles::{five_bit, Consts, WideWeights}, simd::load};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::v128;

pub const BLOCK_LEN: usize = 32;
pub const BLOCK_BYTES: usize = 24;

/// ggml's `block_q5_1`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}
byte_block!(Block, BLOCK_BYTES);

impl Block32 for Block {
    const NAME: &'static str = "q5_1";
    const MIN_AT: Option<usize> = Some(2);
    #[inline(always)]
    fn q(&self, j: usize) -> i32 {
        quant5(&self.qs, self.qh, j) as i32
    }
}

/// Quantizes like ggml's reference (d = (max − min) / 31, m = min), rounding against the f16 d and m stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q5_1::quantize_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q5_1::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let min = x.iter().fold(f32::INFINITY, |m, &v| m.min(v));
        let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let (d16, m16) = (f32_to_f16((max - min) / 31.0), f32_to_f16(min));
        let (d, m) = (f16_to_f32(d16), f16_to_f32(m16));
        let inv_d = if d != 0.0 { 1.0 / d } else { 0.0 };
        let q: [u8; 32] = core::array::from_fn(|j| ((x[j] - m) * inv_d).round().clamp(0.0, 31.0) as u8);
        out.d = d16.to_le_bytes();
        out.m = m16.to_le_bytes();
        (out.qs, out.qh) = pack5(&q);
    }
}

/// Q5_1 for the Q8_0-partner tiles: Q5_0's decode, with the minimum folded in instead of an offset.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl WideWeights for Block {
    const SEVEN_BIT: bool = true;
    const MAX_CODE: i32 = 31;
    #[inline(always)]
    fn bytes(&self, k: &Consts) -> (v128, v128) {
        five_bit(load(&self.qs, 0), u32::from_le_bytes(self.qh), k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::block32;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 0.5, m = −4; quant j = j (nibble j % 16, fifth bit for j ≥ 16).
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x3800u16.to_le_bytes());
        block[2..4].copy_from_slice(&0xc400u16.to_le_bytes());
        block[4..8].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        for j in 0..16 {
            block[8 + j] = (j as u8) | ((j as u8) << 4);
        }
        let mut out = vec![0.0; 32];
        block32::dequantize_row::<Block>(&block, &mut out);
        for (j, v) in out.iter().enumerate() {
            assert_eq!(*v, 0.5 * j as f32 - 4.0, "value {j}");
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
            let step = (hi - lo) / 31.0;
            for (a, c) in s.iter().zip(b) {
                assert!((a - c).abs() <= 0.5 * step + (hi.abs() + lo.abs()) * 4e-3, "{a} vs {c} (step {step})");
            }
        }
    }
}

//! Q8_0: blocks of 32 values, `{ f16 d; i8 qs[32] }` (34 bytes), value = d · q.
//! Also the activation format partnered with Q4_0 and Q8_0 weights.

use super::block32::{self, Block32};
use super::half::f32_to_f16;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{q8_tiles::{Consts, WideWeights}, simd::load};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::v128;

pub const BLOCK_LEN: usize = 32;
pub const BLOCK_BYTES: usize = 34;

/// ggml's `block_q8_0`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub qs: [u8; 32],
}
super::block::byte_block!(Block, BLOCK_BYTES);

impl Block32 for Block {
    const NAME: &'static str = "q8_0";
    #[inline(always)]
    fn q(&self, j: usize) -> i32 {
        self.qs[j] as i8 as i32
    }
}

/// Quantizes `src` (a multiple of 32 values) into `dst` (`src.len() / 32 * 34` bytes), as ggml's
/// reference does: d = max|x| / 127, q = round(x / d); the stored d is rounded to f16.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q8_0::quantize_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q8_0::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv_d = if d != 0.0 { 1.0 / d } else { 0.0 };
        out[..2].copy_from_slice(&f32_to_f16(d).to_le_bytes());
        for (q, &v) in out[2..].iter_mut().zip(x) {
            // |v · inv_d| ≤ 127 up to rounding; the clamp keeps NaN/rounding from leaving [-127, 127].
            *q = ((v * inv_d).round().clamp(-127.0, 127.0) as i8) as u8;
        }
    }
}

/// Quantizes activations as llama.cpp's x86 CPU backend does (`quantize_row_q8_0`, its conversion before every
/// Q8_0-partnered dot and into a q8_0 KV cache): the stored d is f16(max|x| / 127) as in `quantize_row`, but the
/// multiplier is 127 / max|x| and halves round to even. Weights keep the reference rounding (`quantize_row`, what
/// llama-quantize writes); activations match the engine users compare with, bit for bit.
pub fn quantize_activation_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q8_0::quantize_activation_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q8_0::quantize_activation_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        out[..2].copy_from_slice(&f32_to_f16(amax / 127.0).to_le_bytes());
        for (q, &v) in out[2..].iter_mut().zip(x) {
            *q = ((v * id).round_ties_even().clamp(-127.0, 127.0) as i8) as u8;
        }
    }
}

/// Dequantizes Q8_0 blocks `src` into `dst` (32 values per block).
pub fn dequantize_row(src: &[u8], dst: &mut [f32]) {
    block32::dequantize_row::<Block>(src, dst)
}

/// Scalar reference: Q8_0 weight row · Q8_0 activation row (same number of 32-value blocks).
pub fn vec_dot(w: &[u8], x: &[u8]) -> f32 {
    block32::vec_dot::<Block>(w, x)
}

/// Q8_0 weights for the Q8_0-partner tiles (signed 8-bit quants: no relaxed 7-bit dot).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl WideWeights for Block {
    const SEVEN_BIT: bool = false;
    #[inline(always)]
    fn bytes(&self, _: &Consts) -> (v128, v128) {
        (load(&self.qs, 0), load(&self.qs, 16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x3800u16.to_le_bytes()); // d = 0.5
        for i in 0..32 {
            block[2 + i] = (i as i8 - 16) as u8;
        }
        let mut out = vec![0.0; 32];
        dequantize_row(&block, &mut out);
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, 0.5 * (i as f32 - 16.0));
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let src: Vec<f32> = (0..96).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013).collect();
        let mut q = vec![0u8; 3 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 96];
        dequantize_row(&q, &mut back);
        for (blk, (s, b)) in src.chunks(32).zip(back.chunks(32)).enumerate() {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (a, c) in s.iter().zip(b) {
                assert!((a - c).abs() <= amax / 127.0 * 0.5 + amax * 1e-3, "block {blk}: {a} vs {c}");
            }
        }
    }

    #[test]
    fn zero_block_quantizes_to_zero() {
        let mut q = vec![0xffu8; BLOCK_BYTES];
        quantize_row(&[0.0; 32], &mut q);
        assert!(q.iter().all(|&b| b == 0));
    }
}

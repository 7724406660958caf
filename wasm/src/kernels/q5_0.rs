//! Q5_0: blocks of 32 values, `{ f16 d; u8 qh[4]; u8 qs[16] }` (22 bytes). The 5-bit quant of value j is the nibble
//! (j < 16: low nibble of qs[j]; j ≥ 16: high nibble of qs[j − 16]) plus bit j of the little-endian u32 `qh` as its
//! fifth bit; value = d · (quant − 16). Dot partner: Q8_0 activations.

use super::block::{as_blocks_mut, byte_block};
use super::half::{f16_to_f32, f32_to_f16};
use super::block32::{self, Block32};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{q8_tiles::{five_bit, Consts, WideWeights}, simd::load};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::v128;

pub const BLOCK_LEN: usize = 32;
pub const BLOCK_BYTES: usize = 22;

/// ggml's `block_q5_0`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; 16],
}
byte_block!(Block, BLOCK_BYTES);

impl Block32 for Block {
    const NAME: &'static str = "q5_0";
    #[inline(always)]
    fn q(&self, j: usize) -> i32 {
        quant5(&self.qs, self.qh, j) as i32 - 16
    }
}

/// 5-bit quant j of a Q5_0 / Q5_1 block from its packed nibbles and fifth bits.
#[inline(always)]
pub fn quant5(qs: &[u8; 16], qh: [u8; 4], j: usize) -> u8 {
    block32::nibble(qs, j) | ((((u32::from_le_bytes(qh) >> j) & 1) as u8) << 4)
}

/// Packs 32 quants (0..=31) into a Q5_0 / Q5_1 block's nibbles and fifth bits.
pub fn pack5(q: &[u8; 32]) -> ([u8; 16], [u8; 4]) {
    let mut qs = [0u8; 16];
    let mut qh = 0u32;
    for j in 0..16 {
        qs[j] = (q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4);
    }
    for (j, &v) in q.iter().enumerate() {
        qh |= ((v >> 4) as u32 & 1) << j;
    }
    (qs, qh.to_le_bytes())
}

/// Quantizes like ggml's reference: d = m / −16 where m is the value of largest magnitude (so m maps to quant 0
/// exactly), q = clamp(round(x / d) + 16, 0, 31), against the f16 d actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q5_0::quantize_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q5_0::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let extreme = x.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let d16 = f32_to_f16(extreme / -16.0);
        let d = f16_to_f32(d16);
        let inv_d = if d != 0.0 { 1.0 / d } else { 0.0 };
        let q: [u8; 32] = core::array::from_fn(|j| ((x[j] * inv_d).round() + 16.0).clamp(0.0, 31.0) as u8);
        out.d = d16.to_le_bytes();
        (out.qs, out.qh) = pack5(&q);
    }
}

/// Q5_0 for the Q8_0-partner tiles: 5-bit quants 0..31 with the −16 folded out.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl WideWeights for Block {
    const OFFSET: i32 = 16;
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

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 0.25 (f16 0x3400); nibble j % 16, fifth bit set on the odd values.
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x3400u16.to_le_bytes());
        block[2..6].copy_from_slice(&0xaaaa_aaaau32.to_le_bytes());
        for j in 0..16 {
            block[6 + j] = (j as u8) | ((15 - j as u8) << 4);
        }
        let mut out = vec![0.0; 32];
        block32::dequantize_row::<Block>(&block, &mut out);
        for j in 0..32 {
            let nibble = if j < 16 { j } else { 31 - j } as i32;
            let q = nibble + if j % 2 == 1 { 16 } else { 0 };
            assert_eq!(out[j], 0.25 * (q - 16) as f32, "value {j}");
        }
    }

    #[test]
    fn round_trip_error_is_within_one_step_and_the_extreme_is_exact() {
        let mut src: Vec<f32> = (0..160).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.021).collect();
        src[37] = -1.5;
        let mut q = vec![0u8; 5 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 160];
        block32::dequantize_row::<Block>(&q, &mut back);
        assert_eq!(back[37], -1.5);
        for (s, b) in src.chunks(32).zip(back.chunks(32)) {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let step = amax / 16.0;
            for (a, c) in s.iter().zip(b) {
                assert!((a - c).abs() <= step + amax * 2e-3, "{a} vs {c} (step {step})");
            }
        }
    }

    #[test]
    fn pack5_inverts_quant5() {
        let q: [u8; 32] = core::array::from_fn(|j| ((j * 7 + 3) % 32) as u8);
        let (qs, qh) = pack5(&q);
        for (j, &v) in q.iter().enumerate() {
            assert_eq!(quant5(&qs, qh, j), v);
        }
    }
}

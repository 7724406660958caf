//! IQ4_NL: blocks of 32 values, `{ f16 d; u8 qs[16] }` (18 bytes), Q4_0's nibble layout, but each nibble indexes a
//! fixed non-linear table of 16 signed levels (denser near zero, where weights crowd); value = d · LEVELS[nibble].
//! Dot partner: Q8_0 activations (the levels are exact signed bytes, so the dot stays an integer sum).

use super::block::{as_blocks_mut, byte_block};
use super::half::{f16_to_f32, f32_to_f16};
use super::block32::{self, Block32};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::{q8_tiles::{split_nibbles, Consts, WideWeights}, simd::load};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::{i8x16_swizzle, v128};

pub const BLOCK_LEN: usize = 32;
pub const BLOCK_BYTES: usize = 18;

/// ggml's `kvalues_iq4nl`, ascending.
pub const LEVELS: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// ggml's `block_iq4_nl`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub d: [u8; 2],
    pub qs: [u8; 16],
}
byte_block!(Block, BLOCK_BYTES);

impl Block32 for Block {
    const NAME: &'static str = "iq4_nl";
    /// The level nibble j indexes.
    #[inline(always)]
    fn q(&self, j: usize) -> i32 {
        LEVELS[block32::nibble(&self.qs, j) as usize] as i32
    }
}

/// Index of the level nearest `v` (the upper one on a tie, as ggml's `best_index_int8`): binary search for the
/// first level above `v`, then the closer of it and the one below.
fn nearest_level(v: f32) -> u8 {
    let above = LEVELS.partition_point(|&l| l as f32 <= v);
    if above == 0 {
        return 0;
    }
    if above == LEVELS.len() {
        return 15;
    }
    let (lo, hi) = (LEVELS[above - 1] as f32, LEVELS[above] as f32);
    (if v - lo < hi - v { above - 1 } else { above }) as u8
}

/// Σ w·level·x and Σ w·level² with every x mapped to its nearest level at inverse scale `inv_d`.
fn fit(x: &[f32], inv_d: f32) -> (f32, f32) {
    x.iter().fold((0.0, 0.0), |(qx, q2), &v| {
        let (l, w) = (LEVELS[nearest_level(v * inv_d) as usize] as f32, v * v);
        (qx + w * l * v, q2 + w * l * l)
    })
}

/// Quantizes as ggml's reference does without an importance matrix: weights x², a first scale mapping the extreme
/// value onto the −127 level, then the least-squares scale of the best of 15 trial scales around it; the levels
/// are then chosen against the f16 scale actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "iq4_nl::quantize_row: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "iq4_nl::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(as_blocks_mut::<Block>(dst)) {
        let extreme = x.iter().fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let mut d = 0.0f32;
        if extreme.abs() >= 1e-15 {
            let (qx, q2) = fit(x, LEVELS[0] as f32 / extreme);
            d = qx / q2;
            let mut best = d * qx;
            for step in -7..=7 {
                let (qx, q2) = fit(x, (step as f32 + LEVELS[0] as f32) / extreme);
                if q2 > 0.0 && qx * qx > best * q2 {
                    d = qx / q2;
                    best = d * qx;
                }
            }
        }
        let d16 = f32_to_f16(d);
        let stored = f16_to_f32(d16);
        let inv_d = if stored != 0.0 { 1.0 / stored } else { 0.0 };
        out.d = d16.to_le_bytes();
        for j in 0..16 {
            out.qs[j] = nearest_level(x[j] * inv_d) | (nearest_level(x[j + 16] * inv_d) << 4);
        }
    }
}

/// The levels as one vector, for a byte swizzle.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn levels_v128() -> v128 {
    load(&LEVELS.map(|l| l as u8), 0)
}

/// IQ4_NL for the Q8_0-partner tiles: the nibbles look their levels up with one byte shuffle per half. The levels
/// span the whole signed byte range, so the relaxed build keeps the exact i16 dot product.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl WideWeights for Block {
    const SEVEN_BIT: bool = false;
    #[inline(always)]
    fn bytes(&self, k: &Consts) -> (v128, v128) {
        let (lo, hi) = split_nibbles(load(&self.qs, 0), k);
        (i8x16_swizzle(k.iq4_levels, lo), i8x16_swizzle(k.iq4_levels, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 0.5; low nibble j, high nibble 15 − j.
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x3800u16.to_le_bytes());
        for j in 0..16 {
            block[2 + j] = (j as u8) | ((15 - j as u8) << 4);
        }
        let mut out = vec![0.0; 32];
        block32::dequantize_row::<Block>(&block, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 0.5 * LEVELS[j] as f32, "value {j}");
            assert_eq!(out[j + 16], 0.5 * LEVELS[15 - j] as f32, "value {}", j + 16);
        }
    }

    #[test]
    fn nearest_level_picks_the_closest_and_the_upper_on_ties() {
        assert_eq!(nearest_level(-1000.0), 0);
        assert_eq!(nearest_level(1000.0), 15);
        assert_eq!(nearest_level(0.0), 8); // 1 is closer than −10
        assert_eq!(nearest_level(-4.5), 8); // tie between −10 and 1 → the upper
        assert_eq!(nearest_level(100.0), 14);
    }

    #[test]
    fn round_trip_is_close_and_zero_blocks_stay_zero() {
        let src: Vec<f32> = (0..160).map(|i| (((i * 53 % 97) as f32 - 48.0) * 0.021).powi(3)).collect();
        let mut q = vec![0u8; 5 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 160];
        block32::dequantize_row::<Block>(&q, &mut back);
        for (s, b) in src.chunks(32).zip(back.chunks(32)) {
            let amax = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            // The widest gap between levels is 24 of 240: a value is at most about 0.1 · amax from a level.
            for (a, c) in s.iter().zip(b) {
                assert!((a - c).abs() <= 0.12 * amax, "{a} vs {c} (amax {amax})");
            }
        }
        let mut z = vec![0xffu8; BLOCK_BYTES];
        quantize_row(&[0.0; 32], &mut z);
        let mut zb = vec![1.0; 32];
        block32::dequantize_row::<Block>(&z, &mut zb);
        assert!(zb.iter().all(|&v| v == 0.0));
    }
}

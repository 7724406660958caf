//! The scalar references the 32-value, Q8_0-partnered block formats share (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL):
//! value j of a block is d · q(j), or d · q(j) + m for the affine Q4_1 / Q5_1. A format module says how its typed
//! block gives d, m and q(j); dequantizing and the dot with Q8_0 activations are written once, here.

use super::block::{as_blocks, f16, ByteBlock};
use super::q8_0;

pub const BLOCK_LEN: usize = 32;

/// A ggml block of 32 values read as d · q(j) (+ m). Every such format stores its f16 scale d at byte 0.
pub trait Block32: ByteBlock {
    /// The format's module name, for panic messages.
    const NAME: &'static str;
    /// Byte offset of the f16 minimum m of the affine formats (Q4_1, Q5_1); `None` for d · q(j).
    const MIN_AT: Option<usize> = None;
    /// Integer j (0..32) the scale multiplies (the offset or level table already applied).
    fn q(&self, j: usize) -> i32;

    #[inline(always)]
    fn d(&self) -> f32 {
        self.f16_at(0)
    }
    #[inline(always)]
    fn m(&self) -> Option<f32> {
        Self::MIN_AT.map(|at| self.f16_at(at))
    }
}

/// Nibble j (0..32) of a 32-value block's 16 packed bytes, in ggml's order: the low nibbles of qs give values 0..16,
/// the high nibbles values 16..32 (Q4_0, Q4_1, IQ4_NL, and the low four bits of Q5_0 / Q5_1).
#[inline(always)]
pub fn nibble(qs: &[u8; 16], j: usize) -> u8 {
    if j < 16 {
        qs[j] & 0x0f
    } else {
        qs[j - 16] >> 4
    }
}

/// Dequantizes whole blocks `src` into `dst` (32 values per block).
pub fn dequantize_row<B: Block32>(src: &[u8], dst: &mut [f32]) {
    assert_eq!(src.len() % B::BYTES, 0, "{}::dequantize_row: not whole blocks", B::NAME);
    assert_eq!(dst.len(), src.len() / B::BYTES * BLOCK_LEN, "{}::dequantize_row: output size", B::NAME);
    for (b, out) in as_blocks::<B>(src).iter().zip(dst.chunks_exact_mut(BLOCK_LEN)) {
        let d = b.d();
        match b.m() {
            Some(m) => out.iter_mut().enumerate().for_each(|(j, o)| *o = d * b.q(j) as f32 + m),
            None => out.iter_mut().enumerate().for_each(|(j, o)| *o = d * b.q(j) as f32),
        }
    }
}

/// Weight row · Q8_0 activation row (same number of blocks): per block an exact integer dot Σ q·x, scaled once by
/// d_w · d_x; the affine formats add m_w · d_x · Σ x.
pub fn vec_dot<B: Block32>(w: &[u8], x: &[u8]) -> f32 {
    let ws = as_blocks::<B>(w);
    let xs = as_blocks::<q8_0::Block>(x);
    debug_assert_eq!(ws.len(), xs.len());
    let mut sum = 0.0f32;
    for (wb, xb) in ws.iter().zip(xs) {
        let (mut dot, mut sum_x) = (0i32, 0i32);
        for j in 0..BLOCK_LEN {
            let xq = xb.qs[j] as i8 as i32;
            dot += wb.q(j) * xq;
            sum_x += xq;
        }
        let dx = f16(xb.d);
        sum += match wb.m() {
            Some(m) => wb.d() * dx * dot as f32 + m * dx * sum_x as f32,
            None => wb.d() * dx * dot as f32,
        };
    }
    sum
}

//! The scalar references the 256-value super-block formats share (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, all dotted
//! with Q8_K activations): value i = d · scale(g) · q(i), minus dmin · min(g) for the affine Q2_K / Q4_K / Q5_K, with
//! scale group g = i / (256 / GROUPS). A format module says how its typed block gives d, dmin, the quants in value
//! order and the groups' integer scales and minimums; dequantizing and the dot are written once, here.

use super::block::{as_blocks, ByteBlock};
use super::q8_k;

pub const BLOCK_LEN: usize = 256;

/// A ggml super-block of 256 values in `GROUPS` scale groups.
pub trait Block256: ByteBlock {
    /// The format's module name, for panic messages.
    const NAME: &'static str;
    /// Scale groups: 16 of 16 values (Q2_K, Q3_K, Q6_K) or 8 of 32 (Q4_K, Q5_K, IQ4_XS).
    const GROUPS: usize;
    /// Byte offset of the f16 super-block scale d.
    const D_AT: usize;
    /// Byte offset of the f16 unit of the minimums of the affine formats; `None` for d · scale · q.
    const DMIN_AT: Option<usize> = None;
    /// The 256 integer quants in value order (offsets and level tables applied).
    fn quants(&self) -> [i8; 256];
    /// The first `GROUPS` entries: each group's integer scale, and its minimum (zeros without minimums).
    fn scales_mins(&self) -> ([i32; 16], [i32; 16]);

    #[inline(always)]
    fn d(&self) -> f32 {
        self.f16_at(Self::D_AT)
    }
    #[inline(always)]
    fn dmin(&self) -> Option<f32> {
        Self::DMIN_AT.map(|at| self.f16_at(at))
    }
}

/// Dequantizes whole super-blocks `src` into `dst` (256 values per block).
pub fn dequantize_row<B: Block256>(src: &[u8], dst: &mut [f32]) {
    assert_eq!(src.len() % B::BYTES, 0, "{}::dequantize_row: not whole blocks", B::NAME);
    assert_eq!(dst.len(), src.len() / B::BYTES * BLOCK_LEN, "{}::dequantize_row: output size", B::NAME);
    let group = BLOCK_LEN / B::GROUPS;
    for (b, out) in as_blocks::<B>(src).iter().zip(dst.chunks_exact_mut(BLOCK_LEN)) {
        let (d, q, (scales, mins)) = (b.d(), b.quants(), b.scales_mins());
        for (g, (out, q)) in out.chunks_exact_mut(group).zip(q.chunks_exact(group)).enumerate() {
            let step = d * scales[g] as f32;
            match b.dmin() {
                Some(dmin) => {
                    let offset = dmin * mins[g] as f32;
                    out.iter_mut().zip(q).for_each(|(o, &q)| *o = step * q as f32 - offset);
                }
                None => out.iter_mut().zip(q).for_each(|(o, &q)| *o = step * q as f32),
            }
        }
    }
}

/// Weight row · Q8_K activation row (same number of super-blocks): per group an exact integer dot Σ q·x times the
/// group's scale, scaled once per block by d · d_x; the affine formats subtract dmin · d_x · Σ min · Σ x, with Σ x
/// from the activations' 16-value bsums.
pub fn vec_dot<B: Block256>(w: &[u8], x: &[u8]) -> f32 {
    let ws = as_blocks::<B>(w);
    debug_assert_eq!(ws.len(), x.len() / q8_k::BLOCK_BYTES);
    let group = BLOCK_LEN / B::GROUPS;
    let mut sum = 0.0f32;
    for (wb, xb) in ws.iter().zip(x.chunks_exact(q8_k::BLOCK_BYTES)) {
        let (q, (scales, mins)) = (wb.quants(), wb.scales_mins());
        let mut sumi = 0i32;
        for g in 0..B::GROUPS {
            let isum: i32 = (group * g..group * (g + 1)).map(|i| q[i] as i32 * q8_k::q(xb, i)).sum();
            sumi += scales[g] * isum;
        }
        let xd = q8_k::scale(xb);
        sum += match wb.dmin() {
            Some(dmin) => {
                let per_group = group / 16; // bsums are over 16 values
                let summ: i32 = (0..B::GROUPS)
                    .map(|g| mins[g] * (per_group * g..per_group * (g + 1)).map(|k| q8_k::bsum(xb, k)).sum::<i32>())
                    .sum();
                wb.d() * xd * sumi as f32 - dmin * xd * summ as f32
            }
            None => wb.d() * xd * sumi as f32,
        };
    }
    sum
}

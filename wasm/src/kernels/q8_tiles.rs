//! SIMD128 fast path for every weight format whose activation partner is Q8_0 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
//! IQ4_NL: the decode-critical formats): 8 weight rows (two 4-row groups) × T tokens per pass. Each format supplies
//! only how one of its 32-value blocks decodes (`WideWeights`, implemented on the format's block type); the loops
//! live here.
//!
//! Why this shape:
//! - the weights are repacked at load (`kernels::repack`): a tile's four rows sit in one stream, block b of the
//!   four rows side by side, with their quant codes exchanged among the four blocks so that each block, decoded by
//!   its format's `WideWeights::widen` (or `bytes`), gives vectors whose lanes are the four *rows* at two (four)
//!   columns. A dot with those columns' activations broadcast then sums straight into [row0, row1, row2, row3]:
//!   one i32x4 per token and block, no transpose, so 4 tokens fit the 16 v128 registers with room to spare;
//! - the activations (already quantized to Q8_0 by the caller) are widened to i16 *once per call*; constant offsets
//!   (Q4_0's −8, Q5_0's −16) are folded out as `Σ n·x − 8 Σ x`, and minimums (Q4_1, Q5_1) added as `m · d_x · Σ x`,
//!   with Σ x per activation block precomputed;
//! - the four rows' f16 scales are converted with one SIMD conversion and the block's sums scaled by them, so
//!   every token has a single f32x4 accumulator per tile and the result is stored without a horizontal sum;
//! - the relaxed-SIMD build dots the formats whose quants fit 7 bits (Q4_0, Q4_1, Q5_0, Q5_1) as raw bytes with
//!   `i16x8.relaxed_dot_i8x16_i7x16_s` against four broadcast Q8_0 activation bytes (the quants are the 7-bit
//!   operand, so the result is exact on every engine: one pmaddubsw on x86) and accumulates with
//!   `f32x4.relaxed_madd`.
//! Matrices that are not repacked (and the last `rows % 4` rows) are repacked a group at a time into a buffer.
//!
//! Integer sums are exactly the scalar reference's; only the f32 summation order differs.

use super::block32::Block32;
use super::half::read_f16;
use super::simd::{hsum_i32x4, opaque, F16Consts};
use super::q8_0;
use super::repack;
use crate::tensor::{Layout, TensorView};
use core::arch::wasm32::*;

/// Rows per tile: the lanes of one i32x4.
pub const ROWS: usize = 4;

/// Q8_0 activations of several tokens, laid out for the tiles (see `prepare`).
pub struct WideActivations<'a> {
    /// Per token and block: the 32 quants as i16, in order.
    pub x16: &'a [i16],
    /// Per token and block: the activation scale.
    pub d: &'a [f32],
    /// Per token and block: −OFFSET · Σ q, the weight format's offset folded out (`WideWeights::OFFSET`); the block's
    /// integer sums start from it.
    pub bias: &'a [i32],
    /// Per token and block: d · Σ q, what the rows' minimums (Q4_1, Q5_1) are scaled by.
    pub d_sum: &'a [f32],
    /// Per token: the Q8_0 bytes themselves (the relaxed 7-bit kernels read them directly).
    pub q8: &'a [u8],
    pub n_blocks: usize,
}

/// Buffers of `WideActivations` for `prepare` to fill.
pub struct WideBuffers<'a> {
    pub x16: &'a mut [i16],
    pub d: &'a mut [f32],
    pub bias: &'a mut [i32],
    pub d_sum: &'a mut [f32],
}

/// Fills the wide buffers from rows of Q8_0 blocks (`q8`, any number of tokens, whole blocks) for weights of `W`.
/// The per-block corrections are computed here once per token, not per tile: in the tiles each cost three vector
/// ops (scalar → vector moves) per block, token and group.
pub fn prepare<W: WideWeights>(q8: &[u8], out: WideBuffers) {
    let WideBuffers { x16, d, bias, d_sum } = out;
    let n = q8.len() / q8_0::BLOCK_BYTES;
    assert_eq!(n * q8_0::BLOCK_BYTES, q8.len(), "q8_tiles::prepare: not whole blocks");
    assert!(x16.len() >= n * 32 && d.len() >= n && bias.len() >= n && d_sum.len() >= n, "q8_tiles::prepare: buffers too small");
    for (i, block) in q8.chunks_exact(q8_0::BLOCK_BYTES).enumerate() {
        d[i] = read_f16(block, 0);
        let q: &[u8; 34] = block.try_into().expect("34-byte block");
        // SAFETY: bytes 2..18 and 18..34 lie in the block; x16[i*32..i*32+32] is in bounds (asserted above).
        unsafe {
            let (q0, q1) = (ld(q.as_ptr().add(2)), ld(q.as_ptr().add(18)));
            let v = [i16x8_extend_low_i8x16(q0), i16x8_extend_high_i8x16(q0), i16x8_extend_low_i8x16(q1), i16x8_extend_high_i8x16(q1)];
            let dst = x16.as_mut_ptr().add(i * 32) as *mut v128;
            for (k, vk) in v.iter().enumerate() {
                core::ptr::write_unaligned(dst.add(k), *vk);
            }
            let pairs = i32x4_extadd_pairwise_i16x8(i16x8_add(i16x8_add(v[0], v[1]), i16x8_add(v[2], v[3])));
            let sum = hsum_i32x4(pairs);
            bias[i] = -W::OFFSET * sum;
            d_sum[i] = d[i] * sum as f32;
        }
    }
}

/// Q8_0 quantization of one activation row with SIMD128, bit-identical to `q8_0::quantize_activation_row` (same
/// multiplier, halves to even, clamp to ±127).
pub fn quantize_q8_0(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % 32, 0, "q8_tiles::quantize_q8_0: length not a multiple of 32");
    assert_eq!(dst.len(), src.len() / 32 * q8_0::BLOCK_BYTES, "q8_tiles::quantize_q8_0: output size");
    for (x, out) in src.chunks_exact(32).zip(dst.chunks_exact_mut(q8_0::BLOCK_BYTES)) {
        let x: &[f32; 32] = x.try_into().expect("32 values");
        // SAFETY: 8 loads of 4 floats inside the 32-value array.
        let v: [v128; 8] = core::array::from_fn(|k| unsafe { ld(x.as_ptr().add(4 * k)) });
        let mut m = f32x4_splat(0.0);
        for vk in &v {
            m = f32x4_pmax(m, f32x4_abs(*vk));
        }
        let m = f32x4_pmax(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
        let m = f32x4_pmax(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
        // pmax(a, b) = a < b ? b : a keeps a when b is NaN; the scalar fold's f32::max ignores NaN the same way.
        let amax = f32x4_extract_lane::<0>(m);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        out[..2].copy_from_slice(&super::half::f32_to_f16(amax / 127.0).to_le_bytes());
        let scale = f32x4_splat(id);
        let q: [v128; 8] = core::array::from_fn(|k| {
            let r = f32x4_nearest(f32x4_mul(v[k], scale)); // half to even, as the scalar activation rounding
            i32x4_trunc_sat_f32x4(f32x4_pmin(f32x4_pmax(r, f32x4_splat(-127.0)), f32x4_splat(127.0)))
        });
        let lo = i8x16_narrow_i16x8(i16x8_narrow_i32x4(q[0], q[1]), i16x8_narrow_i32x4(q[2], q[3]));
        let hi = i8x16_narrow_i16x8(i16x8_narrow_i32x4(q[4], q[5]), i16x8_narrow_i32x4(q[6], q[7]));
        let o: &mut [u8; 34] = out.try_into().expect("34-byte block");
        // SAFETY: bytes 2..34 of the block.
        unsafe {
            core::ptr::write_unaligned(o.as_mut_ptr().add(2) as *mut v128, lo);
            core::ptr::write_unaligned(o.as_mut_ptr().add(18) as *mut v128, hi);
        }
    }
}

/// The v128 constants of the block decoders and the scale conversion, built once per sweep behind `simd::opaque`
/// (V8 would otherwise rebuild each at every use inside the block loop).
#[derive(Clone, Copy)]
pub struct Consts {
    /// i8x16 0x0f: the low nibble of each byte.
    pub low4: v128,
    /// u16x8 0x000f: the low nibble of each i16 lane.
    pub low4_u16: v128,
    /// Q5's fifth bits: the bit each byte tests, the `qh` byte each byte reads (two halves), and the bit value.
    pub bit_of_byte: v128,
    pub qh_lo: v128,
    pub qh_hi: v128,
    pub fifth: v128,
    /// IQ4_NL's 16 levels, for a swizzle.
    pub iq4_levels: v128,
    pub f16: F16Consts,
}

impl Consts {
    #[inline(always)]
    pub fn hoisted() -> Self {
        opaque(Consts {
            low4: i8x16_splat(0x0f),
            low4_u16: u16x8_splat(0x000f),
            bit_of_byte: u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128),
            qh_lo: u8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
            qh_hi: u8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3),
            fifth: i8x16_splat(0x10),
            iq4_levels: super::iq4_nl::levels_v128(),
            f16: F16Consts::new(),
        })
    }
}

/// How a weight format's 32-value block decodes for the tiles, implemented by the format's block type next to its
/// `Block32` (which gives the block size and where an affine format keeps its f16 minimum; every format keeps its f16
/// scale at byte 0).
pub trait WideWeights: Block32 {
    /// Subtracted from every decoded quant (Q4_0's 8, Q5_0's 16); folded out of the block sum as `OFFSET · Σ x`.
    const OFFSET: i32 = 0;
    /// Whether `bytes` are unsigned quants that fit the relaxed dot's 7-bit operand; the others (signed 8-bit
    /// quants) keep the exact i16 dot on the relaxed build too.
    const SEVEN_BIT: bool;
    /// The largest quant `bytes` gives (how long the relaxed build may sum products in i16).
    #[cfg_attr(not(target_feature = "relaxed-simd"), allow(dead_code))]
    const MAX_CODE: i32 = 127;
    /// The block's quants (offset not yet subtracted) as bytes in value order: values 0..16, values 16..32.
    fn bytes(&self, k: &Consts) -> (v128, v128);
    /// The quants as four i16x8 in the wide activations' order: positions 0,2,..,14 | 1,3,..,15 | 16,18,..,30 |
    /// 17,19,..,31. A format may widen its packed bytes more directly than this.
    #[inline(always)]
    fn widen(&self, k: &Consts) -> [v128; 4] {
        let (lo, hi) = self.bytes(k);
        if Self::SEVEN_BIT {
            widen_unsigned(lo, hi)
        } else {
            widen_signed(lo, hi)
        }
    }
}

/// out[t * rows + r] = w[r] · x[t] for the rows `span` of `w` (blocks of `W`, either layout) and the `T`-token slice
/// of `x` starting at token `t0`. Rows are taken eight at a time (two repacked groups, see `pairs_groups`), then
/// four; a last partial tile repeats its final row and stores only the real rows. `span` starts at a multiple of 4
/// and ends at a multiple of 4 or at `w.rows`.
///
/// `PRE`: the tiles read the rows' scales as f32 from `scales` (`convert_scales`) instead of converting them at
/// every block; `span` is then whole 8-row tiles of the groups `scales` holds. A separate instantiation, so the
/// tiles without (decode's) compile exactly as before.
#[inline(never)] // one function per format × T, compiled only when used (see kernels::matmul)
pub fn sweep<W: WideWeights, const T: usize, const PRE: bool>(
    w: &TensorView,
    x: &WideActivations,
    t0: usize,
    span: core::ops::Range<usize>,
    scales: Option<&RowScales>,
    out: &mut [f32],
) -> usize {
    let (rows, nb) = (w.rows, x.n_blocks);
    let row_bytes = nb * W::BYTES;
    assert_eq!(w.dtype.block_bytes(), W::BYTES, "q8_tiles::sweep: block size");
    assert_eq!(w.data.len(), rows * row_bytes, "q8_tiles::sweep: weight bytes");
    assert!(span.start % ROWS == 0 && span.end <= rows, "q8_tiles::sweep: row span");
    let blocks = (t0 + T) * nb;
    assert!(blocks <= x.d.len() && blocks <= x.bias.len() && blocks <= x.d_sum.len(), "q8_tiles::sweep: activation scales");
    assert!((t0 + T) * nb * 32 <= x.x16.len(), "q8_tiles::sweep: wide activations");
    assert!((t0 + T) * nb * q8_0::BLOCK_BYTES <= x.q8.len(), "q8_tiles::sweep: q8 activations");
    assert!(out.len() >= (t0 + T) * rows, "q8_tiles::sweep: output");
    let repacked = if w.layout == Layout::Interleaved4 { rows / ROWS * ROWS } else { 0 };
    let per_group = RowScales::per_group::<W>(nb);
    let pre = match scales {
        Some(s) if PRE => {
            let groups = s.first_group..s.first_group + s.f32s.len() / per_group;
            assert!(pairs_groups::<W>() && span.len() % (2 * ROWS) == 0, "q8_tiles::sweep: scales need 8-row tiles");
            assert!(groups.start * ROWS <= span.start && span.end <= groups.end * ROWS && span.end <= repacked, "q8_tiles::sweep: scales");
            s.f32s.as_ptr().wrapping_sub(s.first_group * per_group)
        }
        None if !PRE => core::ptr::null(),
        _ => panic!("q8_tiles::sweep: scales given iff PRE"),
    };
    let k = Consts::hoisted();
    let (mut group, mut buf) = (Vec::new(), Vec::new()); // for the rows that were not repacked at load
    let mut r = span.start;
    // Two repacked groups per tile where the format's kernel shares each broadcast activation between them.
    while pairs_groups::<W>() && r + 2 * ROWS <= repacked.min(span.end) {
        touch_ahead(w.data, (r + PREFETCH_TILES * ROWS) * row_bytes, 2 * ROWS * row_bytes);
        // SAFETY: r + 8 ≤ repacked ≤ rows: both groups lie inside w.data; activations asserted above; with PRE, both
        // groups' scales lie in `scales` (asserted above).
        let acc = unsafe {
            let at = w.data.as_ptr().add(r * row_bytes);
            let sc = |g: usize| if PRE { pre.add((r / ROWS + g) * per_group) } else { core::ptr::null() };
            tile::<W, T, 2, PRE>([at, at.add(ROWS * row_bytes)], [sc(0), sc(1)], x, t0, &k)
        };
        for (g, tiles) in acc.iter().enumerate() {
            for (t, v) in tiles.iter().enumerate() {
                let o = (t0 + t) * rows + r + g * ROWS;
                // SAFETY: o + 4 ≤ (t0 + t) * rows + rows ≤ out.len(); wasm stores may be unaligned.
                unsafe { v128_store(out.as_mut_ptr().add(o) as *mut v128, *v) };
            }
        }
        r += 2 * ROWS;
    }
    while !PRE && r < span.end {
        touch_ahead(w.data, (r + PREFETCH_TILES * ROWS) * row_bytes, ROWS * row_bytes);
        let at = if r < repacked {
            // SAFETY: r + 4 ≤ repacked ≤ rows, so the group's 4 · row_bytes lie inside w.data.
            unsafe { w.data.as_ptr().add(r * row_bytes) }
        } else {
            group.clear();
            for i in 0..ROWS {
                group.extend_from_slice(&w.data[(r + i).min(rows - 1) * row_bytes..][..row_bytes]);
            }
            repack::pack_group(w.dtype, &mut group, &mut buf);
            group.as_ptr()
        };
        // SAFETY: `at` holds one repacked group of nb blocks; activations cover tokens t0..t0+T (asserted above).
        let [acc] = unsafe { tile::<W, T, 1, false>([at], [core::ptr::null()], x, t0, &k) };
        let live = (rows - r).min(ROWS);
        for (t, v) in acc.iter().enumerate() {
            let o = (t0 + t) * rows + r;
            if live == ROWS {
                // SAFETY: o + 4 ≤ (t0 + t) * rows + rows ≤ out.len(); wasm stores may be unaligned.
                unsafe { v128_store(out.as_mut_ptr().add(o) as *mut v128, *v) };
            } else {
                let lanes: [f32; 4] = unsafe { core::mem::transmute(*v) };
                out[o..o + live].copy_from_slice(&lanes[..live]);
            }
        }
        r += ROWS;
    }
    T
}

/// Repacked groups' block scales (and minimums, for affine formats) as f32, converted once (`convert_scales`) for
/// sweeps over many token blocks: per group and block, an f32x4 [row0..row3] of scales, then one of minimums.
pub struct RowScales<'a> {
    pub first_group: usize,
    pub f32s: &'a [f32],
}

impl RowScales<'_> {
    /// Floats per group of `nb` blocks.
    pub fn per_group<W: WideWeights>(nb: usize) -> usize {
        nb * ROWS * if W::MIN_AT.is_some() { 2 } else { 1 }
    }
}

/// The f32 scales (and minimums) of repacked groups `groups` of `w` into `out` (`RowScales::per_group` floats per
/// group), by the tiles' own conversion.
pub fn convert_scales<W: WideWeights>(w: &TensorView, groups: core::ops::Range<usize>, out: &mut [f32]) {
    let nb = w.cols / q8_0::BLOCK_LEN;
    let group_bytes = ROWS * nb * W::BYTES;
    assert!(w.layout == Layout::Interleaved4 && groups.end * ROWS <= w.rows, "q8_tiles::convert_scales: groups");
    assert!(out.len() >= groups.len() * RowScales::per_group::<W>(nb), "q8_tiles::convert_scales: output");
    let f16 = F16Consts::hoisted();
    let mut o = out.as_mut_ptr() as *mut v128;
    for g in groups {
        // SAFETY: group g < rows / 4 lies inside w.data (asserted); `o` advances by per_group floats per group,
        // inside `out` (asserted).
        unsafe {
            let base = w.data.as_ptr().add(g * group_bytes);
            let ptrs: [*const u8; ROWS] = core::array::from_fn(|i| base.add(i * W::BYTES));
            for b in 0..nb {
                let (dw, mw) = block_scales::<W>(&ptrs, b * ROWS * W::BYTES, &f16);
                v128_store(o, dw);
                o = o.add(1);
                if W::MIN_AT.is_some() {
                    v128_store(o, mw);
                    o = o.add(1);
                }
            }
        }
    }
}

/// How many 4-row tiles ahead `touch_ahead` reaches.
const PREFETCH_TILES: usize = 2;

/// Reads one byte per 64-byte line of `data[start..start + len]` (clipped), so those lines are already on their
/// way from memory when the tile reaches them. A tile's rows are short (a few hundred bytes each), too short for
/// the hardware prefetcher to lock onto its four interleaved streams; wasm has no prefetch instruction, and a
/// volatile read is a load the compiler must keep.
#[inline(always)]
fn touch_ahead(data: &[u8], start: usize, len: usize) {
    let end = (start + len).min(data.len());
    let mut at = start;
    while at < end {
        // SAFETY: at < end ≤ data.len().
        unsafe { core::ptr::read_volatile(data.as_ptr().add(at)) };
        at += 64;
    }
}

/// The four rows' f16 block scales (at byte `off` of each row) as f32x4: four 16-bit lane loads, no scalar inserts.
#[inline(always)]
unsafe fn scales(ptrs: &[*const u8; ROWS], off: usize, f16: &F16Consts) -> v128 {
    let h = |i: usize| ptrs[i].add(off) as *const u16;
    let v = v128_load16_lane::<0>(u32x4_splat(0), h(0));
    let v = v128_load16_lane::<2>(v, h(1));
    let v = v128_load16_lane::<4>(v, h(2));
    f16.to_f32x4(v128_load16_lane::<6>(v, h(3)))
}

/// Scales and minimums of formats that store them side by side (f16 d at `off`, f16 m at `off + 2`): one 32-bit
/// lane load per row for both.
#[inline(always)]
unsafe fn scales_and_mins(ptrs: &[*const u8; ROWS], off: usize, f16: &F16Consts) -> (v128, v128) {
    let p = |i: usize| ptrs[i].add(off) as *const u32;
    let v = v128_load32_lane::<0>(u32x4_splat(0), p(0));
    let v = v128_load32_lane::<1>(v, p(1));
    let v = v128_load32_lane::<2>(v, p(2));
    let v = v128_load32_lane::<3>(v, p(3));
    // The f16 conversion masks each lane's low half itself (magnitude and sign masks), so the scale needs no mask.
    (f16.to_f32x4(v), f16.to_f32x4(u32x4_shr(v, 16)))
}

/// acc += v · s, fused where relaxed SIMD is available.
#[inline(always)]
fn madd(acc: v128, v: v128, s: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(v, s, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(acc, f32x4_mul(v, s))
    }
}

/// The four rows' scales and minimums (zero where the format has none) of the block at byte `off` of a group.
#[inline(always)]
unsafe fn block_scales<W: WideWeights>(ptrs: &[*const u8; ROWS], off: usize, f16: &F16Consts) -> (v128, v128) {
    match W::MIN_AT {
        Some(2) => scales_and_mins(ptrs, off, f16),
        Some(at) => (scales(ptrs, off, f16), scales(ptrs, off + at, f16)),
        None => (scales(ptrs, off, f16), f32x4_splat(0.0)),
    }
}

/// Folds one block's integer sums (lanes = the four rows; the format's offset already out, see `block_sums_start`)
/// into the per-token accumulators: scaled by weight × activation deltas, plus the rows' minimums times d_x · Σ x.
/// The rows' scales are read from `pre` (block b's f32 scales, `RowScales`) where given.
#[inline(always)]
unsafe fn fold_block<W: WideWeights, const T: usize>(
    acc: &mut [v128; T],
    sums: &[v128; T],
    ptrs: &[*const u8; ROWS],
    off: usize,
    pre: Option<*const v128>,
    x: &WideActivations,
    t0: usize,
    b: usize,
    f16: &F16Consts,
) {
    let (dw, mw) = match pre {
        None => block_scales::<W>(ptrs, off, f16),
        Some(p) if W::MIN_AT.is_some() => (v128_load(p), v128_load(p.add(1))),
        Some(p) => (v128_load(p), f32x4_splat(0.0)),
    };
    for t in 0..T {
        let i = (t0 + t) * x.n_blocks + b;
        // Splat loads (one load each on x86, no vector op), not scalar loads and splats.
        let dx = v128_load32_splat(x.d.as_ptr().add(i) as *const u32);
        acc[t] = madd(acc[t], f32x4_convert_i32x4(sums[t]), f32x4_mul(dw, dx));
        if W::MIN_AT.is_some() {
            acc[t] = madd(acc[t], mw, v128_load32_splat(x.d_sum.as_ptr().add(i) as *const u32));
        }
    }
}

/// Where a block's integer sums start for tokens t0..t0+T: −OFFSET · Σ x (`WideActivations::bias`), so the sums
/// come out with the format's offset folded out, at no cost in the tiles.
#[inline(always)]
unsafe fn block_sums_start<W: WideWeights, const T: usize>(x: &WideActivations, t0: usize, b: usize) -> [v128; T] {
    core::array::from_fn(|t| {
        if W::OFFSET == 0 {
            i32x4_splat(0)
        } else {
            v128_load32_splat(x.bias.as_ptr().add((t0 + t) * x.n_blocks + b) as *const u32)
        }
    })
}

/// Whether `sweep` may take `RowScales` for `W` (its 8-row tiles; not the relaxed build's 7-bit ones).
pub const fn takes_scales<W: WideWeights>() -> bool {
    pairs_groups::<W>()
}

/// Whether `sweep` takes two groups (8 rows) per tile for `W`: the i16 kernels then dot each broadcast activation
/// pair with both groups' weights, one splat load for two dots. Measured 5–15% faster than one group on Q4_0 and
/// Q8_0 at 1 and 64 tokens (8 tokens × one group instead: 25% slower). The relaxed build's 7-bit kernels keep one
/// group.
const fn pairs_groups<W: WideWeights>() -> bool {
    !(cfg!(target_feature = "relaxed-simd") && W::SEVEN_BIT)
}

/// `G` repacked groups of four rows of `W` (see `kernels::repack`) × T tokens of activations, with PRE each group's
/// f32 scales (`RowScales`; unread without). Returns one f32x4 [row0..row3] per group and token.
#[inline(never)]
unsafe fn tile<W: WideWeights, const T: usize, const G: usize, const PRE: bool>(
    groups: [*const u8; G],
    scales: [*const f32; G],
    x: &WideActivations,
    t0: usize,
    k: &Consts,
) -> [[v128; T]; G] {
    let nb = x.n_blocks;
    // With PRE, block b's f32 scales of group g (`RowScales`); without, they are converted in the loop.
    let per_block = if W::MIN_AT.is_some() { 2 } else { 1 };
    let pre = |g: usize, b: usize| if PRE { Some((scales[g] as *const v128).add(b * per_block)) } else { None };
    // Pseudo-block i of every block keeps row i's scale (and minimum) in its header.
    let ptrs: [[*const u8; ROWS]; G] = core::array::from_fn(|g| core::array::from_fn(|i| groups[g].add(i * W::BYTES)));
    let mut acc = [[f32x4_splat(0.0); T]; G];
    for b in 0..nb {
        let off = b * ROWS * W::BYTES;
        let mut sums = [block_sums_start::<W, T>(x, t0, b); G];
        #[cfg(target_feature = "relaxed-simd")]
        if W::SEVEN_BIT {
            for g in 0..G {
                relaxed_block_sums::<W, T>(&mut sums[g], groups[g].add(off), x, t0, b, k);
                fold_block::<W, T>(&mut acc[g], &sums[g], &ptrs[g], off, pre(g, b), x, t0, b, &k.f16);
            }
            continue;
        }
        for p in 0..ROWS {
            // SAFETY: a whole block of W (caller's contract); W is align-1 plain bytes (ByteBlock).
            let wv: [[v128; 4]; G] = core::array::from_fn(|g| (*(groups[g].add(off + p * W::BYTES) as *const W)).widen(k));
            for t in 0..T {
                // Columns 8p + 2j, 8p + 2j + 1 of this token's block, as one broadcast i16 pair.
                let xp = x.x16.as_ptr().add(((t0 + t) * nb + b) * 32 + 8 * p) as *const u32;
                for j in 0..4 {
                    let xj = v128_load32_splat(xp.add(j));
                    for g in 0..G {
                        sums[g][t] = i32x4_add(sums[g][t], i32x4_dot_i16x8(wv[g][j], xj));
                    }
                }
            }
        }
        for g in 0..G {
            fold_block::<W, T>(&mut acc[g], &sums[g], &ptrs[g], off, pre(g, b), x, t0, b, &k.f16);
        }
    }
    acc
}

/// The relaxed build's block sums for 7-bit formats: each pseudo-block's raw bytes (four rows × four columns per
/// half) dotted in i16 with four broadcast activation bytes (one pmaddubsw each on x86: the 7-bit weights are its
/// unsigned operand), summed in i16 while the products cannot overflow and widened into the i32 sums.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
unsafe fn relaxed_block_sums<W: WideWeights, const T: usize>(
    sums: &mut [v128; T],
    block: *const u8,
    x: &WideActivations,
    t0: usize,
    b: usize,
    k: &Consts,
) {
    // Each pseudo-block adds 4 products of ≤ MAX_CODE × 127 to an i16 lane.
    let per_flush = (i16::MAX as i32 / (4 * W::MAX_CODE * 127)).clamp(1, ROWS as i32) as usize;
    let mut s16 = [i16x8_splat(0); T];
    for p in 0..ROWS {
        // SAFETY: a whole block of W (caller's contract).
        let (lo, hi) = (*(block.add(p * W::BYTES) as *const W)).bytes(k);
        for (t, s) in s16.iter_mut().enumerate() {
            let xq = x.q8.as_ptr().add(((t0 + t) * x.n_blocks + b) * q8_0::BLOCK_BYTES + 2 + 8 * p) as *const u32;
            let d = i16x8_add(
                i16x8_relaxed_dot_i8x16_i7x16(v128_load32_splat(xq), lo),
                i16x8_relaxed_dot_i8x16_i7x16(v128_load32_splat(xq.add(1)), hi),
            );
            *s = i16x8_add(*s, d);
        }
        if (p + 1) % per_flush == 0 || p + 1 == ROWS {
            for (sum, s) in sums.iter_mut().zip(s16.iter_mut()) {
                *sum = i32x4_add(*sum, i32x4_extadd_pairwise_i16x8(*s));
                *s = i16x8_splat(0);
            }
        }
    }
}

// Block decoding helpers the formats share (wide order: see `WideWeights::widen`).

/// 16 bytes of packed nibbles (low nibbles are values 0..16, high nibbles 16..32) → the four i16x8 of
/// `WideWeights::widen`: i16 lane k holds bytes 2k, 2k+1, whose low nibbles are values 2k, 2k+1 and high ones
/// 16+2k, 17+2k (bits 0–3, 8–11, 4–7, 12–15 of the lane): three masks and three shifts.
#[inline(always)]
pub fn widen_nibbles(q: v128, k: &Consts) -> [v128; 4] {
    let low4 = k.low4_u16;
    [v128_and(q, low4), v128_and(u16x8_shr(q, 8), low4), v128_and(u16x8_shr(q, 4), low4), u16x8_shr(q, 12)]
}

/// Packed nibbles → (values 0..16, values 16..32) as bytes 0..15.
#[inline(always)]
pub fn split_nibbles(q: v128, k: &Consts) -> (v128, v128) {
    (v128_and(q, k.low4), v128_and(u16x8_shr(q, 4), k.low4))
}

/// Two vectors of signed bytes in value order (0..16, 16..32) → the four i16x8 of `WideWeights::widen`: even bytes
/// by shl 8 + arithmetic shr 8, odd bytes by arithmetic shr 8.
#[inline(always)]
pub fn widen_signed(lo: v128, hi: v128) -> [v128; 4] {
    [i16x8_shr(i16x8_shl(lo, 8), 8), i16x8_shr(lo, 8), i16x8_shr(i16x8_shl(hi, 8), 8), i16x8_shr(hi, 8)]
}

/// As `widen_signed`, for unsigned bytes.
#[inline(always)]
pub fn widen_unsigned(lo: v128, hi: v128) -> [v128; 4] {
    [u16x8_shr(i16x8_shl(lo, 8), 8), u16x8_shr(lo, 8), u16x8_shr(i16x8_shl(hi, 8), 8), u16x8_shr(hi, 8)]
}

/// The 5-bit quants of a Q5_0 / Q5_1 block as bytes in value order: `qs` the packed low nibbles, `qh` the 32 fifth
/// bits (bit j belongs to value j). Each byte of `qh` is broadcast over the 8 bytes it covers and tested against
/// its bit.
#[inline(always)]
pub fn five_bit(qs: v128, qh: u32, k: &Consts) -> (v128, v128) {
    let h = u32x4_splat(qh);
    let bits = k.bit_of_byte;
    let high = |spread: v128| v128_and(i8x16_eq(v128_and(spread, bits), bits), k.fifth);
    let h_lo = high(i8x16_swizzle(h, k.qh_lo));
    let h_hi = high(i8x16_swizzle(h, k.qh_hi));
    let (lo, hi) = split_nibbles(qs, k);
    (v128_or(lo, h_lo), v128_or(hi, h_hi))
}

/// 16 bytes at `p` (any alignment: wasm loads need none).
///
/// # Safety
/// `p` points at 16 readable bytes.
#[inline(always)]
pub unsafe fn ld<P>(p: *const P) -> v128 {
    core::ptr::read_unaligned(p as *const v128)
}

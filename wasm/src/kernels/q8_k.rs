//! Q8_K: blocks of 256 values, `{ f32 d; i8 qs[256]; i16 bsums[16] }` (292 bytes), value = d · q.
//! `bsums[g]` is the sum of qs[16g..16g+16]; K-quant kernels use it to fold in per-sub-block minimums
//! without touching the activations again. The activation format partnered with the K-quant and IQ4_XS weights.

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 292;
/// Byte offset of qs within a block.
pub const QS: usize = 4;
/// Byte offset of bsums within a block.
pub const BSUMS: usize = 4 + 256;

/// Quantizes `src` (a multiple of 256 values) into `dst` exactly as ggml's `quantize_row_q8_K_ref` (what
/// llama.cpp's CPU backend runs for K-quant activations): `max` is the value of largest magnitude (the first one),
/// iscale = −127 / max, q = round-half-even(iscale · x), d = 1 / iscale (so d is negative when max is positive).
/// Matching its bits matters: the coarse 256-value grid turns any rounding difference into a whole step.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q8_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q8_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if v.abs() > amax {
                (amax, max) = (v.abs(), v);
            }
        }
        if amax == 0.0 {
            out.fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        out[..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
        for (q, &v) in out[QS..BSUMS].iter_mut().zip(x) {
            // ggml's nearest_int rounds half to even; the clamp only matters for NaN (→ 0) and float slop.
            *q = ((iscale * v).round_ties_even().clamp(-127.0, 127.0) as i8) as u8;
        }
        for g in 0..16 {
            let s: i32 = out[QS + 16 * g..QS + 16 * g + 16].iter().map(|&q| (q as i8) as i32).sum();
            out[BSUMS + 2 * g..BSUMS + 2 * g + 2].copy_from_slice(&(s as i16).to_le_bytes());
        }
    }
}

/// Dequantizes Q8_K blocks (bsums are not needed to recover the values).
pub fn dequantize_row(src: &[u8], dst: &mut [f32]) {
    assert_eq!(src.len() % BLOCK_BYTES, 0, "q8_k::dequantize_row: not whole blocks");
    assert_eq!(dst.len(), src.len() / BLOCK_BYTES * BLOCK_LEN, "q8_k::dequantize_row: output size");
    for (b, out) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(BLOCK_LEN)) {
        let d = scale(b);
        for (o, &q) in out.iter_mut().zip(&b[QS..BSUMS]) {
            *o = d * (q as i8) as f32;
        }
    }
}

/// The block's f32 scale.
#[inline(always)]
pub fn scale(block: &[u8]) -> f32 {
    f32::from_le_bytes([block[0], block[1], block[2], block[3]])
}

/// The i-th quant of a block.
#[inline(always)]
pub fn q(block: &[u8], i: usize) -> i32 {
    (block[QS + i] as i8) as i32
}

/// bsums[g] of a block.
#[inline(always)]
pub fn bsum(block: &[u8], g: usize) -> i32 {
    i16::from_le_bytes([block[BSUMS + 2 * g], block[BSUMS + 2 * g + 1]]) as i32
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd {
    //! The shared tile loop of K-quant weights × Q8_K activations. Each weight super-block is decoded once per
    //! tile into 32 i16x8 vectors (values in natural order) plus integer sub-block scales; each activation
    //! super-block is widened once per token; every (row, token) pair then costs 32 `i32x4_dot_i16x8`.

    use super::{bsum, scale, BLOCK_BYTES, QS};
    use crate::kernels::simd::{block_unchecked, hsum_i32x4, load};
    use crate::kernels::tile_rows::TileRows;
    use core::arch::wasm32::*;

    /// One decoded 256-value weight super-block: value i = d · scales[g] · w[i] − dmin · mins[g], g = i / (256 / G).
    #[derive(Clone, Copy)]
    pub struct Decoded {
        pub d: f32,
        pub dmin: f32,
        pub w: [v128; 32],
        /// Per-group integer scale (G groups of 256 / G values).
        pub scales: [i32; 16],
        /// Per-group integer minimum (only read when the format has minimums).
        pub mins: [i32; 16],
    }

    impl Decoded {
        pub fn zeroed() -> Self {
            Decoded { d: 0.0, dmin: 0.0, w: [i16x8_splat(0); 32], scales: [0; 16], mins: [0; 16] }
        }
    }

    /// A decoded weight super-block as the tile loop sees it: how a group's activations are loaded once per token
    /// and dotted with this block's weights of that group. `Decoded` (i16, every SIMD128 engine) and `Decoded7`
    /// (7-bit bytes, the relaxed 8-bit dot) are the two kinds.
    pub trait DecodedBlock: Copy {
        /// A group's activation vectors.
        type Acts: Copy;
        fn zeroed() -> Self;
        /// (d, dmin, scales, mins) of the block.
        fn head(&self) -> (f32, f32, &[i32; 16], &[i32; 16]);
        /// Group g's activation quants of the Q8_K block `xb`, for `G` groups.
        fn acts<const G: usize>(xb: &[u8], g: usize) -> Self::Acts;
        /// Σ weight · activation over group g, in i32x4 lanes.
        fn group_dot<const G: usize>(&self, xs: &Self::Acts, g: usize) -> v128;
    }

    impl DecodedBlock for Decoded {
        type Acts = [v128; 4];
        #[inline(always)]
        fn zeroed() -> Self {
            Decoded::zeroed()
        }
        #[inline(always)]
        fn head(&self) -> (f32, f32, &[i32; 16], &[i32; 16]) {
            (self.d, self.dmin, &self.scales, &self.mins)
        }
        #[inline(always)]
        fn acts<const G: usize>(xb: &[u8], g: usize) -> [v128; 4] {
            let per_group = 32 / G;
            let mut xs = [i16x8_splat(0); 4];
            for k in 0..per_group / 2 {
                let v = load(xb, QS + 16 * (g * per_group / 2 + k));
                xs[2 * k] = i16x8_extend_low_i8x16(v);
                xs[2 * k + 1] = i16x8_extend_high_i8x16(v);
            }
            xs
        }
        #[inline(always)]
        fn group_dot<const G: usize>(&self, xs: &[v128; 4], g: usize) -> v128 {
            let per_group = 32 / G;
            let wv = &self.w[g * per_group..(g + 1) * per_group];
            let mut s = i32x4_dot_i16x8(wv[0], xs[0]);
            for k in 1..per_group {
                s = i32x4_add(s, i32x4_dot_i16x8(wv[k], xs[k]));
            }
            s
        }
    }

    /// R rows × T tokens; `G` scale groups per super-block (8 for Q4_K / Q5_K / IQ4_XS, 16 for Q2_K / Q3_K /
    /// Q6_K); `HAS_MIN` adds the `dmin · Σ mins · bsums` correction. `decode_weight` fills one block's `D`.
    #[inline(always)]
    pub fn tile_with<const R: usize, const T: usize, const G: usize, const HAS_MIN: bool, D: DecodedBlock>(
        w: &TileRows<R>,
        x: &[&[u8]; T],
        weight_bytes: usize,
        decode_weight: impl Fn(&[u8], &mut D),
    ) -> [[f32; T]; R] {
        let n_blocks = x[0].len() / BLOCK_BYTES;
        assert!(w.n_blocks == n_blocks && w.block_bytes() == weight_bytes, "weight row length");
        for row in x {
            assert_eq!(row.len(), n_blocks * BLOCK_BYTES, "activation row length");
        }
        let mut acc = [[0.0f32; T]; R];
        let mut ws = [D::zeroed(); R];
        for b in 0..n_blocks {
            for r in 0..R {
                decode_weight(w.block(r, b), &mut ws[r]);
            }
            for t in 0..T {
                // SAFETY: as above.
                let xb = unsafe { block_unchecked(x[t], b, BLOCK_BYTES) };
                let xd = scale(xb);
                let mut isum = [i32x4_splat(0); R];
                for g in 0..G {
                    let xs = D::acts::<G>(xb, g);
                    for r in 0..R {
                        let s = ws[r].group_dot::<G>(&xs, g);
                        isum[r] = i32x4_add(isum[r], i32x4_mul(s, i32x4_splat(ws[r].head().2[g])));
                    }
                }
                let xsums = if HAS_MIN { group_sums::<G>(xb) } else { [0; 16] };
                for r in 0..R {
                    let (d, dmin, _, mins) = ws[r].head();
                    acc[r][t] += finish::<G, HAS_MIN>(d, dmin, mins, xd, hsum_i32x4(isum[r]), &xsums);
                }
            }
        }
        acc
    }

    /// The tile of a format that decodes to bytes (`Decoded7`): the relaxed build dots them directly, the SIMD128
    /// build widens them first.
    #[inline(always)]
    pub fn tile_bytes<const R: usize, const T: usize, const G: usize, const HAS_MIN: bool>(
        w: &TileRows<R>,
        x: &[&[u8]; T],
        weight_bytes: usize,
        decode7: impl Fn(&[u8], &mut Decoded7),
    ) -> [[f32; T]; R] {
        #[cfg(target_feature = "relaxed-simd")]
        return tile_with::<R, T, G, HAS_MIN, Decoded7>(w, x, weight_bytes, decode7);
        #[cfg(not(target_feature = "relaxed-simd"))]
        tile_with::<R, T, G, HAS_MIN, Decoded>(w, x, weight_bytes, |b, out| {
            let mut bytes = Decoded7::zeroed();
            decode7(b, &mut bytes);
            widen(&bytes, out)
        })
    }

    /// Σ of the activation quants over each of the G weight groups (from the 16 bsums).
    #[inline(always)]
    fn group_sums<const G: usize>(xb: &[u8]) -> [i32; 16] {
        let per_group = 16 / G;
        core::array::from_fn(|g| if g < G { (0..per_group).map(|k| bsum(xb, g * per_group + k)).sum() } else { 0 })
    }

    /// One (row, token, super-block) term: d · xd · isum − dmin · xd · Σ mins · group sums.
    #[inline(always)]
    fn finish<const G: usize, const HAS_MIN: bool>(d: f32, dmin: f32, mins: &[i32; 16], xd: f32, isum: i32, xsums: &[i32; 16]) -> f32 {
        let mut v = d * xd * isum as f32;
        if HAS_MIN {
            let summ: i32 = (0..G).map(|g| mins[g] * xsums[g]).sum();
            v -= dmin * xd * summ as f32;
        }
        v
    }

    /// One super-block decoded for the relaxed 8-bit dot: 16 u8x16 of 7-bit quants (0..=127) in value order,
    /// value i = d · scales[g] · w[i] − dmin · mins[g]. A format with an offset (Q3_K's q − 4, Q6_K's q − 32)
    /// stores the unsigned quant and puts offset · scale into the minimums, with dmin = d.
    #[derive(Clone, Copy)]
    pub struct Decoded7 {
        pub d: f32,
        pub dmin: f32,
        pub w: [v128; 16],
        pub scales: [i32; 16],
        pub mins: [i32; 16],
    }

    impl Decoded7 {
        pub fn zeroed() -> Self {
            Decoded7 { d: 0.0, dmin: 0.0, w: [i8x16_splat(0); 16], scales: [0; 16], mins: [0; 16] }
        }
    }

    /// `Decoded` from a `Decoded7` (the bytes widened to u16), so a format writes one decoder for both builds.
    #[inline(always)]
    pub fn widen(src: &Decoded7, out: &mut Decoded) {
        (out.d, out.dmin, out.scales, out.mins) = (src.d, src.dmin, src.scales, src.mins);
        for (i, &v) in src.w.iter().enumerate() {
            out.w[2 * i] = u16x8_extend_low_u8x16(v);
            out.w[2 * i + 1] = u16x8_extend_high_u8x16(v);
        }
    }

    /// The relaxed-SIMD build's kind: `i32x4.relaxed_dot_i8x16_i7x16_add_s` takes the activation bytes as they are
    /// and the 7-bit quants as the second operand (exact on every engine), 16 products per instruction and no
    /// widening on either side.
    #[cfg(target_feature = "relaxed-simd")]
    impl DecodedBlock for Decoded7 {
        type Acts = [v128; 2];
        #[inline(always)]
        fn zeroed() -> Self {
            Decoded7::zeroed()
        }
        #[inline(always)]
        fn head(&self) -> (f32, f32, &[i32; 16], &[i32; 16]) {
            (self.d, self.dmin, &self.scales, &self.mins)
        }
        #[inline(always)]
        fn acts<const G: usize>(xb: &[u8], g: usize) -> [v128; 2] {
            let per_group = 16 / G;
            let mut xs = [i8x16_splat(0); 2];
            for k in 0..per_group {
                xs[k] = load(xb, QS + 16 * (g * per_group + k));
            }
            xs
        }
        #[inline(always)]
        fn group_dot<const G: usize>(&self, xs: &[v128; 2], g: usize) -> v128 {
            let per_group = 16 / G;
            let wv = &self.w[g * per_group..(g + 1) * per_group];
            let mut s = i32x4_relaxed_dot_i8x16_i7x16_add(xs[0], wv[0], i32x4_splat(0));
            for k in 1..per_group {
                s = i32x4_relaxed_dot_i8x16_i7x16_add(xs[k], wv[k], s);
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_bsums() {
        let src: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) / 128.0).collect();
        let mut b = vec![0u8; BLOCK_BYTES];
        quantize_row(&src, &mut b);
        assert_eq!(scale(&b), 1.0 / 127.0);
        assert_eq!(q(&b, 0), -127);
        assert_eq!(q(&b, 128), 0);
        for g in 0..16 {
            let want: i32 = (0..16).map(|i| q(&b, 16 * g + i)).sum();
            assert_eq!(bsum(&b, g), want);
        }
        let mut back = vec![0.0; 256];
        dequantize_row(&b, &mut back);
        for (a, c) in src.iter().zip(&back) {
            assert!((a - c).abs() <= 0.5 / 127.0 + 1e-6);
        }
    }

    /// ggml's sign and rounding: a positive max gives a negative d and negated quants, halves round to even.
    #[test]
    fn matches_ggml_sign_and_ties() {
        let mut src = vec![0.0f32; 256];
        src[0] = 127.0; // max: iscale = -1, d = -1
        src[1] = 2.5; // -2.5 → -2 (half to even; half away from zero would give -3)
        src[2] = -3.5; // 3.5 → 4
        src[3] = -127.0; // equal magnitude after the max: max stays the first
        let mut b = vec![0u8; BLOCK_BYTES];
        quantize_row(&src, &mut b);
        assert_eq!(scale(&b), -1.0);
        assert_eq!([q(&b, 0), q(&b, 1), q(&b, 2), q(&b, 3)], [-127, -2, 4, 127]);
        assert_eq!(bsum(&b, 0), 2);
        let zero = vec![0.0f32; 256];
        quantize_row(&zero, &mut b);
        assert!(b.iter().all(|&v| v == 0));
    }
}

//! Q2_K: super-blocks of 256 values, `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }` (84 bytes).
//! Sixteen groups of 16 values; scales[g] holds the group's 4-bit scale (low nibble) and 4-bit minimum (high
//! nibble); value = d · scale · q − dmin · min with q a 2-bit quant. Per 128-value half n and l < 32, byte
//! qs[32n + l] holds values 128n + 32k + l in bits 2k..2k+2 (k = 0..4). Dot partner: Q8_K.

use super::half::{f16_to_f32, f32_to_f16, read_f16};
use super::kquant_fit::{fit_scale_min, nearest_int};
use super::q8_k;

pub const BLOCK_LEN: usize = 256;
pub const BLOCK_BYTES: usize = 84;
const QS: usize = 16;
const D: usize = 80;
const DMIN: usize = 82;

/// The 256 2-bit quants of a super-block, in value order.
#[inline(always)]
fn unpack_quants(block: &[u8]) -> [u8; 256] {
    let mut q = [0u8; 256];
    for n in 0..2 {
        for k in 0..4 {
            for l in 0..32 {
                q[128 * n + 32 * k + l] = (block[QS + 32 * n + l] >> (2 * k)) & 3;
            }
        }
    }
    q
}

/// Inverse of `unpack_quants` for quants 0..=3.
fn pack_quants(q: &[u8; 256], block: &mut [u8]) {
    for n in 0..2 {
        for l in 0..32 {
            let v = |k: usize| q[128 * n + 32 * k + l] << (2 * k);
            block[QS + 32 * n + l] = v(0) | v(1) | v(2) | v(3);
        }
    }
}

/// ggml's reference quantizer: per 16-value group a searched affine fit minimising the |x|-weighted absolute
/// error, 4-bit scales and minimums against f16 super-block units, then the quants recomputed against the
/// scales actually stored.
pub fn quantize_row(src: &[f32], dst: &mut [u8]) {
    assert_eq!(src.len() % BLOCK_LEN, 0, "q2_k::quantize_row: length not a multiple of 256");
    assert_eq!(dst.len(), src.len() / BLOCK_LEN * BLOCK_BYTES, "q2_k::quantize_row: output size");
    for (x, out) in src.chunks_exact(BLOCK_LEN).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let mut q = [0u8; 256];
        let mut group_scale = [0.0f32; 16];
        let mut group_min = [0.0f32; 16];
        for g in 0..16 {
            let s = &x[16 * g..16 * g + 16];
            let weights: [f32; 16] = core::array::from_fn(|l| s[l].abs());
            (group_scale[g], group_min[g]) = fit_scale_min(3, s, &weights, &mut q[16 * g..16 * g + 16], -0.5, 0.1, 15, true);
        }
        let max_scale = group_scale.iter().fold(0.0f32, |m, &v| m.max(v));
        let max_min = group_min.iter().fold(0.0f32, |m, &v| m.max(v));
        let to_4bit = |v: f32, max: f32| if max > 0.0 { nearest_int(15.0 / max * v).clamp(0, 15) as u8 } else { 0 };
        let sc: [u8; 16] = core::array::from_fn(|g| to_4bit(group_scale[g], max_scale));
        let m: [u8; 16] = core::array::from_fn(|g| to_4bit(group_min[g], max_min));
        let d16 = f32_to_f16(if max_scale > 0.0 { max_scale / 15.0 } else { 0.0 });
        let dmin16 = f32_to_f16(if max_min > 0.0 { max_min / 15.0 } else { 0.0 });
        let (d, dmin) = (f16_to_f32(d16), f16_to_f32(dmin16));
        for g in 0..16 {
            let step = d * sc[g] as f32;
            if step == 0.0 {
                continue;
            }
            let offset = dmin * m[g] as f32;
            for l in 0..16 {
                q[16 * g + l] = nearest_int((x[16 * g + l] + offset) / step).clamp(0, 3) as u8;
            }
        }
        for g in 0..16 {
            out[g] = sc[g] | (m[g] << 4);
        }
        pack_quants(&q, out);
        out[D..D + 2].copy_from_slice(&d16.to_le_bytes());
        out[DMIN..DMIN + 2].copy_from_slice(&dmin16.to_le_bytes());
    }
}

/// Dequantizes Q2_K super-blocks `src` into `dst` (`src.len() / 84 * 256` values).
pub fn dequantize_row(src: &[u8], dst: &mut [f32]) {
    assert_eq!(src.len() % BLOCK_BYTES, 0, "q2_k::dequantize_row: not whole blocks");
    assert_eq!(dst.len(), src.len() / BLOCK_BYTES * BLOCK_LEN, "q2_k::dequantize_row: output size");
    for (b, out) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(BLOCK_LEN)) {
        let (d, dmin) = (read_f16(b, D), read_f16(b, DMIN));
        let q = unpack_quants(b);
        for (i, o) in out.iter_mut().enumerate() {
            let sm = b[i / 16];
            *o = d * (sm & 0x0f) as f32 * q[i] as f32 - dmin * (sm >> 4) as f32;
        }
    }
}

/// Scalar reference: Q2_K weight row · Q8_K activation row (same number of super-blocks).
pub fn vec_dot(w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(w.len() / BLOCK_BYTES, x.len() / q8_k::BLOCK_BYTES);
    let mut sum = 0.0f32;
    for (wb, xb) in w.chunks_exact(BLOCK_BYTES).zip(x.chunks_exact(q8_k::BLOCK_BYTES)) {
        let q = unpack_quants(wb);
        let (mut sumi, mut summ) = (0i32, 0i32);
        for g in 0..16 {
            let isum: i32 = (16 * g..16 * g + 16).map(|i| q[i] as i32 * q8_k::q(xb, i)).sum();
            sumi += (wb[g] & 0x0f) as i32 * isum;
            summ += (wb[g] >> 4) as i32 * q8_k::bsum(xb, g);
        }
        let xd = q8_k::scale(xb);
        sum += read_f16(wb, D) * xd * sumi as f32 - read_f16(wb, DMIN) * xd * summ as f32;
    }
    sum
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd {
    use super::{read_f16, BLOCK_BYTES, D, DMIN, QS};
    use crate::kernels::q8_k::simd::{tile_with, Decoded};
    use crate::kernels::simd::load;
    use core::arch::wasm32::*;

    /// 2-bit quants → i16x8 in value order; 16 scales and minimums from the nibbles.
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        out.d = read_f16(block, D);
        out.dmin = read_f16(block, DMIN);
        let three = u8x16_splat(3);
        for n in 0..2 {
            for h in 0..2 {
                let bytes = load(block, QS + 32 * n + 16 * h);
                for k in 0..4 {
                    // Lanes are values 128n + 32k + 16h .. + 16.
                    let q = v128_and(u8x16_shr(bytes, 2 * k as u32), three);
                    let slot = 16 * n + 4 * k + 2 * h;
                    out.w[slot] = u16x8_extend_low_u8x16(q);
                    out.w[slot + 1] = u16x8_extend_high_u8x16(q);
                }
            }
        }
        for g in 0..16 {
            out.scales[g] = (block[g] & 0x0f) as i32;
            out.mins[g] = (block[g] >> 4) as i32;
        }
    }

    /// Q2_K weights × Q8_K activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(w: &[&[u8]; R], x: &[&[u8]; T]) -> [[f32; T]; R] {
        tile_with::<R, T, 16, true>(w, x, BLOCK_BYTES, decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_block_dequantizes_exactly() {
        // d = 1, dmin = 0.25; group g: scale g % 16, min 15 − g; quant of value i = (i / 3) % 4 (varies within
        // every byte's four 2-bit fields).
        let mut q = [0u8; 256];
        for (i, v) in q.iter_mut().enumerate() {
            *v = ((i / 3) % 4) as u8;
        }
        let mut block = vec![0u8; BLOCK_BYTES];
        pack_quants(&q, &mut block);
        for g in 0..16 {
            block[g] = g as u8 | ((15 - g as u8) << 4);
        }
        block[D..D + 2].copy_from_slice(&0x3c00u16.to_le_bytes());
        block[DMIN..DMIN + 2].copy_from_slice(&0x3400u16.to_le_bytes());
        assert_eq!(unpack_quants(&block), q);
        let mut out = vec![0.0; 256];
        dequantize_row(&block, &mut out);
        for (i, v) in out.iter().enumerate() {
            let g = i / 16;
            assert_eq!(*v, g as f32 * q[i] as f32 - 0.25 * (15 - g) as f32, "value {i}");
        }
        // ggml's bit order, spelled out: value 128 + 64 + 5 is byte 32 + 5, bits 4..6.
        assert_eq!((block[QS + 32 + 5] >> 4) & 3, q[128 + 64 + 5]);
    }

    #[test]
    fn round_trip_error_is_bounded_by_the_group_range() {
        let src: Vec<f32> = (0..512).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.45) * (1.0 + (i / 16) as f32 * 0.1)).collect();
        let mut q = vec![0u8; 2 * BLOCK_BYTES];
        quantize_row(&src, &mut q);
        let mut back = vec![0.0; 512];
        dequantize_row(&q, &mut back);
        let (mut err2, mut sig2) = (0.0f64, 0.0f64);
        for (g, (s, b)) in src.chunks(16).zip(back.chunks(16)).enumerate() {
            let range = s.iter().fold(0.0f32, |m, &v| m.max(v)) - s.iter().fold(0.0f32, |m, &v| m.min(v));
            for (a, c) in s.iter().zip(b) {
                // Four levels over the group's range: a value is at most about one level from its quant.
                assert!((a - c).abs() <= range / 3.0 * 1.1 + 1e-3, "group {g}: {a} vs {c}");
                err2 += ((a - c) as f64).powi(2);
                sig2 += (*a as f64).powi(2);
            }
        }
        // Uniform data over four levels: plain rounding to the group range gives about 0.33.
        assert!((err2 / sig2).sqrt() < 0.3, "relative rms error {}", (err2 / sig2).sqrt());
    }
}

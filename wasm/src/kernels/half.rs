//! IEEE binary16 (f16) and bfloat16 (bf16) ⇄ f32 conversions, done with integer bit manipulation
//! (wasm has no native half-precision type). f32 → half rounds to nearest, ties to even, like ggml.

/// 2^112: rescales an f16 exponent (bias 15) placed in an f32 (bias 127). Exact, and it turns f16
/// subnormals (which land in f32's subnormal range) into the right normal f32 values.
const F16_EXP_REBIAS: f32 = 5.192_297e33; // 2^112

/// f16 bits → f32. Exact for every input (zeros, subnormals, normals, ±inf, NaN payloads).
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let magnitude = (h & 0x7fff) as u32;
    let mut bits = (f32::from_bits(magnitude << 13) * F16_EXP_REBIAS).to_bits();
    if magnitude >= 0x7c00 {
        // inf / NaN: the rebias multiply left the exponent at 143; force it to all ones.
        bits |= 0x7f80_0000;
    }
    f32::from_bits(bits | sign)
}

/// f32 → f16 bits, round to nearest even; overflow gives ±inf, NaN stays a (quiet) NaN.
#[inline]
pub fn f32_to_f16(f: f32) -> u16 {
    let x = f.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let mant = x & 0x007f_ffff;
    if exp == 0xff {
        let nan_bits = if mant != 0 { 0x0200 | (mant >> 13) as u16 } else { 0 };
        return sign | 0x7c00 | nan_bits;
    }
    let e = exp - 127 + 15; // f16 biased exponent
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // f16 subnormal (or zero): value in units of 2^-24 is mant24 >> (14 - e).
        if e < -10 {
            return sign; // below half the smallest subnormal: rounds to zero
        }
        let mant24 = mant | 0x0080_0000;
        let shift = (14 - e) as u32;
        return sign | round_shift_even(mant24, shift) as u16;
    }
    // Normal: keep 10 mantissa bits; a rounding carry may roll into the exponent (up to inf), which is correct.
    let base = ((e as u32) << 10) | (mant >> 13);
    let rem = mant & 0x1fff;
    let rounded = if rem > 0x1000 || (rem == 0x1000 && base & 1 == 1) { base + 1 } else { base };
    sign | rounded as u16
}

/// `v >> shift` rounded to nearest, ties to even (1 ≤ shift ≤ 24).
#[inline(always)]
fn round_shift_even(v: u32, shift: u32) -> u32 {
    let q = v >> shift;
    let rem = v & ((1u32 << shift) - 1);
    let half = 1u32 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// bf16 bits → f32 (exact: bf16 is the top half of an f32).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// f32 → bf16 bits, round to nearest even; NaN stays a quiet NaN.
#[inline]
pub fn f32_to_bf16(f: f32) -> u16 {
    let x = f.to_bits();
    if f.is_nan() {
        return ((x >> 16) as u16) | 0x0040;
    }
    let rounding = 0x7fff + ((x >> 16) & 1);
    (x.wrapping_add(rounding) >> 16) as u16
}

/// Converts every element of `src` into `dst` (same length).
pub fn f16_to_f32_slice(src: &[u16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "f16_to_f32_slice: length mismatch");
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16_to_f32(s);
    }
}

/// Converts every element of `src` into `dst` (same length).
pub fn bf16_to_f32_slice(src: &[u16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "bf16_to_f32_slice: length mismatch");
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = bf16_to_f32(s);
    }
}

/// Converts every element of `src` into `dst` (same length), rounding to nearest even.
pub fn f32_to_bf16_slice(src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len(), "f32_to_bf16_slice: length mismatch");
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f32_to_bf16(s);
    }
}

/// Reads the little-endian u16 at `off` of `bytes` (callers pass block slices of known size).
#[inline(always)]
pub(crate) fn read_u16_le(bytes: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([bytes[off], bytes[off + 1]])
}

/// Reads the little-endian f16 at `off` of `bytes` as f32.
#[inline(always)]
pub(crate) fn read_f16(bytes: &[u8], off: usize) -> f32 {
    f16_to_f32(read_u16_le(bytes, off))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textbook decoding by cases, independent of the bit trick used above.
    fn f16_to_f32_by_cases(h: u16) -> f32 {
        let sign = if h & 0x8000 != 0 { -1.0f64 } else { 1.0 };
        let exp = ((h >> 10) & 0x1f) as i32;
        let mant = (h & 0x3ff) as f64;
        let v = match exp {
            0 => mant * 2f64.powi(-24),
            31 => {
                if mant == 0.0 {
                    f64::INFINITY
                } else {
                    f64::NAN
                }
            }
            _ => (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
        };
        (sign * v) as f32
    }

    #[test]
    fn f16_decode_matches_textbook_for_every_bit_pattern() {
        for h in 0..=u16::MAX {
            let fast = f16_to_f32(h);
            let slow = f16_to_f32_by_cases(h);
            if slow.is_nan() {
                assert!(fast.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(fast.to_bits(), slow.to_bits(), "{h:#06x}");
            }
        }
    }

    #[test]
    fn f16_round_trips_every_non_nan_pattern() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f16_to_f32(f32_to_f16(f)).is_nan());
            } else {
                assert_eq!(f32_to_f16(f), h, "{h:#06x} ({f})");
            }
        }
    }

    #[test]
    fn f16_rounds_to_nearest_even() {
        // 1 + 2^-11 is exactly between 1.0 (0x3c00) and the next f16 (0x3c01): ties to even → 0x3c00.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3·2^-11 lies between 0x3c01 and 0x3c02: ties to even → 0x3c02.
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        // Slightly above the tie rounds up.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3c01);
        assert_eq!(f32_to_f16(65504.0), 0x7bff); // largest finite
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds up to inf
        assert_eq!(f32_to_f16(-1e9), 0xfc00);
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001); // smallest subnormal
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000); // tie between 0 and 1 ulp → even (0)
        assert_eq!(f32_to_f16(1.5 * 2f32.powi(-25)), 0x0001);
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        assert_eq!(f32_to_f16(0.1), 0x2e66);
    }

    #[test]
    fn bf16_conversions() {
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        // 1 + 2^-8 is a tie between 0x3f80 and 0x3f81: even → 0x3f80; 1 + 3·2^-8 → 0x3f82.
        assert_eq!(f32_to_bf16(1.0 + 2f32.powi(-8)), 0x3f80);
        assert_eq!(f32_to_bf16(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert!(bf16_to_f32(f32_to_bf16(f32::NAN)).is_nan());
        assert_eq!(f32_to_bf16(f32::INFINITY), 0x7f80);
        for h in (0..=u16::MAX).step_by(7) {
            let f = bf16_to_f32(h);
            if !f.is_nan() {
                assert_eq!(f32_to_bf16(f), h);
            }
        }
    }
}

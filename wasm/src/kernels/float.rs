//! Plain float weight rows (F32, F16, BF16; little-endian, one value per element) × f32 activations.
//! These need no activation quantization: the activations are used as they are.

use super::half::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};
use crate::tensor::DType;

/// Bytes per element of a float type.
pub fn elem_bytes(dtype: DType) -> usize {
    match dtype {
        DType::F32 => 4,
        _ => 2,
    }
}

/// Element `i` of a little-endian row of `dtype` (F32, F16 or BF16) as f32.
#[inline(always)]
pub fn get(dtype: DType, row: &[u8], i: usize) -> f32 {
    match dtype {
        DType::F32 => f32::from_le_bytes([row[4 * i], row[4 * i + 1], row[4 * i + 2], row[4 * i + 3]]),
        DType::F16 => f16_to_f32(u16::from_le_bytes([row[2 * i], row[2 * i + 1]])),
        _ => bf16_to_f32(u16::from_le_bytes([row[2 * i], row[2 * i + 1]])),
    }
}

/// Encodes `src` as `dtype` (F32, F16 or BF16) into `dst` (`src.len() × elem_bytes` bytes).
pub fn quantize_row(dtype: DType, src: &[f32], dst: &mut [u8]) {
    assert_eq!(dst.len(), src.len() * elem_bytes(dtype), "float::quantize_row: output size");
    match dtype {
        DType::F32 => {
            for (o, v) in dst.chunks_exact_mut(4).zip(src) {
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
        DType::F16 => {
            for (o, &v) in dst.chunks_exact_mut(2).zip(src) {
                o.copy_from_slice(&f32_to_f16(v).to_le_bytes());
            }
        }
        _ => {
            for (o, &v) in dst.chunks_exact_mut(2).zip(src) {
                o.copy_from_slice(&f32_to_bf16(v).to_le_bytes());
            }
        }
    }
}

/// Decodes a little-endian row of `dtype` into `dst` (`src.len() / elem_bytes` values).
pub fn dequantize_row(dtype: DType, src: &[u8], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len() * elem_bytes(dtype), "float::dequantize_row: output size");
    for (i, o) in dst.iter_mut().enumerate() {
        *o = get(dtype, src, i);
    }
}

/// Scalar reference: float weight row · f32 activations.
pub fn vec_dot(dtype: DType, w: &[u8], x: &[f32]) -> f32 {
    debug_assert_eq!(w.len(), x.len() * elem_bytes(dtype));
    let mut sum = 0.0f32;
    for (i, &xv) in x.iter().enumerate() {
        sum += get(dtype, w, i) * xv;
    }
    sum
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd {
    //! R rows × T tokens, 8 columns per step: each weight octet is widened to f32 once per tile, each activation
    //! octet loaded once per token; the column tail (cols % 8) is finished in scalar code.

    use super::get;
    use crate::kernels::simd::{bf16x8_to_f32x4x2, F16Consts, hsum_f32x4, load, load_f32x4};
    use crate::tensor::DType;
    use core::arch::wasm32::*;

    #[inline(always)]
    fn tile_with<const R: usize, const T: usize>(
        dtype: DType,
        w: &[&[u8]; R],
        x: &[&[f32]; T],
        decode8: impl Fn(&[u8], usize) -> (v128, v128),
    ) -> [[f32; T]; R] {
        let cols = x[0].len();
        let body = cols - cols % 8;
        let mut acc = [[f32x4_splat(0.0); T]; R];
        let mut c = 0;
        while c < body {
            let mut ws = [(f32x4_splat(0.0), f32x4_splat(0.0)); R];
            for r in 0..R {
                ws[r] = decode8(w[r], c);
            }
            for t in 0..T {
                let (x0, x1) = (load_f32x4(x[t], c), load_f32x4(x[t], c + 4));
                for r in 0..R {
                    acc[r][t] = f32x4_add(acc[r][t], f32x4_add(f32x4_mul(ws[r].0, x0), f32x4_mul(ws[r].1, x1)));
                }
            }
            c += 8;
        }
        core::array::from_fn(|r| {
            core::array::from_fn(|t| {
                let mut s = hsum_f32x4(acc[r][t]);
                for i in body..cols {
                    s += get(dtype, w[r], i) * x[t][i];
                }
                s
            })
        })
    }

    /// Float weights (F32 / F16 / BF16) × f32 activations.
    #[inline(never)]
    pub fn tile<const R: usize, const T: usize>(dtype: DType, w: &[&[u8]; R], x: &[&[f32]; T]) -> [[f32; T]; R] {
        let f16 = F16Consts::hoisted();
        match dtype {
            DType::F32 => tile_with(dtype, w, x, |row, c| (load(row, 4 * c), load(row, 4 * c + 16))),
            DType::F16 => tile_with(dtype, w, x, |row, c| f16.to_f32x4x2(load(row, 2 * c))),
            _ => tile_with(dtype, w, x, |row, c| bf16x8_to_f32x4x2(load(row, 2 * c))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let src = [1.0f32, -2.5, 0.1, 65504.0, 3.0e-5];
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let mut bytes = vec![0u8; src.len() * elem_bytes(dtype)];
            quantize_row(dtype, &src, &mut bytes);
            let mut back = vec![0.0; src.len()];
            dequantize_row(dtype, &bytes, &mut back);
            for (a, b) in src.iter().zip(&back) {
                let tol = match dtype {
                    DType::F32 => 0.0,
                    DType::F16 => (a.abs() * 2f32.powi(-11)).max(2f32.powi(-25)), // subnormals: half an ulp of 2^-24
                    _ => a.abs() * 2f32.powi(-8),
                };
                assert!((a - b).abs() <= tol, "{dtype:?}: {a} vs {b}");
            }
        }
        // Byte layout: F16 1.0 is 0x3c00 little-endian, BF16 1.0 is 0x3f80.
        let mut b = [0u8; 2];
        quantize_row(DType::F16, &[1.0], &mut b);
        assert_eq!(b, [0x00, 0x3c]);
        quantize_row(DType::BF16, &[1.0], &mut b);
        assert_eq!(b, [0x80, 0x3f]);
    }
}

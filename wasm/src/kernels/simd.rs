//! Small SIMD128 helpers shared by the per-format kernels (compiled only for wasm32 + simd128).

use core::arch::wasm32::*;

/// Loads 16 bytes from `bytes[off..off + 16]`. The slice index is checked, so this is safe on any input;
/// callers index fixed-size block arrays, where the check is resolved at compile time.
#[inline(always)]
pub fn load(bytes: &[u8], off: usize) -> v128 {
    let chunk: &[u8; 16] = bytes[off..off + 16].try_into().expect("16-byte slice");
    // SAFETY: `chunk` is exactly 16 readable bytes; wasm's v128.load allows any alignment.
    unsafe { core::ptr::read_unaligned(chunk.as_ptr() as *const v128) }
}

/// Block `i` of `len` bytes of `row`, without a bounds check, so the tile loops have no panic branches and
/// LLVM unrolls them over the rows into registers.
///
/// # Safety
/// `(i + 1) * len <= row.len()`; the tile functions assert this for every row once on entry.
#[inline(always)]
pub unsafe fn block_unchecked(row: &[u8], i: usize, len: usize) -> &[u8] {
    debug_assert!((i + 1) * len <= row.len());
    row.get_unchecked(i * len..(i + 1) * len)
}

/// Loads four f32 from `v[off..off + 4]` (bounds-checked).
#[inline(always)]
pub fn load_f32x4(v: &[f32], off: usize) -> v128 {
    let chunk: &[f32; 4] = v[off..off + 4].try_into().expect("4-float slice");
    // SAFETY: 16 readable bytes; unaligned loads are fine in wasm.
    unsafe { core::ptr::read_unaligned(chunk.as_ptr() as *const v128) }
}

/// Stores four f32 into `v[off..off + 4]` (bounds-checked).
#[inline(always)]
pub fn store_f32x4(v: &mut [f32], off: usize, x: v128) {
    let chunk: &mut [f32; 4] = (&mut v[off..off + 4]).try_into().expect("4-float slice");
    // SAFETY: 16 writable bytes; unaligned stores are fine in wasm.
    unsafe { core::ptr::write_unaligned(chunk.as_mut_ptr() as *mut v128, x) }
}

/// Loads eight u16 from `v[off..off + 8]` (bounds-checked).
#[inline(always)]
pub fn load_u16x8(v: &[u16], off: usize) -> v128 {
    let chunk: &[u16; 8] = v[off..off + 8].try_into().expect("8-half slice");
    // SAFETY: 16 readable bytes; unaligned loads are fine in wasm.
    unsafe { core::ptr::read_unaligned(chunk.as_ptr() as *const v128) }
}

/// Sum of the four f32 lanes.
#[inline(always)]
pub fn hsum_f32x4(v: v128) -> f32 {
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let s = f32x4_add(s, i32x4_shuffle::<1, 0, 3, 2>(s, s));
    f32x4_extract_lane::<0>(s)
}

/// Sum of the four i32 lanes (wrapping, like the scalar kernels' i32 sums never need to).
#[inline(always)]
pub fn hsum_i32x4(v: v128) -> i32 {
    let s = i32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let s = i32x4_add(s, i32x4_shuffle::<1, 0, 3, 2>(s, s));
    i32x4_extract_lane::<0>(s)
}

/// Four f16 (in the low 16 bits of each u32 lane) → four f32, exactly. Same bit trick as
/// `half::f16_to_f32`: shift the magnitude into f32 position, rebias the exponent by a multiply,
/// patch inf/NaN, put the sign back.
#[inline(always)]
pub fn f16x4_to_f32x4(h: v128) -> v128 {
    let magnitude = v128_and(h, u32x4_splat(0x7fff));
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    let scaled = f32x4_mul(i32x4_shl(magnitude, 13), f32x4_splat(5.192_297e33)); // × 2^112
    let inf_nan = i32x4_gt(magnitude, i32x4_splat(0x7bff));
    v128_or(v128_or(scaled, v128_and(inf_nan, u32x4_splat(0x7f80_0000))), sign)
}

/// Eight f16 → (low four, high four) as f32x4.
#[inline(always)]
pub fn f16x8_to_f32x4x2(h: v128) -> (v128, v128) {
    (f16x4_to_f32x4(u32x4_extend_low_u16x8(h)), f16x4_to_f32x4(u32x4_extend_high_u16x8(h)))
}

/// Eight bf16 → (low four, high four) as f32x4.
#[inline(always)]
pub fn bf16x8_to_f32x4x2(h: v128) -> (v128, v128) {
    (i32x4_shl(u32x4_extend_low_u16x8(h), 16), i32x4_shl(u32x4_extend_high_u16x8(h), 16))
}

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

/// `v` as a value V8 cannot see is constant. V8 builds a `v128.const` again at every use (on x64 a constant-pool
/// load and two shuffles on the one shuffle port, inside the loop), so in the block loops the masks and lookup
/// tables cost more than the arithmetic; a value it reads back from memory instead stays in a register, or is
/// reloaded with one load. Build the constants of a hot loop with this, once, outside the loop.
#[inline(always)]
pub fn opaque<T>(v: T) -> T {
    core::hint::black_box(v)
}

/// The constants of the exact f16 → f32 conversion (see `to_f32x4`).
#[derive(Clone, Copy)]
pub struct F16Consts {
    magnitude: v128,
    sign: v128,
    rebias: v128,
    max_finite: v128,
    inf: v128,
}

impl F16Consts {
    /// Plain constants: for conversions outside a hot loop.
    #[inline(always)]
    pub fn new() -> Self {
        F16Consts {
            magnitude: u32x4_splat(0x7fff),
            sign: u32x4_splat(0x8000),
            rebias: f32x4_splat(5.192_297e33), // 2^112
            max_finite: i32x4_splat(0x7bff),
            inf: u32x4_splat(0x7f80_0000),
        }
    }

    /// The constants behind `opaque`, for loops (built once per call).
    #[inline(always)]
    pub fn hoisted() -> Self {
        opaque(Self::new())
    }

    /// Four f16 (in the low 16 bits of each u32 lane) → four f32, exactly. Same bit trick as `half::f16_to_f32`:
    /// shift the magnitude into f32 position, rebias the exponent by a multiply, patch inf/NaN, put the sign back.
    #[inline(always)]
    pub fn to_f32x4(&self, h: v128) -> v128 {
        let magnitude = v128_and(h, self.magnitude);
        let sign = i32x4_shl(v128_and(h, self.sign), 16);
        let scaled = f32x4_mul(i32x4_shl(magnitude, 13), self.rebias);
        let inf_nan = i32x4_gt(magnitude, self.max_finite);
        v128_or(v128_or(scaled, v128_and(inf_nan, self.inf)), sign)
    }

    /// Eight f16 → (low four, high four) as f32x4.
    #[inline(always)]
    pub fn to_f32x4x2(&self, h: v128) -> (v128, v128) {
        (self.to_f32x4(u32x4_extend_low_u16x8(h)), self.to_f32x4(u32x4_extend_high_u16x8(h)))
    }
}

/// The constants of the f32 → f16 conversion (see `convert`).
#[derive(Clone, Copy)]
pub struct ToF16Consts {
    sign: v128,
    overflow_at: v128,
    inf: v128,
    quiet_nan: v128,
    mantissa: v128,
    f16_inf: v128,
    denorm_magic: v128,
    normal_from: v128,
    one: v128,
    rebias: v128,
}

impl ToF16Consts {
    /// The constants behind `opaque`, for loops (built once per call).
    #[inline(always)]
    pub fn hoisted() -> Self {
        opaque(ToF16Consts {
            sign: u32x4_splat(0x8000_0000),
            overflow_at: u32x4_splat((127 + 16) << 23),
            inf: u32x4_splat(0x7f80_0000),
            quiet_nan: u32x4_splat(0x7e00),
            mantissa: u32x4_splat(0x03ff),
            f16_inf: u32x4_splat(0x7c00),
            denorm_magic: u32x4_splat(((127 - 15) + (23 - 10) + 1) << 23),
            normal_from: u32x4_splat(113 << 23),
            one: u32x4_splat(1),
            rebias: u32x4_splat(((15u32.wrapping_sub(127)) << 23).wrapping_add(0xfff)),
        })
    }

    /// Four f32 → four f16 (in the low half of each u32 lane), round to nearest even, bit-identical to
    /// `half::f32_to_f16`. Three cases computed branch-free and selected by masks: overflow/inf/NaN, f16-subnormal
    /// (rounded by adding a magic float whose ulp is 2^-24), normal (rebias the exponent, add 0xfff plus the
    /// mantissa's odd bit, shift).
    #[inline(always)]
    pub fn convert(&self, v: v128) -> v128 {
        let sign = v128_and(v, self.sign);
        let abs = v128_xor(v, sign);
        // Case: |v| ≥ 65520 (rounds to inf), inf, NaN (payload kept like the scalar version).
        let overflow = u32x4_ge(abs, self.overflow_at);
        let is_nan = u32x4_gt(abs, self.inf);
        let nan_bits = v128_or(self.quiet_nan, v128_and(u32x4_shr(abs, 13), self.mantissa));
        let big = v128_bitselect(nan_bits, self.f16_inf, is_nan);
        // Case: result is an f16 subnormal or zero (|v| < 2^-14).
        let sub = i32x4_sub(f32x4_add(abs, self.denorm_magic), self.denorm_magic);
        let is_sub = u32x4_lt(abs, self.normal_from);
        // Case: normal.
        let odd = v128_and(u32x4_shr(abs, 13), self.one);
        let normal = u32x4_shr(i32x4_add(i32x4_add(abs, self.rebias), odd), 13);
        let small = v128_bitselect(sub, normal, is_sub);
        let h = v128_bitselect(big, small, overflow);
        v128_or(h, u32x4_shr(sign, 16))
    }
}

/// Eight bf16 → (low four, high four) as f32x4.
#[inline(always)]
pub fn bf16x8_to_f32x4x2(h: v128) -> (v128, v128) {
    (i32x4_shl(u32x4_extend_low_u16x8(h), 16), i32x4_shl(u32x4_extend_high_u16x8(h), 16))
}

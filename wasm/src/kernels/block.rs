//! Typed views of ggml block arrays: a format declares its block as a `#[repr(C)]` struct of byte arrays (ggml's
//! exact layout), and rows of raw tensor bytes are read and written as slices of that struct without copying.

/// A ggml block laid out as plain bytes.
///
/// # Safety
/// Implementors are `#[repr(C)]` structs whose fields are all `u8` arrays: alignment 1, no padding, and every byte
/// pattern is a valid value, so any `BYTES`-long byte slice may be viewed as one.
pub unsafe trait ByteBlock: Copy {
    /// Size of one block; each implementor checks `size_of::<Self>() == BYTES` at compile time.
    const BYTES: usize;

    /// The f16 stored little-endian at byte `at` of the block, as f32.
    #[inline(always)]
    fn f16_at(&self, at: usize) -> f32 {
        // SAFETY: Self is BYTES plain bytes (the trait's contract).
        let bytes = unsafe { core::slice::from_raw_parts(self as *const Self as *const u8, Self::BYTES) };
        f16([bytes[at], bytes[at + 1]])
    }
}

/// `bytes` as blocks. Panics (caller bug) when the length is not a whole number of blocks.
#[inline(always)]
pub fn as_blocks<B: ByteBlock>(bytes: &[u8]) -> &[B] {
    assert_eq!(bytes.len() % B::BYTES, 0, "not a whole number of {}-byte blocks", B::BYTES);
    // SAFETY: B is align-1 plain bytes of size B::BYTES (ByteBlock contract); the length divides exactly.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr() as *const B, bytes.len() / B::BYTES) }
}

/// `bytes` as mutable blocks. Panics (caller bug) when the length is not a whole number of blocks.
#[inline(always)]
pub fn as_blocks_mut<B: ByteBlock>(bytes: &mut [u8]) -> &mut [B] {
    assert_eq!(bytes.len() % B::BYTES, 0, "not a whole number of {}-byte blocks", B::BYTES);
    // SAFETY: as in `as_blocks`; the borrow is exclusive.
    unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut B, bytes.len() / B::BYTES) }
}

/// An f16 stored little-endian, as f32.
#[inline(always)]
pub fn f16(h: [u8; 2]) -> f32 {
    super::half::f16_to_f32(u16::from_le_bytes(h))
}

/// Implements `ByteBlock` for a block struct and checks its size against ggml's.
macro_rules! byte_block {
    ($block:ty, $bytes:expr) => {
        // SAFETY: the struct is #[repr(C)] with only u8-array fields (checked by review; the size assert catches
        // padding or a wrong field).
        unsafe impl $crate::kernels::block::ByteBlock for $block {
            const BYTES: usize = $bytes;
        }
        const _: () = assert!(core::mem::size_of::<$block>() == $bytes && core::mem::align_of::<$block>() == 1);
    };
}
pub(crate) use byte_block;

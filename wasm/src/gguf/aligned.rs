//! A heap byte buffer aligned to 64 bytes: the tensor arena. Quantized blocks and f32 rows start on
//! aligned addresses (GGUF aligns tensor offsets to 32), so kernels may use aligned SIMD loads.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

pub const ARENA_ALIGN: usize = 64;

pub struct AlignedBytes {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: AlignedBytes uniquely owns its allocation, like a Vec<u8>.
unsafe impl Send for AlignedBytes {}
unsafe impl Sync for AlignedBytes {}

impl AlignedBytes {
    /// `len` zeroed bytes, or `None` when the allocator (WASM memory growth) refuses.
    /// Zeroing skips the pages memory grows by for it (fresh_alloc.rs); it keeps every byte initialised.
    pub fn zeroed(len: usize) -> Option<Self> {
        if len == 0 {
            // A dangling but aligned, non-null pointer is valid for a zero-length slice.
            let ptr = NonNull::new(ARENA_ALIGN as *mut u8)?;
            return Some(AlignedBytes { ptr, len: 0 });
        }
        let layout = Layout::from_size_align(len, ARENA_ALIGN).ok()?;
        // SAFETY: layout has non-zero size.
        let p = unsafe { alloc::alloc_zeroed(layout) };
        NonNull::new(p).map(|ptr| AlignedBytes { ptr, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Deref for AlignedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised bytes (zeroed at allocation) for our lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBytes {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: allocated in `zeroed` with exactly this layout (validated there).
            unsafe {
                alloc::dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.len, ARENA_ALIGN),
                )
            }
        }
    }
}

impl std::fmt::Debug for AlignedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBytes({} bytes @ {:p})", self.len, self.ptr)
    }
}

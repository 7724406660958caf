//! The model layer's error: a stable machine-readable code plus a human message naming the field / value at fault.

use std::fmt;

pub use crate::error::ErrorCode;

/// For `ContextOverflow`: the context the cache holds and the positions the call needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    pub context_length: usize,
    pub requested: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    pub code: ErrorCode,
    pub message: String,
    pub overflow: Option<Overflow>,
}

impl ModelError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ModelError { code, message: message.into(), overflow: None }
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    /// `requested` positions do not fit a context of `context_length`.
    pub fn context_overflow(context_length: usize, requested: usize, message: impl Into<String>) -> Self {
        ModelError { overflow: Some(Overflow { context_length, requested }), ..Self::new(ErrorCode::ContextOverflow, message) }
    }
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ModelFormat, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedModel, message)
    }
    pub fn out_of_memory(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::OutOfMemory, message)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ModelError {}

/// Element types whose all-zero bytes are the value zero, so a zeroed allocation is a valid vector of them.
///
/// # Safety
/// Implement only for types for which every all-zero bit pattern is a valid value.
pub(crate) unsafe trait ZeroBits: Copy {}
// SAFETY: integers and IEEE floats: all-zero bits are 0 / +0.0.
unsafe impl ZeroBits for u8 {}
unsafe impl ZeroBits for u16 {}
unsafe impl ZeroBits for u32 {}
unsafe impl ZeroBits for f32 {}

/// A zero-filled vector of `len` elements, or an `out_of_memory` error naming `what` instead of aborting
/// (wasm32 has at most 4 GiB; a large context or vocabulary must fail cleanly). Allocated zeroed, so the pages
/// memory grows by for it are not written (fresh_alloc.rs): a KV cache's pages are not touched until used.
pub(crate) fn try_zeroed<T: ZeroBits>(len: usize, what: &str) -> Result<Vec<T>, ModelError> {
    let fail = || ModelError::out_of_memory(format!("cannot allocate {what}: {len} elements of {} bytes", std::mem::size_of::<T>()));
    let layout = std::alloc::Layout::array::<T>(len).map_err(|_| fail())?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if p.is_null() {
        return Err(fail());
    }
    // SAFETY: `p` was allocated by the global allocator with `Layout::array::<T>(len)`, as `Vec` would, and its
    // `len` elements are initialised: all-zero bytes are a valid `T` (ZeroBits).
    Ok(unsafe { Vec::from_raw_parts(p, len, len) })
}

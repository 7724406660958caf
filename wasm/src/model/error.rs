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

/// A zero-filled vector of `len` elements, or an `out_of_memory` error naming `what` instead of aborting
/// (wasm32 has at most 4 GiB; a large context or vocabulary must fail cleanly).
pub(crate) fn try_zeroed<T: Clone + Default>(len: usize, what: &str) -> Result<Vec<T>, ModelError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        ModelError::out_of_memory(format!(
            "cannot allocate {what}: {len} elements of {} bytes",
            std::mem::size_of::<T>()
        ))
    })?;
    v.resize(len, T::default());
    Ok(v)
}

//! The model layer's error: a stable machine-readable code plus a human message naming the field / value at fault.

use std::fmt;

/// Stable error codes; the JavaScript library maps the text before the first colon to typed errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The caller passed something out of range (bad token id, bad sequence slot, bad option).
    InvalidArgument,
    /// `start_pos + tokens` would run past the KV cache's context length.
    ContextOverflow,
    /// The file is malformed for this architecture (missing / mis-shaped tensor, missing metadata key).
    ModelFormat,
    /// The file is well formed but asks for something this engine does not implement.
    UnsupportedModel,
    /// An allocation the model needs could not be made.
    OutOfMemory,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::ContextOverflow => "context_overflow",
            ErrorCode::ModelFormat => "model_format",
            ErrorCode::UnsupportedModel => "unsupported_model",
            ErrorCode::OutOfMemory => "out_of_memory",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    pub code: ErrorCode,
    pub message: String,
}

impl ModelError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ModelError { code, message: message.into() }
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn context_overflow(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ContextOverflow, message)
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

//! The one error type of the GGUF layer: what went wrong, in which field, at which byte offset.

use std::fmt;

use crate::error::ErrorCode;

/// Broad class of a GGUF failure, for callers that branch on it (tests, the JS error mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgufErrorKind {
    /// The file does not start with `GGUF` (or is big-endian, which reads as a different magic/version).
    BadMagic,
    /// A GGUF version this reader does not speak (only 2 and 3 are supported).
    UnsupportedVersion,
    /// The bytes end before a field is complete.
    Truncated,
    /// A field holds a value no valid file can have.
    InvalidValue,
    /// A tensor uses a ggml type this engine has no kernels for.
    UnsupportedType,
}

impl GgufErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            GgufErrorKind::BadMagic => "BadMagic",
            GgufErrorKind::UnsupportedVersion => "UnsupportedVersion",
            GgufErrorKind::Truncated => "Truncated",
            GgufErrorKind::InvalidValue => "InvalidValue",
            GgufErrorKind::UnsupportedType => "UnsupportedType",
        }
    }
}

/// A GGUF failure. `field` names the place in the file structure (e.g. `tensor_info[3].dims[1]`),
/// `offset` is the absolute byte offset in the file where that field starts.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufError {
    pub kind: GgufErrorKind,
    pub field: String,
    pub offset: u64,
    pub message: String,
    /// For `Truncated`: the file length that would have let this field be read (reported to JS callers).
    pub needed_len: Option<u64>,
    /// Set when a check above the GGUF layer refused the file (the model does not fit, a tensor has the wrong
    /// shape): that layer's code; the message is then shown alone.
    pub code: Option<ErrorCode>,
}

impl GgufError {
    pub fn new(kind: GgufErrorKind, field: impl Into<String>, offset: u64, message: impl Into<String>) -> Self {
        GgufError {
            kind,
            field: field.into(),
            offset,
            message: message.into(),
            needed_len: None,
            code: None,
        }
    }

    /// A file the model layer refused before its tensor data was allocated.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        let mut e = GgufError::invalid("model", 0, message);
        e.code = Some(code);
        e
    }

    /// The stable error code: the refusing layer's, else one from the kind.
    pub fn code(&self) -> ErrorCode {
        self.code.unwrap_or(match self.kind {
            GgufErrorKind::UnsupportedType | GgufErrorKind::UnsupportedVersion => ErrorCode::UnsupportedModel,
            _ => ErrorCode::ModelFormat,
        })
    }

    pub fn invalid(field: impl Into<String>, offset: u64, message: impl Into<String>) -> Self {
        GgufError::new(GgufErrorKind::InvalidValue, field, offset, message)
    }

    /// `need` bytes were required at `offset` but only `have` remain.
    pub fn truncated(field: impl Into<String>, offset: u64, need: u64, have: u64) -> Self {
        let mut e = GgufError::new(
            GgufErrorKind::Truncated,
            field,
            offset,
            format!("need {need} bytes, have {have}"),
        );
        e.needed_len = Some(offset.saturating_add(need));
        e
    }
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_some() {
            return write!(f, "{}", self.message);
        }
        let what = match self.kind {
            GgufErrorKind::BadMagic => "bad magic in",
            GgufErrorKind::UnsupportedVersion => "unsupported version in",
            GgufErrorKind::Truncated => "truncated while reading",
            GgufErrorKind::InvalidValue => "invalid value in",
            GgufErrorKind::UnsupportedType => "unsupported tensor type in",
        };
        write!(
            f,
            "GGUF: {what} {} at offset {} ({})",
            self.field, self.offset, self.message
        )
    }
}

impl std::error::Error for GgufError {}

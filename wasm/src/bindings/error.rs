//! The one error JavaScript receives from the engine: a numeric code plus typed fields, mapped one to one onto the
//! library's typed errors (lib/engine/errors.ts). No message parsing on either side.

use wasm_bindgen::prelude::*;

use crate::error::ErrorCode;
use crate::gguf::{GgufError, GgufErrorKind};
use crate::model::ModelError;

#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineErrorCode {
    InvalidArgument = 1,
    ContextOverflow = 2,
    ModelFormat = 3,
    UnsupportedModel = 4,
    OutOfMemory = 5,
}

impl From<ErrorCode> for EngineErrorCode {
    fn from(c: ErrorCode) -> Self {
        match c {
            ErrorCode::InvalidArgument => EngineErrorCode::InvalidArgument,
            ErrorCode::ContextOverflow => EngineErrorCode::ContextOverflow,
            ErrorCode::ModelFormat => EngineErrorCode::ModelFormat,
            ErrorCode::UnsupportedModel => EngineErrorCode::UnsupportedModel,
            ErrorCode::OutOfMemory => EngineErrorCode::OutOfMemory,
        }
    }
}

#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug)]
pub struct EngineError {
    #[wasm_bindgen(readonly)]
    pub code: EngineErrorCode,
    #[wasm_bindgen(readonly)]
    pub message: String,
    /// ContextOverflow: the positions the cache holds, and the positions the call needed.
    #[wasm_bindgen(readonly, js_name = contextLength)]
    pub context_length: Option<u32>,
    #[wasm_bindgen(readonly)]
    pub requested: Option<u32>,
    /// A GGUF that ends too early: the length that would let the next field be read (a reader of a growing prefix
    /// reads at least this much next).
    #[wasm_bindgen(readonly, js_name = neededBytes)]
    pub needed_bytes: Option<f64>,
}

impl EngineError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        EngineError { code: code.into(), message: message.into(), context_length: None, requested: None, needed_bytes: None }
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<ModelError> for EngineError {
    fn from(e: ModelError) -> Self {
        let mut out = EngineError::new(e.code, e.message);
        if let Some(o) = e.overflow {
            out.context_length = Some(clamp_u32(o.context_length));
            out.requested = Some(clamp_u32(o.requested));
        }
        out
    }
}

impl From<GgufError> for EngineError {
    fn from(e: GgufError) -> Self {
        let needed_bytes = match e.kind {
            GgufErrorKind::Truncated => e.needed_len.map(|n| n as f64),
            _ => None,
        };
        EngineError { needed_bytes, ..EngineError::new(e.code(), e.to_string()) }
    }
}

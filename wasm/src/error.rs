//! The engine's stable error codes, shared by the gguf and model layers. The bindings hand them to JavaScript as
//! numbers (`EngineErrorCode`), which the library maps one to one onto its typed errors.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The caller passed something out of range (bad token id, bad sequence slot, bad option).
    InvalidArgument,
    /// `start_pos + tokens` would run past the KV cache's context length.
    ContextOverflow,
    /// The file is malformed (bad GGUF, missing / mis-shaped tensor, missing metadata key).
    ModelFormat,
    /// The file is well formed but asks for something this engine does not implement.
    UnsupportedModel,
    /// An allocation the model needs could not be made, or the model exceeds the memory budget.
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

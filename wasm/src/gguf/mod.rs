//! GGUF container: header / metadata / tensor-info reader and the streaming in-place loader.
//!
//! - `parse_header(bytes)`: the header of a whole buffer (or any prefix that holds it).
//! - `StreamLoader`: region/commit protocol that writes each tensor byte once, in place, into a
//!   64-byte-aligned arena; `finish()` gives a `LoadedGguf`.
//! - `load_from_bytes(bytes)`: the same result from a whole buffer.
//! - `repack`: matrices the SIMD tiles read four rows at a time are reordered as they land (`with_repack`).
//!
//! Every failure is a `GgufError` naming the field and byte offset; no input makes this module panic
//! or allocate more than the bytes present justify.

mod aligned;
mod error;
mod header;
mod metadata;
mod reader;
mod repack;
mod scan;
mod stream;

#[cfg(test)]
mod tests;

pub use aligned::{AlignedBytes, ARENA_ALIGN};
pub use error::{GgufError, GgufErrorKind};
pub use header::{parse_header, GgufHeader, TensorInfo, DEFAULT_ALIGNMENT, DEFAULT_MAX_HEADER_BYTES, MAX_DIMS};
pub use metadata::{type_id, MetaArray, MetaValue, StrArray};
pub use repack::RepackPolicy;
pub use stream::{load_from_bytes, load_from_bytes_with, HeaderCheck, LoadLimits, LoadedGguf, StreamLoader};

//! Errors of the kernels' data-facing entry points (quantize / dequantize of caller-provided buffers).

use crate::tensor::DType;
use core::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// The operation has no implementation for this type.
    Unsupported { dtype: DType, op: &'static str },
    /// A buffer's length is not a whole number of blocks (`len` counted in `unit`s).
    BadLength { dtype: DType, what: &'static str, len: usize, multiple: usize, unit: &'static str },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Unsupported { dtype, op } => write!(f, "{op} is not supported for {}", dtype.name()),
            KernelError::BadLength { dtype, what, len, multiple, unit } => write!(
                f,
                "{what} has {len} {unit}, not a multiple of {multiple} ({} block size)",
                dtype.name()
            ),
        }
    }
}

impl std::error::Error for KernelError {}

//! Load-time options of a model instance (context size, KV precision, sequence slots, prefill chunk).

use super::kv_cache::KvType;
use crate::kernels::KernelPath;

#[derive(Clone, Debug, PartialEq)]
pub struct ModelOptions {
    /// KV cache positions per sequence; `None` = min(model context, 2048).
    pub context_length: Option<usize>,
    pub kv_type: KvType,
    /// Bytes the model may hold (weights + KV cache + scratch). With it, an f16 cache that would not fit is stored
    /// Q8_0 instead (when the head size allows), and a model that fits neither way is refused at load.
    pub memory_budget: Option<usize>,
    /// Independent sequence slots in the KV cache.
    pub sequences: usize,
    /// Tokens per prefill chunk (every matmul of a chunk runs over all its tokens at once).
    pub max_batch: usize,
    /// Kernel implementation; `None` = the build's default (SIMD where compiled in).
    pub kernel_path: Option<KernelPath>,
}

pub const DEFAULT_CONTEXT: usize = 2048;
pub const MAX_SEQUENCES: usize = 256;
pub const MAX_BATCH: usize = 512;

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            context_length: None,
            kv_type: KvType::F16,
            memory_budget: None,
            sequences: 1,
            max_batch: 32,
            kernel_path: None,
        }
    }
}

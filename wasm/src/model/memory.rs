//! What the model holds in (WASM) memory, by part, in bytes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Tensor arena as loaded from GGUF plus the decoded norm / bias vectors.
    pub weights: usize,
    pub kv_cache: usize,
    /// Activations, attention scores, RoPE tables, logits and the matmul's quantized-activation buffers.
    pub scratch: usize,
    pub total: usize,
}

impl MemoryReport {
    pub fn new(weights: usize, kv_cache: usize, scratch: usize) -> MemoryReport {
        MemoryReport { weights, kv_cache, scratch, total: weights + kv_cache + scratch }
    }
}

//! The llama-family model: hyper-parameters from GGUF metadata, weight views, KV cache, scratch, forward pass.
//!
//! - `config`: `ModelConfig` from `{arch}.*` metadata (llama, qwen2), validated.
//! - `weights`: tensors bound by name and checked by shape / type; matrices stay in the loaded arena.
//! - `kv_cache`: per-sequence key/value storage (f32 or f16).
//! - `ops`, `rope`, `attention`: the per-token math; `forward`: the batched pass over a chunk of tokens.
//! - `scratch`, `memory`, `options`, `error`, `json`: buffers, accounting, load options, errors, option parsing.

pub mod attention;
pub mod config;
pub mod error;
pub mod forward;
pub mod json;
pub mod kv_cache;
pub mod memory;
pub mod ops;
pub mod options;
pub mod rope;
pub mod scratch;
pub mod weights;

#[cfg(test)]
mod tests;

pub use config::{Architecture, ModelConfig, RopeStyle};
pub use error::{ErrorCode, ModelError};
pub use kv_cache::{KvCache, KvType};
pub use memory::MemoryReport;
pub use options::ModelOptions;

use crate::gguf::{GgufHeader, LoadedGguf};
use crate::kernels::{self, KernelPath};
use rope::Rope;
use scratch::Scratch;
use weights::ModelWeights;

pub struct Model {
    config: ModelConfig,
    /// Owns the tensor arena that `weights` refers into by byte range.
    gguf: LoadedGguf,
    weights: ModelWeights,
    rope: Rope,
    kv: KvCache,
    scratch: Scratch,
    max_batch: usize,
    kernel_path: KernelPath,
    /// Floats of valid logits in `scratch.logits` after the last `forward`.
    logits_len: usize,
}

impl Model {
    pub fn new(gguf: LoadedGguf, options: ModelOptions) -> Result<Model, ModelError> {
        let vocab_size = match gguf.tensor("token_embd.weight") {
            Some((info, _)) => match info.dims.get(1) {
                Some(&v) => usize::try_from(v).unwrap_or(usize::MAX),
                None => {
                    return Err(ModelError::format(format!(
                        "tensor token_embd.weight has shape {:?}, expected [embedding_length, vocab_size]",
                        info.dims
                    )))
                }
            },
            None => {
                return Err(ModelError::format(
                    "missing tensor token_embd.weight (expected shape [embedding_length, vocab_size])",
                ))
            }
        };
        let config = ModelConfig::from_header(&gguf.header, vocab_size)?;
        let context = match options.context_length {
            None => config.context_length.min(options::DEFAULT_CONTEXT),
            Some(c) if c <= config.context_length => c,
            Some(c) => {
                return Err(ModelError::invalid_argument(format!(
                    "contextLength {c} exceeds the model's context_length {}",
                    config.context_length
                )))
            }
        };
        let weights = ModelWeights::bind(&gguf, &config)?;
        let rope = Rope::new(&config, weights.rope_freq_factors.as_deref());
        let kv = KvCache::new(
            options.kv_type,
            config.n_layers,
            options.sequences,
            config.n_kv_heads,
            config.head_dim,
            context,
        )?;
        let max_batch = options.max_batch.min(context);
        let scratch = Scratch::new(&config, max_batch, context)?;
        Ok(Model {
            config,
            gguf,
            weights,
            rope,
            kv,
            scratch,
            max_batch,
            kernel_path: options.kernel_path.unwrap_or_else(kernels::default_path),
            logits_len: 0,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    /// GGUF metadata (tokenizer arrays, chat template) kept for the JavaScript side.
    pub fn header(&self) -> &GgufHeader {
        &self.gguf.header
    }
    pub fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }
    /// KV cache positions per sequence.
    pub fn context_length(&self) -> usize {
        self.kv.capacity()
    }
    pub fn sequences(&self) -> usize {
        self.kv.n_seq()
    }
    pub fn kv_type(&self) -> KvType {
        self.kv.kv_type()
    }
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }
    pub fn kernel_path(&self) -> KernelPath {
        self.kernel_path
    }
    pub fn set_kernel_path(&mut self, path: KernelPath) {
        self.kernel_path = path;
    }

    /// The logits of the last `forward` (empty before the first).
    pub fn logits(&self) -> &[f32] {
        &self.scratch.logits[..self.logits_len]
    }

    pub fn sequence_length(&self, seq: usize) -> Result<usize, ModelError> {
        self.kv.len(seq)
    }
    pub fn reset_sequence(&mut self, seq: usize) -> Result<(), ModelError> {
        self.kv.reset(seq)
    }
    pub fn truncate(&mut self, seq: usize, len: usize) -> Result<(), ModelError> {
        self.kv.truncate(seq, len)
    }

    pub fn memory(&self) -> MemoryReport {
        let decoded: usize = self
            .weights
            .layers
            .iter()
            .map(|l| {
                let bias = |b: &Option<Vec<f32>>| b.as_ref().map_or(0, |v| v.len());
                l.attn_norm.len() + l.ffn_norm.len() + bias(&l.bq) + bias(&l.bk) + bias(&l.bv)
            })
            .sum::<usize>()
            + self.weights.output_norm.len()
            + self.weights.rope_freq_factors.as_ref().map_or(0, |v| v.len());
        MemoryReport::new(self.gguf.data.len() + decoded * 4, self.kv.bytes(), self.scratch.bytes())
    }
}

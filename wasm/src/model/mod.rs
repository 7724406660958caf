//! The llama-family model: hyper-parameters from GGUF metadata, weight views, KV cache, scratch, forward pass.
//!
//! - `config`: `ModelConfig` from `{arch}.*` metadata (llama, qwen2), validated.
//! - `weights`: tensors bound by name and checked by shape / type; matrices stay in the loaded arena.
//! - `kv_cache`: per-sequence key/value storage (f32, f16 or Q8_0).
//! - `ops`, `rope`: the per-token math; `attention`: one token's, or a prompt chunk's in blocks; `forward`: the batched pass
//!   over a chunk of tokens.
//! - `scratch`, `memory`, `options`, `error`, `plan`: buffers, accounting, load options, errors, the load plan.

pub mod attention;
pub mod config;
pub mod error;
pub mod forward;
pub mod kv_cache;
pub mod memory;
pub mod ops;
pub mod options;
pub mod plan;
pub mod rope;
pub mod scratch;
pub mod warm_up;
pub mod weights;

#[cfg(test)]
mod tests;

pub use config::{Architecture, ModelConfig, RopeStyle};
pub use error::{ErrorCode, ModelError};
pub use kv_cache::{KvCache, KvType};
pub use memory::MemoryReport;
pub use options::ModelOptions;
pub use plan::{plan, ModelPlan};
pub use warm_up::warm_up;

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
        let config = ModelConfig::from_header(&gguf.header, plan::vocab_size(&gguf.header)?)?;
        let context = plan::context_length(&options, &config)?;
        let weights = ModelWeights::bind(&gguf, &config)?;
        let rope = Rope::new(&config, weights.rope_freq_factors.as_deref());
        let max_batch = options.max_batch.min(context);
        let q8_row = KvType::Q8_0.row_bytes(config.head_dim).unwrap_or(0);
        let scratch = Scratch::new(&config, max_batch, context, q8_row)?;
        let weight_bytes = weights_bytes(&gguf, &weights);
        let kv_type = choose_kv_type(&options, &config, context, weight_bytes + scratch.bytes())?;
        let kv = KvCache::new(kv_type, config.n_layers, options.sequences, config.n_kv_heads, config.head_dim, context)?;
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
        MemoryReport::new(weights_bytes(&self.gguf, &self.weights), self.kv.bytes(), self.scratch.bytes())
    }
}

/// The tensor arena plus the norm / bias vectors decoded from it.
fn weights_bytes(gguf: &LoadedGguf, weights: &ModelWeights) -> usize {
    let decoded: usize = weights
        .layers
        .iter()
        .map(|l| {
            let bias = |b: &Option<Vec<f32>>| b.as_ref().map_or(0, |v| v.len());
            l.attn_norm.len() + l.ffn_norm.len() + bias(&l.bq) + bias(&l.bk) + bias(&l.bv)
        })
        .sum::<usize>()
        + weights.output_norm.len()
        + weights.rope_freq_factors.as_ref().map_or(0, |v| v.len());
    gguf.data.len() + decoded * 4
}

/// The KV cache type under the memory budget: as asked, except that an f16 cache which would take weights + KV +
/// scratch (`other` = weights + scratch) past the budget is stored Q8_0 when the head size is whole Q8_0 blocks.
/// A model over the budget either way is refused here, with the numbers, rather than at an allocation later.
pub(crate) fn choose_kv_type(options: &ModelOptions, cfg: &ModelConfig, context: usize, other: usize) -> Result<KvType, ModelError> {
    let Some(budget) = options.memory_budget else { return Ok(options.kv_type) };
    let bytes = |t: KvType| KvCache::bytes_for(t, cfg.n_layers, options.sequences, cfg.n_kv_heads, cfg.head_dim, context);
    let fits = |t: KvType| bytes(t).is_some_and(|kv| other.saturating_add(kv) <= budget);
    let kv_type = match options.kv_type {
        KvType::F16 if !fits(KvType::F16) && bytes(KvType::Q8_0).is_some() => KvType::Q8_0,
        t => t,
    };
    if fits(kv_type) {
        return Ok(kv_type);
    }
    const MIB: f64 = 1024.0 * 1024.0;
    Err(ModelError::out_of_memory(format!(
        "weights + scratch {:.1} MiB and a {context}-position {} KV cache {:.1} MiB exceed the memory budget {:.1} MiB: \
         use a smaller contextLength",
        other as f64 / MIB,
        kv_type.name(),
        bytes(kv_type).unwrap_or(usize::MAX) as f64 / MIB,
        budget as f64 / MIB
    )))
}

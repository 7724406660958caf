//! The load plan: everything `Model::new` will check and allocate, worked out from the GGUF header alone, so that a
//! file the engine cannot serve (unsupported type, wrong shapes, a context too long) or one that would not fit the
//! memory budget is refused before its tensor arena is allocated — and so that `models:add` can ask the same.

use super::choose_kv_type;
use super::config::ModelConfig;
use super::error::ModelError;
use super::kv_cache::{KvCache, KvType};
use super::memory::MemoryReport;
use super::options::{ModelOptions, DEFAULT_CONTEXT};
use super::scratch::Scratch;
use super::weights::ModelWeights;
use crate::gguf::GgufHeader;

pub struct ModelPlan {
    pub config: ModelConfig,
    /// KV cache positions per sequence.
    pub context: usize,
    /// Tokens per prefill chunk (the options' `maxBatch`, at most `context`).
    pub max_batch: usize,
    /// The KV cache type (the options', or q8_0 where the memory budget needs it).
    pub kv_type: KvType,
    /// Bytes the model will hold once loaded (the same accounting as `Model::memory`).
    pub memory: MemoryReport,
}

pub fn plan(header: &GgufHeader, options: &ModelOptions) -> Result<ModelPlan, ModelError> {
    let config = ModelConfig::from_header(header, vocab_size(header)?)?;
    let context = context_length(options, &config)?;
    let decoded = ModelWeights::check(header, &config)?;
    let max_batch = options.max_batch.min(context);
    let too_big = || ModelError::out_of_memory("the model's memory size overflows the address space");
    let weights = usize::try_from(header.data_size).ok().and_then(|d| d.checked_add(decoded.checked_mul(4)?)).ok_or_else(too_big)?;
    // As Model::new: scratch first, then the KV type the budget allows (refused here if none fits).
    let q8_row = KvType::Q8_0.row_bytes(config.head_dim).unwrap_or(0);
    let scratch = Scratch::planned_bytes(&config, max_batch, context, q8_row).ok_or_else(too_big)?;
    let kv_type = choose_kv_type(options, &config, context, weights.checked_add(scratch).ok_or_else(too_big)?)?;
    KvCache::row_bytes(kv_type, config.head_dim)?;
    let kv = KvCache::bytes_for(kv_type, config.n_layers, options.sequences, config.n_kv_heads, config.head_dim, context)
        .ok_or_else(too_big)?;
    weights.checked_add(kv).and_then(|n| n.checked_add(scratch)).ok_or_else(too_big)?;
    Ok(ModelPlan { config, context, max_batch, kv_type, memory: MemoryReport::new(weights, kv, scratch) })
}

/// Rows of `token_embd.weight`: the model's vocabulary.
pub fn vocab_size(header: &GgufHeader) -> Result<usize, ModelError> {
    let info = header
        .tensor_info("token_embd.weight")
        .ok_or_else(|| ModelError::format("missing tensor token_embd.weight (expected shape [embedding_length, vocab_size])"))?;
    match info.dims.get(1) {
        Some(&v) => Ok(usize::try_from(v).unwrap_or(usize::MAX)),
        None => Err(ModelError::format(format!(
            "tensor token_embd.weight has shape {:?}, expected [embedding_length, vocab_size]",
            info.dims
        ))),
    }
}

/// The options' context length, or min(the model's, 2048); more than the model was trained for is refused.
pub fn context_length(options: &ModelOptions, config: &ModelConfig) -> Result<usize, ModelError> {
    match options.context_length {
        None => Ok(config.context_length.min(DEFAULT_CONTEXT)),
        Some(c) if c <= config.context_length => Ok(c),
        Some(c) => Err(ModelError::invalid_argument(format!(
            "contextLength {c} exceeds the model's context_length {}",
            config.context_length
        ))),
    }
}

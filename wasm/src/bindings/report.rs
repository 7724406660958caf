//! What the engine reports about a model, as typed objects: its hyper-parameters (`ModelHyperParams`), its memory
//! by part (`MemoryBytes`) and the load plan of a header (`LoadPlan`).

use wasm_bindgen::prelude::*;

use crate::model::{MemoryReport, ModelConfig, ModelPlan, RopeStyle};

use super::options::KvTypeName;

/// The hyper-parameters the engine read from the GGUF header (`{arch}.*` keys) and validated.
#[wasm_bindgen(getter_with_clone, js_name = ModelHyperParams)]
#[derive(Clone, Debug)]
pub struct HyperParams {
    #[wasm_bindgen(readonly)]
    pub architecture: String,
    #[wasm_bindgen(readonly)]
    pub dim: u32,
    #[wasm_bindgen(readonly, js_name = nLayers)]
    pub n_layers: u32,
    #[wasm_bindgen(readonly, js_name = ffnDim)]
    pub ffn_dim: u32,
    #[wasm_bindgen(readonly, js_name = nHeads)]
    pub n_heads: u32,
    #[wasm_bindgen(readonly, js_name = nKvHeads)]
    pub n_kv_heads: u32,
    #[wasm_bindgen(readonly, js_name = headDim)]
    pub head_dim: u32,
    #[wasm_bindgen(readonly, js_name = rmsEps)]
    pub rms_eps: f64,
    /// "normal" (adjacent pairs) or "neox" (pairs i, i + rot/2).
    #[wasm_bindgen(readonly, js_name = ropeStyle)]
    pub rope_style: String,
    #[wasm_bindgen(readonly, js_name = ropeBase)]
    pub rope_base: f64,
    #[wasm_bindgen(readonly, js_name = ropeDim)]
    pub rope_dim: u32,
    #[wasm_bindgen(readonly, js_name = ropeLinearFactor)]
    pub rope_linear_factor: f64,
    /// The context the model was trained for (`{arch}.context_length`).
    #[wasm_bindgen(readonly, js_name = trainedContextLength)]
    pub trained_context_length: u32,
    /// Rows of `token_embd.weight`.
    #[wasm_bindgen(readonly, js_name = vocabSize)]
    pub vocab_size: u32,
}

/// f32 hyper-parameters as the shortest decimal that reads back as the same f32 (1e-5, not 0.000009999999747).
pub(crate) fn f32_value(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
}

impl From<&ModelConfig> for HyperParams {
    fn from(c: &ModelConfig) -> Self {
        let n = |v: usize| v as u32;
        HyperParams {
            architecture: c.arch.name().to_string(),
            dim: n(c.dim),
            n_layers: n(c.n_layers),
            ffn_dim: n(c.ffn_dim),
            n_heads: n(c.n_heads),
            n_kv_heads: n(c.n_kv_heads),
            head_dim: n(c.head_dim),
            rms_eps: f32_value(c.rms_eps),
            rope_style: match c.rope_style {
                RopeStyle::Normal => "normal",
                RopeStyle::NeoX => "neox",
            }
            .to_string(),
            rope_base: f32_value(c.rope_base),
            rope_dim: n(c.rope_dim),
            rope_linear_factor: f32_value(c.rope_linear_factor),
            trained_context_length: n(c.context_length),
            vocab_size: n(c.vocab_size),
        }
    }
}

/// Bytes the model holds in WASM memory, by part.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub struct MemoryBytes {
    /// Tensor arena plus the decoded norm / bias vectors.
    #[wasm_bindgen(readonly)]
    pub weights: f64,
    #[wasm_bindgen(readonly, js_name = kvCache)]
    pub kv_cache: f64,
    /// Activations, attention scores, RoPE tables, logits, quantized activations.
    #[wasm_bindgen(readonly)]
    pub scratch: f64,
    #[wasm_bindgen(readonly)]
    pub total: f64,
}

impl From<MemoryReport> for MemoryBytes {
    fn from(m: MemoryReport) -> Self {
        MemoryBytes { weights: m.weights as f64, kv_cache: m.kv_cache as f64, scratch: m.scratch as f64, total: m.total as f64 }
    }
}

/// What loading a header with given options would check and allocate (see `planModel`).
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug)]
pub struct LoadPlan {
    #[wasm_bindgen(readonly)]
    pub config: HyperParams,
    /// KV cache positions per sequence.
    #[wasm_bindgen(readonly, js_name = contextLength)]
    pub context_length: u32,
    #[wasm_bindgen(readonly, js_name = kvType)]
    pub kv_type: KvTypeName,
    #[wasm_bindgen(readonly)]
    pub memory: MemoryBytes,
}

impl From<&ModelPlan> for LoadPlan {
    fn from(p: &ModelPlan) -> Self {
        LoadPlan {
            config: (&p.config).into(),
            context_length: p.context as u32,
            kv_type: p.kv_type.into(),
            memory: p.memory.into(),
        }
    }
}

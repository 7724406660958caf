//! Hyper-parameters of a llama-family model, read from GGUF metadata (`{arch}.*` keys) and validated.

use super::error::ModelError;
use crate::gguf::GgufHeader;

/// Architectures this engine runs. Both are pre-norm decoder stacks with RMSNorm, RoPE, GQA and SwiGLU;
/// they differ in how RoPE pairs elements and in q/k/v biases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// Llama 2/3, TinyLlama, SmolLM/SmolLM2: rotary pairs are adjacent elements (ggml "normal" RoPE), no biases.
    Llama,
    /// Qwen2 / Qwen2.5: rotary pairs are (i, i + rot/2) (ggml "NeoX" RoPE), biases on q, k and v.
    Qwen2,
}

pub const SUPPORTED_ARCHITECTURES: [&str; 2] = ["llama", "qwen2"];

impl Architecture {
    pub fn from_name(name: &str) -> Option<Architecture> {
        match name {
            "llama" => Some(Architecture::Llama),
            "qwen2" => Some(Architecture::Qwen2),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }
    pub fn rope_style(self) -> RopeStyle {
        match self {
            Architecture::Llama => RopeStyle::Normal,
            Architecture::Qwen2 => RopeStyle::NeoX,
        }
    }
    pub fn has_qkv_bias(self) -> bool {
        matches!(self, Architecture::Qwen2)
    }
}

/// Which elements of a head RoPE rotates together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs (2i, 2i+1).
    Normal,
    /// Pairs (i, i + n_rot/2).
    NeoX,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub arch: Architecture,
    pub dim: usize,
    pub n_layers: usize,
    pub ffn_dim: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub rms_eps: f32,
    pub rope_style: RopeStyle,
    pub rope_base: f32,
    /// Leading elements of each head that RoPE rotates (the rest pass through).
    pub rope_dim: usize,
    /// Linear RoPE scaling: positions are divided by this factor (1 = none).
    pub rope_linear_factor: f32,
    /// Context the model was trained for (GGUF `{arch}.context_length`).
    pub context_length: usize,
    pub vocab_size: usize,
}

// Upper bounds well above any model this engine can hold in wasm32 memory; they reject corrupt metadata early
// and keep every product below (e.g. heads × head_dim × context) far from usize overflow.
const MAX_DIM: usize = 1 << 16;
const MAX_LAYERS: usize = 1 << 10;
const MAX_FFN: usize = 1 << 18;
const MAX_HEADS: usize = 1 << 10;
const MAX_HEAD_DIM: usize = 1 << 12;
const MAX_CONTEXT: usize = 1 << 22;
const MAX_VOCAB: usize = 1 << 22;

impl ModelConfig {
    /// Reads and validates the hyper-parameters. `vocab_size` comes from the token embedding's shape.
    pub fn from_header(header: &GgufHeader, vocab_size: usize) -> Result<ModelConfig, ModelError> {
        let arch_name = header
            .get_str("general.architecture")
            .ok_or_else(|| ModelError::format("missing metadata key general.architecture"))?;
        let arch = Architecture::from_name(arch_name).ok_or_else(|| {
            ModelError::unsupported(format!(
                "architecture '{arch_name}' is not supported (supported: {})",
                SUPPORTED_ARCHITECTURES.join(", ")
            ))
        })?;
        let a = arch.name();
        let key = |k: &str| format!("{a}.{k}");

        let required = |k: &str, max: usize| -> Result<usize, ModelError> {
            let full = key(k);
            let v = header.get_u64(&full).ok_or_else(|| ModelError::format(format!("missing metadata key {full}")))?;
            check_range(&full, v, max)
        };
        let optional = |k: &str, max: usize| -> Result<Option<usize>, ModelError> {
            let full = key(k);
            header.get_u64(&full).map(|v| check_range(&full, v, max)).transpose()
        };

        let dim = required("embedding_length", MAX_DIM)?;
        let n_layers = required("block_count", MAX_LAYERS)?;
        let ffn_dim = required("feed_forward_length", MAX_FFN)?;
        let n_heads = required("attention.head_count", MAX_HEADS)?;
        let n_kv_heads = optional("attention.head_count_kv", MAX_HEADS)?.unwrap_or(n_heads);
        let context_length = required("context_length", MAX_CONTEXT)?;

        if n_heads % n_kv_heads != 0 {
            return Err(ModelError::format(format!(
                "{} = {n_heads} is not a multiple of {} = {n_kv_heads}",
                key("attention.head_count"),
                key("attention.head_count_kv")
            )));
        }
        let head_dim = match optional("attention.key_length", MAX_HEAD_DIM)? {
            Some(h) => h,
            None => {
                if dim % n_heads != 0 {
                    return Err(ModelError::format(format!(
                        "{} = {dim} is not a multiple of {} = {n_heads} (and {} is absent)",
                        key("embedding_length"),
                        key("attention.head_count"),
                        key("attention.key_length")
                    )));
                }
                dim / n_heads
            }
        };
        if let Some(vlen) = optional("attention.value_length", MAX_HEAD_DIM)? {
            if vlen != head_dim {
                return Err(ModelError::unsupported(format!(
                    "{} = {vlen} differs from the key length {head_dim}",
                    key("attention.value_length")
                )));
            }
        }
        let rope_dim = optional("rope.dimension_count", MAX_HEAD_DIM)?.unwrap_or(head_dim);
        if rope_dim > head_dim || rope_dim % 2 != 0 {
            return Err(ModelError::format(format!(
                "{} = {rope_dim} must be even and at most the head dimension {head_dim}",
                key("rope.dimension_count")
            )));
        }

        let eps_key = key("attention.layer_norm_rms_epsilon");
        let rms_eps =
            header.get_f32(&eps_key).ok_or_else(|| ModelError::format(format!("missing metadata key {eps_key}")))?;
        if !(rms_eps.is_finite() && rms_eps > 0.0 && rms_eps < 1.0) {
            return Err(ModelError::format(format!("{eps_key} = {rms_eps} is not in (0, 1)")));
        }

        let base_key = key("rope.freq_base");
        let rope_base = header.get_f32(&base_key).unwrap_or(10000.0);
        if !(rope_base.is_finite() && rope_base > 1.0) {
            return Err(ModelError::format(format!("{base_key} = {rope_base} must be a finite number > 1")));
        }
        let rope_linear_factor = rope_scaling(header, a)?;

        if vocab_size == 0 || vocab_size > MAX_VOCAB {
            return Err(ModelError::format(format!(
                "vocabulary size {vocab_size} (token_embd.weight rows) is not in 1..={MAX_VOCAB}"
            )));
        }

        Ok(ModelConfig {
            arch,
            dim,
            n_layers,
            ffn_dim,
            n_heads,
            n_kv_heads,
            head_dim,
            rms_eps,
            rope_style: arch.rope_style(),
            rope_base,
            rope_dim,
            rope_linear_factor,
            context_length,
            vocab_size,
        })
    }

    /// Width of all query heads together (= dim for most models).
    pub fn q_dim(&self) -> usize {
        self.n_heads * self.head_dim
    }
    /// Width of all key (or value) heads together.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
    /// Query heads per KV head.
    pub fn group_size(&self) -> usize {
        self.n_heads / self.n_kv_heads
    }
}

fn check_range(key: &str, v: u64, max: usize) -> Result<usize, ModelError> {
    if v == 0 || v > max as u64 {
        return Err(ModelError::format(format!("{key} = {v} is not in 1..={max}")));
    }
    Ok(v as usize)
}

/// `{arch}.rope.scaling.type` / `.factor`: none or linear (positions divided by the factor); anything else is refused.
fn rope_scaling(header: &GgufHeader, arch: &str) -> Result<f32, ModelError> {
    let type_key = format!("{arch}.rope.scaling.type");
    let factor_key = format!("{arch}.rope.scaling.factor");
    let factor = header.get_f32(&factor_key);
    match header.get_str(&type_key) {
        None | Some("none") => Ok(1.0),
        Some("linear") => match factor {
            // llama.cpp treats a factor of 0 as "no scaling"
            None => Ok(1.0),
            Some(f) if f == 0.0 || f == 1.0 => Ok(1.0),
            Some(f) if f.is_finite() && f > 0.0 => Ok(f),
            Some(f) => Err(ModelError::format(format!("{factor_key} = {f} must be a positive number"))),
        },
        Some(other) => {
            Err(ModelError::unsupported(format!("{type_key} = '{other}' is not supported (supported: none, linear)")))
        }
    }
}

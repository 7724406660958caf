//! Load-time options of a model instance (context size, KV precision, sequence slots, prefill chunk).

use super::error::ModelError;
use super::json::Json;
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

impl ModelOptions {
    /// Parses `{"contextLength": n, "kvType": "f16"|"f32"|"q8_0", "memoryBudget": bytes, "sequences": n, "maxBatch": n}` (all optional;
    /// an empty string means all defaults). Unknown keys are refused so that typos do not pass silently.
    pub fn from_json(text: &str) -> Result<ModelOptions, ModelError> {
        let mut o = ModelOptions::default();
        if text.trim().is_empty() {
            return Ok(o);
        }
        let bad = |m: String| ModelError::invalid_argument(format!("options: {m}"));
        let v = Json::parse(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let Json::Object(entries) = v else { return Err(bad("expected a JSON object".into())) };
        for (key, value) in &entries {
            match key.as_str() {
                "contextLength" => o.context_length = Some(positive_int(key, value, usize::MAX)?),
                "sequences" => o.sequences = positive_int(key, value, MAX_SEQUENCES)?,
                "memoryBudget" => o.memory_budget = Some(positive_int(key, value, usize::MAX)?),
                "maxBatch" => o.max_batch = positive_int(key, value, MAX_BATCH)?,
                "kvType" => {
                    o.kv_type = value
                        .as_str()
                        .and_then(KvType::from_name)
                        .ok_or_else(|| bad(format!("kvType must be \"f16\", \"f32\" or \"q8_0\", got {}", short(value))))?
                }
                "kernelPath" => {
                    o.kernel_path = Some(match value.as_str() {
                        Some("scalar") => KernelPath::Scalar,
                        Some("simd") => KernelPath::Simd,
                        _ => {
                            return Err(bad(format!("kernelPath must be \"scalar\" or \"simd\", got {}", short(value))))
                        }
                    })
                }
                other => {
                    return Err(bad(format!(
                        "unknown option \"{other}\" (known: contextLength, kvType, memoryBudget, sequences, maxBatch, kernelPath)"
                    )))
                }
            }
        }
        Ok(o)
    }
}

fn positive_int(key: &str, v: &Json, max: usize) -> Result<usize, ModelError> {
    match v.as_f64() {
        Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= max as f64 && n < 9.0e15 => Ok(n as usize),
        _ => Err(ModelError::invalid_argument(format!(
            "options: {key} must be an integer in 1..={max}, got {}",
            short(v)
        ))),
    }
}

fn short(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("\"{}\"", s.chars().take(40).collect::<String>()),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}

//! `EngineOptions`: the load options as a typed object (JS sets its fields; unset means the default), checked here
//! into the core's `ModelOptions` with messages that name the field.

use wasm_bindgen::prelude::*;

use crate::error::ErrorCode;
use crate::kernels::KernelPath;
use crate::model::options::{MAX_BATCH, MAX_SEQUENCES};
use crate::model::{KvType, ModelOptions};

use super::error::EngineError;

#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvTypeName {
    F16 = "f16",
    F32 = "f32",
    Q8_0 = "q8_0",
}

#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelPathName {
    Scalar = "scalar",
    Simd = "simd",
}

impl From<KvType> for KvTypeName {
    fn from(t: KvType) -> Self {
        match t {
            KvType::F16 => KvTypeName::F16,
            KvType::F32 => KvTypeName::F32,
            KvType::Q8_0 => KvTypeName::Q8_0,
        }
    }
}

impl From<KernelPath> for KernelPathName {
    fn from(p: KernelPath) -> Self {
        match p {
            KernelPath::Scalar => KernelPathName::Scalar,
            KernelPath::Simd => KernelPathName::Simd,
        }
    }
}

/// Load options of one model instance; every field is optional.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineOptions {
    /// KV cache positions per sequence (default: min(the model's context, 2048)).
    #[wasm_bindgen(js_name = contextLength)]
    pub context_length: Option<f64>,
    /// KV cache precision (default f16).
    #[wasm_bindgen(js_name = kvType)]
    pub kv_type: Option<KvTypeName>,
    /// Bytes for weights + KV cache + scratch: an f16 cache that would exceed it is stored q8_0.
    #[wasm_bindgen(js_name = memoryBudget)]
    pub memory_budget: Option<f64>,
    /// Independent sequence slots (default 1).
    pub sequences: Option<f64>,
    /// Tokens per prefill chunk (default 32).
    #[wasm_bindgen(js_name = maxBatch)]
    pub max_batch: Option<f64>,
    /// Kernel implementation (default: SIMD where compiled in).
    #[wasm_bindgen(js_name = kernelPath)]
    pub kernel_path: Option<KernelPathName>,
}

#[wasm_bindgen]
impl EngineOptions {
    #[wasm_bindgen(constructor)]
    pub fn new() -> EngineOptions {
        EngineOptions::default()
    }
}

impl EngineOptions {
    pub fn to_model_options(self) -> Result<ModelOptions, EngineError> {
        let d = ModelOptions::default();
        let kv_type = match self.kv_type {
            None => d.kv_type,
            Some(KvTypeName::F16) => KvType::F16,
            Some(KvTypeName::F32) => KvType::F32,
            Some(KvTypeName::Q8_0) => KvType::Q8_0,
            Some(_) => return Err(invalid("options: kvType must be \"f16\", \"f32\" or \"q8_0\"")),
        };
        let kernel_path = match self.kernel_path {
            None => None,
            Some(KernelPathName::Scalar) => Some(KernelPath::Scalar),
            Some(KernelPathName::Simd) => Some(KernelPath::Simd),
            Some(_) => return Err(invalid("options: kernelPath must be \"scalar\" or \"simd\"")),
        };
        Ok(ModelOptions {
            context_length: self.context_length.map(|v| positive_int("contextLength", v, usize::MAX)).transpose()?,
            kv_type,
            memory_budget: self.memory_budget.map(|v| positive_int("memoryBudget", v, usize::MAX)).transpose()?,
            sequences: self.sequences.map_or(Ok(d.sequences), |v| positive_int("sequences", v, MAX_SEQUENCES))?,
            max_batch: self.max_batch.map_or(Ok(d.max_batch), |v| positive_int("maxBatch", v, MAX_BATCH))?,
            kernel_path,
        })
    }
}

fn invalid(message: &str) -> EngineError {
    EngineError::new(ErrorCode::InvalidArgument, message)
}

fn positive_int(key: &str, v: f64, max: usize) -> Result<usize, EngineError> {
    if v >= 1.0 && v.fract() == 0.0 && v <= max as f64 && v < 9.0e15 {
        Ok(v as usize)
    } else {
        Err(invalid(&format!("options: {key} must be an integer in 1..={max}, got {v}")))
    }
}

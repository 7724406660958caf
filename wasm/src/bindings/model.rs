//! JavaScript binding of the model layer: `Engine` owns one loaded model, its KV cache and scratch.
//! Errors are `JsError`s whose message starts with a stable code and a colon (`invalid_argument: …`,
//! `context_overflow: …`, `model_format: …`, `unsupported_model: …`, `out_of_memory: …`).

use wasm_bindgen::prelude::*;

use crate::bindings::gguf::GgufLoader;
use crate::gguf::GgufError;
use crate::model::{Model, ModelError, ModelOptions};

#[wasm_bindgen]
pub struct Engine {
    model: Model,
}

fn js(e: ModelError) -> JsError {
    JsError::new(&e.to_string())
}

/// A loader failure (incomplete or malformed file) in the same code-prefixed form.
pub(crate) fn gguf_js(e: GgufError) -> JsError {
    JsError::new(&format!("{}: {e}", e.code()))
}

#[wasm_bindgen]
impl Engine {
    /// Builds the model from a loader that has received the whole file (the loader is consumed).
    /// `options_json`: `{"contextLength": n, "kvType": "f16"|"f32"|"q8_0", "sequences": n, "maxBatch": n}`, all optional.
    #[wasm_bindgen(constructor)]
    pub fn new(loader: GgufLoader, options_json: &str) -> Result<Engine, JsError> {
        let options = ModelOptions::from_json(options_json).map_err(js)?;
        let loaded = loader.take().map_err(gguf_js)?;
        let model = Model::new(loaded, options).map_err(js)?;
        Ok(Engine { model })
    }

    /// Runs `tokens` at positions `start_pos..` of sequence `seq`; returns a pointer into wasm memory to the f32
    /// logits (`logitsLen()` floats: one row of `vocabSize()` or, with `all_logits`, one row per token).
    /// The view is valid until the next call on this engine.
    pub fn forward(&mut self, seq: u32, tokens: &[u32], start_pos: u32, all_logits: bool) -> Result<u32, JsError> {
        let logits = self.model.forward(seq as usize, tokens, start_pos as usize, all_logits).map_err(js)?;
        Ok(logits.as_ptr() as usize as u32)
    }

    #[wasm_bindgen(js_name = logitsLen)]
    pub fn logits_len(&self) -> u32 {
        self.model.logits().len() as u32
    }

    #[wasm_bindgen(js_name = resetSequence)]
    pub fn reset_sequence(&mut self, seq: u32) -> Result<(), JsError> {
        self.model.reset_sequence(seq as usize).map_err(js)
    }

    pub fn truncate(&mut self, seq: u32, len: u32) -> Result<(), JsError> {
        self.model.truncate(seq as usize, len as usize).map_err(js)
    }

    #[wasm_bindgen(js_name = sequenceLength)]
    pub fn sequence_length(&self, seq: u32) -> Result<u32, JsError> {
        self.model.sequence_length(seq as usize).map(|n| n as u32).map_err(js)
    }

    /// Hyper-parameters plus this instance's settings, as JSON.
    #[wasm_bindgen(js_name = configJson)]
    pub fn config_json(&self) -> String {
        let m = &self.model;
        let cfg = m.config().to_json();
        format!(
            "{},\"contextLength\":{},\"kvType\":\"{}\",\"sequences\":{},\"maxBatch\":{},\"kernelPath\":\"{}\"}}",
            &cfg[..cfg.len() - 1],
            m.context_length(),
            m.kv_type().name(),
            m.sequences(),
            m.max_batch(),
            match m.kernel_path() {
                crate::kernels::KernelPath::Scalar => "scalar",
                crate::kernels::KernelPath::Simd => "simd",
            }
        )
    }

    /// `{"weights","kvCache","scratch","total"}` in bytes.
    #[wasm_bindgen(js_name = memoryJson)]
    pub fn memory_json(&self) -> String {
        self.model.memory().to_json()
    }

    /// GGUF metadata (tokenizer arrays, chat template, …) in the loader's `headerJson` shape, without tensors.
    #[wasm_bindgen(js_name = metadataJson)]
    pub fn metadata_json(&self) -> String {
        self.model.header().to_json(false)
    }

    #[wasm_bindgen(js_name = vocabSize)]
    pub fn vocab_size(&self) -> u32 {
        self.model.vocab_size() as u32
    }
}

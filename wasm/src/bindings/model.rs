//! JavaScript binding of the model layer: `Engine` owns one loaded model, its KV cache and scratch.
//! Every failure is an `EngineError` (numeric code + typed fields).

use wasm_bindgen::prelude::*;

use crate::bindings::error::EngineError;
use crate::bindings::gguf::GgufLoader;
use crate::bindings::header::header_to_js;
use crate::bindings::vocabulary::vocabulary_to_js;
use crate::bindings::options::{EngineOptions, KernelPathName, KvTypeName};
use crate::bindings::report::{HyperParams, MemoryBytes};
use crate::model::Model;

#[wasm_bindgen]
pub struct Engine {
    model: Model,
}

#[wasm_bindgen]
impl Engine {
    /// Builds the model from a loader that has received the whole file (the loader is consumed).
    #[wasm_bindgen(constructor)]
    pub fn new(loader: GgufLoader, options: EngineOptions) -> Result<Engine, EngineError> {
        let options = options.to_model_options()?;
        let loaded = loader.into_loaded()?;
        let model = Model::new(loaded, options)?;
        Ok(Engine { model })
    }

    /// Runs `tokens` at positions `start_pos..` of sequence `seq`; returns a pointer into wasm memory to the f32
    /// logits (`logitsLen()` floats: one row of `vocabSize()` or, with `all_logits`, one row per token).
    /// The view is valid until the next call on this engine.
    pub fn forward(&mut self, seq: u32, tokens: &[u32], start_pos: u32, all_logits: bool) -> Result<u32, EngineError> {
        let logits = self.model.forward(seq as usize, tokens, start_pos as usize, all_logits)?;
        Ok(logits.as_ptr() as usize as u32)
    }

    #[wasm_bindgen(js_name = logitsLen)]
    pub fn logits_len(&self) -> u32 {
        self.model.logits().len() as u32
    }

    #[wasm_bindgen(js_name = resetSequence)]
    pub fn reset_sequence(&mut self, seq: u32) -> Result<(), EngineError> {
        Ok(self.model.reset_sequence(seq as usize)?)
    }

    pub fn truncate(&mut self, seq: u32, len: u32) -> Result<(), EngineError> {
        Ok(self.model.truncate(seq as usize, len as usize)?)
    }

    #[wasm_bindgen(js_name = sequenceLength)]
    pub fn sequence_length(&self, seq: u32) -> Result<u32, EngineError> {
        Ok(self.model.sequence_length(seq as usize)? as u32)
    }

    /// The hyper-parameters the engine parsed from the header.
    #[wasm_bindgen(js_name = hyperParams)]
    pub fn hyper_params(&self) -> HyperParams {
        self.model.config().into()
    }

    /// KV cache positions per sequence.
    #[wasm_bindgen(js_name = contextLength)]
    pub fn context_length(&self) -> u32 {
        self.model.context_length() as u32
    }

    /// The KV cache type in use (chosen under the memory budget when not given).
    #[wasm_bindgen(js_name = kvType)]
    pub fn kv_type(&self) -> KvTypeName {
        self.model.kv_type().into()
    }

    pub fn sequences(&self) -> u32 {
        self.model.sequences() as u32
    }

    #[wasm_bindgen(js_name = maxBatch)]
    pub fn max_batch(&self) -> u32 {
        self.model.max_batch() as u32
    }

    #[wasm_bindgen(js_name = kernelPath)]
    pub fn kernel_path(&self) -> KernelPathName {
        self.model.kernel_path().into()
    }

    pub fn memory(&self) -> MemoryBytes {
        self.model.memory().into()
    }

    /// GGUF metadata (tokenizer arrays, chat template, …) in `readGgufHeader`'s shape, without tensors;
    /// `vocabulary: false` leaves out the tokens and merges string arrays (see `vocabulary()`).
    pub fn header(&self, vocabulary: Option<bool>) -> JsValue {
        header_to_js(self.model.header(), false, vocabulary.unwrap_or(true))
    }

    /// The tokens and merges in compact form (bindings/vocabulary.rs).
    pub fn vocabulary(&self) -> JsValue {
        vocabulary_to_js(self.model.header())
    }

    #[wasm_bindgen(js_name = vocabSize)]
    pub fn vocab_size(&self) -> u32 {
        self.model.vocab_size() as u32
    }
}

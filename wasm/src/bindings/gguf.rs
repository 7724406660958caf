//! JavaScript binding of the gguf layer: the header as a JS object, the load plan, and the streaming loader's
//! region/commit protocol.
//!
//! JS loop (memory may grow inside `commit`, so build a fresh view of `memory.buffer` for every region):
//! ```js
//! const loader = new GgufLoader(maxBytes);
//! for await (let chunk of stream) {
//!   while (chunk.length) {
//!     const ptr = loader.nextRegion(chunk.length), len = loader.regionLen();
//!     new Uint8Array(wasm.memory.buffer, ptr, len).set(chunk.subarray(0, len));
//!     loader.commit(len); chunk = chunk.subarray(len);
//!   }
//! }
//! const engine = new Engine(loader, options);   // consumes the loader (Rust: `GgufLoader::into_loaded`)
//! ```

use wasm_bindgen::prelude::*;

use crate::bindings::error::EngineError;
use crate::bindings::header::header_to_js;
use crate::bindings::options::EngineOptions;
use crate::bindings::report::{HyperParams, LoadPlan};
use crate::bindings::vocabulary::vocabulary_to_js;
use crate::error::ErrorCode;
use crate::gguf::{parse_header, GgufError, GgufHeader, HeaderCheck, LoadLimits, LoadedGguf, StreamLoader};
use crate::model::{plan, ModelConfig, ModelError, ModelOptions};

fn refused(e: ModelError) -> GgufError {
    GgufError::refused(e.code, e.message)
}

/// The checks a load makes on the header before allocating: the tensors lie inside the object (`size`), and the
/// model is one the engine can run with these options — types, shapes, and weights + KV cache + scratch within the
/// options' memoryBudget (see `plan`).
fn load_check(size: Option<u64>, options: Option<ModelOptions>) -> HeaderCheck {
    Box::new(move |h: &GgufHeader| {
        let need = h.file_size_needed();
        if let Some(size) = size.filter(|&s| need > s) {
            return Err(GgufError::refused(
                ErrorCode::ModelFormat,
                format!(
                    "GGUF: the header describes {need} bytes of header and tensor data, but the file has {size} bytes \
                     (a tensor's dimensions are wrong, or the file is truncated)"
                ),
            ));
        }
        match &options {
            Some(options) => plan(h, options).map(|_| ()).map_err(refused),
            None => Ok(()),
        }
    })
}

/// A positive finite byte count from JS, or `None`.
fn bytes_arg(v: Option<f64>) -> Option<u64> {
    v.filter(|v| v.is_finite() && *v > 0.0).map(|v| v as u64)
}

/// Everything a load of this header with `options` would check and allocate; the engine's own error
/// (UnsupportedModel, ModelFormat, OutOfMemory) for a file it cannot serve — the very checks `GgufLoader` runs before
/// allocating, so `models:add` refuses what the Worker would. `bytes`: the file, or a prefix holding the whole
/// header; `size`: the file's length (tensors extending past it are refused).
#[wasm_bindgen(js_name = planModel)]
pub fn plan_model(bytes: &[u8], options: EngineOptions, size: Option<f64>) -> Result<LoadPlan, EngineError> {
    let header = parse_header(bytes)?;
    let options = options.to_model_options()?;
    load_check(bytes_arg(size), Some(options.clone()))(&header)?;
    Ok((&plan(&header, &options)?).into())
}

/// The hyper-parameters of the model whose header starts `bytes`, parsed and validated as a load would.
#[wasm_bindgen(js_name = readHyperParams)]
pub fn read_hyper_params(bytes: &[u8]) -> Result<HyperParams, EngineError> {
    let header = parse_header(bytes)?;
    Ok((&ModelConfig::from_header(&header, crate::model::plan::vocab_size(&header)?)?).into())
}

/// Parses the GGUF header at the start of `bytes` (the whole file or a prefix holding the header) into a plain
/// object: `{version, alignment, dataOffset, metadata, tensors?}` (see bindings/header.rs). `vocabulary: false`
/// leaves out the tokens and merges string arrays (see `readGgufVocabulary`).
#[wasm_bindgen(js_name = readGgufHeader)]
pub fn read_gguf_header(bytes: &[u8], include_tensors: bool, vocabulary: Option<bool>) -> Result<JsValue, EngineError> {
    Ok(header_to_js(&parse_header(bytes)?, include_tensors, vocabulary.unwrap_or(true)))
}

/// The tokens and merges of the GGUF header at the start of `bytes`, in the loader's compact form
/// (bindings/vocabulary.rs).
#[wasm_bindgen(js_name = readGgufVocabulary)]
pub fn read_gguf_vocabulary(bytes: &[u8]) -> Result<JsValue, EngineError> {
    Ok(vocabulary_to_js(&parse_header(bytes)?))
}

/// Streaming GGUF loader: each tensor byte is copied once, from the network chunk into its final place.
#[wasm_bindgen]
pub struct GgufLoader {
    inner: Option<StreamLoader>,
    region_len: usize,
    /// The options the model will be built with (the warm-up mirrors them).
    options: ModelOptions,
}

impl GgufLoader {
    fn loader(&mut self) -> Result<&mut StreamLoader, GgufError> {
        self.inner
            .as_mut()
            .ok_or_else(|| GgufError::invalid("loader", 0, "this GgufLoader was already consumed"))
    }

    /// Rust-only: the loaded file, for the model binding (which takes the `GgufLoader` by value).
    pub fn into_loaded(self) -> Result<LoadedGguf, GgufError> {
        match self.inner {
            Some(l) => l.finish(),
            None => Err(GgufError::invalid("loader", 0, "this GgufLoader was already consumed")),
        }
    }

    /// Rust-only: the parsed header, once available.
    pub fn header(&self) -> Option<&crate::gguf::GgufHeader> {
        self.inner.as_ref()?.header()
    }
}

#[wasm_bindgen]
impl GgufLoader {
    /// `max_bytes`: the largest file accepted; non-finite or ≤ 0 means no limit beyond what 32-bit WASM memory can
    /// hold. `size`: the object's length when known (a header whose tensors extend past it is refused).
    /// `options` (the `Engine` options this file will be loaded with): the model is planned from its header and
    /// refused — before the tensor data is allocated — if the engine cannot run it or if weights + KV cache +
    /// scratch exceed the options' `memoryBudget`.
    #[wasm_bindgen(constructor)]
    pub fn new(max_bytes: f64, size: Option<f64>, options: Option<EngineOptions>) -> Result<GgufLoader, EngineError> {
        let size = bytes_arg(size);
        let cap = [bytes_arg(Some(max_bytes)), size].into_iter().flatten().min();
        let limits = cap.map_or_else(LoadLimits::default, LoadLimits::with_max_total);
        let options: Option<ModelOptions> = options.map(EngineOptions::to_model_options).transpose()?;
        let warm = options.clone().unwrap_or_default();
        let loader = StreamLoader::new(limits).with_check(load_check(size, options)).with_repack(crate::kernels::repack::group_repack);
        Ok(GgufLoader { inner: Some(loader), region_len: 0, options: warm })
    }

    /// Pointer (into WASM memory) of the region for the next at most `want` bytes; its length is `regionLen()`.
    #[wasm_bindgen(js_name = nextRegion)]
    pub fn next_region(&mut self, want: usize) -> Result<u32, EngineError> {
        let region = self.loader()?.next_region(want)?;
        let ptr = region.as_mut_ptr() as usize as u32;
        self.region_len = region.len();
        Ok(ptr)
    }

    /// Length of the region returned by the last `nextRegion`.
    #[wasm_bindgen(js_name = regionLen)]
    pub fn region_len(&self) -> usize {
        self.region_len
    }

    /// `n` bytes were written into the last region.
    pub fn commit(&mut self, n: usize) -> Result<(), EngineError> {
        self.region_len = 0;
        Ok(self.loader()?.commit(n)?)
    }

    #[wasm_bindgen(js_name = headerReady)]
    pub fn header_ready(&self) -> bool {
        self.header().is_some()
    }

    /// The header as a plain object (see `readGgufHeader`); an error until `headerReady()`. `vocabulary: false`
    /// leaves out the tokens and merges string arrays, which `vocabulary()` hands over compactly.
    #[wasm_bindgen(js_name = readHeader)]
    pub fn read_header(&self, include_tensors: bool, vocabulary: Option<bool>) -> Result<JsValue, EngineError> {
        self.ready_header().map(|h| header_to_js(h, include_tensors, vocabulary.unwrap_or(true)))
    }

    /// The tokens and merges in compact form (see bindings/vocabulary.rs); an error until `headerReady()`.
    pub fn vocabulary(&self) -> Result<JsValue, EngineError> {
        self.ready_header().map(vocabulary_to_js)
    }

    /// Runs a tiny model of this file's kind (model/warm_up.rs) so that the kernels its first prefill needs are
    /// compiled while the weights still stream; an error until `headerReady()`.
    #[wasm_bindgen(js_name = warmUp)]
    pub fn warm_up(&self) -> Result<(), EngineError> {
        Ok(crate::model::warm_up(self.ready_header()?, &self.options, Some(crate::kernels::repack::group_repack))?)
    }

    fn ready_header(&self) -> Result<&GgufHeader, EngineError> {
        self.header()
            .ok_or_else(|| EngineError::new(ErrorCode::InvalidArgument, "GGUF: the header has not been received yet"))
    }

    #[wasm_bindgen(js_name = bytesReceived)]
    pub fn bytes_received(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |l| l.bytes_received() as f64)
    }

    /// Total bytes the file must have (header + tensor data), NaN until the header is parsed.
    #[wasm_bindgen(js_name = expectedSize)]
    pub fn expected_size(&self) -> f64 {
        self.inner
            .as_ref()
            .and_then(|l| l.expected_size())
            .map_or(f64::NAN, |s| s as f64)
    }
}

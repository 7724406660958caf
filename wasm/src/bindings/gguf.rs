//! JavaScript binding of the gguf layer: header → JSON, and the streaming loader's region/commit protocol.
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
//! const engine = new Engine(loader, ...);   // consumes the loader (Rust: `GgufLoader::into_loaded`)
//! ```

use wasm_bindgen::prelude::*;

use crate::gguf::{parse_header, GgufError, GgufHeader, HeaderCheck, LoadLimits, LoadedGguf, StreamLoader};
use crate::model::{plan, ModelError, ModelOptions, ModelPlan};

/// `code: message`, the form the JS error mapping reads (`model_format: GGUF: …`, `unsupported_model: …`).
fn js_err(e: GgufError) -> JsError {
    crate::bindings::model::gguf_js(e)
}

fn refused(e: ModelError) -> GgufError {
    GgufError::refused(e.code.as_str(), e.message)
}

/// The checks a load makes on the header before allocating: the tensors lie inside the object (`size`), and the
/// model is one the engine can run with these options — types, shapes, and weights + KV cache + scratch within the
/// options' memoryBudget (see `plan`).
fn load_check(size: Option<u64>, options: Option<ModelOptions>) -> HeaderCheck {
    Box::new(move |h: &GgufHeader| {
        let need = h.file_size_needed();
        if let Some(size) = size.filter(|&s| need > s) {
            return Err(GgufError::refused(
                "model_format",
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

/// Everything a load of this header with `options_json` would check and allocate, as JSON:
/// `{"config":{…},"contextLength","memory":{"weights","kvCache","scratch","total"}}`; the engine's own error
/// (`unsupported_model: …`, `model_format: …`) for a file it cannot serve — the very checks `GgufLoader` runs
/// before allocating, so `models:add` refuses what the Worker would. `bytes`: the file, or a prefix holding the
/// whole header; `size`: the file's length (tensors extending past it are refused).
#[wasm_bindgen(js_name = planModel)]
pub fn plan_model(bytes: &[u8], options_json: &str, size: Option<f64>) -> Result<String, JsError> {
    let header = parse_header(bytes).map_err(js_err)?;
    let options = ModelOptions::from_json(options_json).map_err(|e| JsError::new(&e.to_string()))?;
    load_check(bytes_arg(size), Some(options.clone()))(&header).map_err(js_err)?;
    let ModelPlan { config, context, memory, .. } = plan(&header, &options).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(format!("{{\"config\":{},\"contextLength\":{context},\"memory\":{}}}", config.to_json(), memory.to_json()))
}

/// Parses the GGUF header at the start of `bytes` (the whole file or a prefix holding the header) and
/// returns it as JSON: `{"version","alignment","dataOffset","metadata":{...},"tensors":[...]}`.
#[wasm_bindgen(js_name = readGgufHeader)]
pub fn read_gguf_header(bytes: &[u8], include_tensors: bool) -> Result<String, JsError> {
    parse_header(bytes).map(|h| h.to_json(include_tensors)).map_err(js_err)
}

/// Streaming GGUF loader: each tensor byte is copied once, from the network chunk into its final place.
#[wasm_bindgen]
pub struct GgufLoader {
    inner: Option<StreamLoader>,
    region_len: usize,
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

    /// Same as `into_loaded`.
    pub fn take(self) -> Result<LoadedGguf, GgufError> {
        self.into_loaded()
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
    /// `options_json` (the `Engine` options this file will be loaded with): the model is planned from its header and
    /// refused — before the tensor data is allocated — if the engine cannot run it or if weights + KV cache +
    /// scratch exceed the options' `memoryBudget`.
    #[wasm_bindgen(constructor)]
    pub fn new(max_bytes: f64, size: Option<f64>, options_json: Option<String>) -> Result<GgufLoader, JsError> {
        let size = bytes_arg(size);
        let cap = [bytes_arg(Some(max_bytes)), size].into_iter().flatten().min();
        let limits = cap.map_or_else(LoadLimits::default, LoadLimits::with_max_total);
        let options = match options_json {
            Some(text) => Some(ModelOptions::from_json(&text).map_err(|e| JsError::new(&e.to_string()))?),
            None => None,
        };
        let loader = StreamLoader::new(limits).with_check(load_check(size, options));
        Ok(GgufLoader { inner: Some(loader), region_len: 0 })
    }

    /// Pointer (into WASM memory) of the region for the next at most `want` bytes; its length is `regionLen()`.
    #[wasm_bindgen(js_name = nextRegion)]
    pub fn next_region(&mut self, want: usize) -> Result<u32, JsError> {
        let region = self.loader().map_err(js_err)?.next_region(want).map_err(js_err)?;
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
    pub fn commit(&mut self, n: usize) -> Result<(), JsError> {
        self.region_len = 0;
        self.loader().map_err(js_err)?.commit(n).map_err(js_err)
    }

    #[wasm_bindgen(js_name = headerReady)]
    pub fn header_ready(&self) -> bool {
        self.header().is_some()
    }

    /// The header as JSON (see `readGgufHeader`); an error until `headerReady()`.
    #[wasm_bindgen(js_name = headerJson)]
    pub fn header_json(&self, include_tensors: bool) -> Result<String, JsError> {
        self.header()
            .map(|h| h.to_json(include_tensors))
            .ok_or_else(|| JsError::new("GGUF: the header has not been received yet"))
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

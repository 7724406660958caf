//! JavaScript binding of the kernels layer's format conversions (the library re-quantizes state dicts with them;
//! the converter scripts encode GGUF tensors). The diagnostic entry points are in `checks`, outside production.

use crate::kernels;
use crate::tensor::DType;
use wasm_bindgen::prelude::*;

pub(crate) fn parse_dtype(name: &str) -> Result<DType, JsError> {
    DType::from_name(name).ok_or_else(|| JsError::new(&format!("unknown dtype {name:?}")))
}

/// f32 values → ggml blocks of `dtype` (e.g. "Q4_0"); the length must be a multiple of the block size.
#[wasm_bindgen]
pub fn quantize(dtype: &str, values: &[f32]) -> Result<Vec<u8>, JsError> {
    let mut out = Vec::new();
    kernels::quantize(parse_dtype(dtype)?, values, &mut out).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}

/// ggml blocks of `dtype` → f32 values; the length must be a whole number of blocks.
#[wasm_bindgen]
pub fn dequantize(dtype: &str, bytes: &[u8]) -> Result<Vec<f32>, JsError> {
    let mut out = Vec::new();
    kernels::dequantize(parse_dtype(dtype)?, bytes, &mut out).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}

//! Diagnostic entry points that run one kernel path on caller data (like llama.cpp's test-backend-ops), for the
//! kernel agreement tests and micro-benchmarks. Only in builds with the `checks` feature (wasm/pkg-checks, made by
//! `ELLM_WASM_CHECKS=1 scripts/build-wasm`): the production engine does not carry them.

use super::kernels::parse_dtype;
use crate::kernels::{self, KernelPath, MatmulScratch};
use crate::model::attention::{attend, attend_prompt, AttentionScratch, AttentionSite, Heads, PromptSite};
use crate::model::{KvCache, KvType};
use crate::tensor::{Layout, TensorView};
use wasm_bindgen::prelude::*;

fn parse_path(name: &str) -> Result<KernelPath, JsError> {
    match name {
        "scalar" => Ok(KernelPath::Scalar),
        "simd" => Ok(KernelPath::Simd),
        _ => Err(JsError::new(&format!("unknown kernel path {name:?} (expected \"scalar\" or \"simd\")"))),
    }
}

/// Q8_0 blocks of `values` (a multiple of 32) made on the "scalar" or "simd" path: the activation quantizer the
/// matmul uses, exposed so tests can check the two paths give identical bytes.
#[wasm_bindgen(js_name = quantizeQ8_0Check)]
pub fn quantize_q8_0_check(path: &str, values: &[f32]) -> Result<Vec<u8>, JsError> {
    let path = parse_path(path)?;
    if values.len() % 32 != 0 {
        return Err(JsError::new(&format!("values: {} is not a multiple of 32", values.len())));
    }
    let mut out = vec![0u8; values.len() / 32 * 34];
    kernels::quantize_q8_0_with(path, values, &mut out);
    Ok(out)
}

/// Validates a matmul request and builds the weight view.
fn matmul_inputs<'a>(
    dtype: &str,
    rows: usize,
    cols: usize,
    weights: &'a [u8],
    x: &[f32],
    n_tokens: usize,
) -> Result<TensorView<'a>, JsError> {
    let dtype = parse_dtype(dtype)?;
    if !kernels::is_supported(dtype) {
        return Err(JsError::new(&format!("matmul has no kernels for {}", dtype.name())));
    }
    let w = TensorView::new(dtype, rows, cols, weights).ok_or_else(|| {
        let need = dtype.row_bytes(cols).and_then(|rb| rb.checked_mul(rows));
        match need {
            Some(need) => JsError::new(&format!("weights: {} bytes, {rows}×{cols} {} needs {need}", weights.len(), dtype.name())),
            None => JsError::new(&format!("cols {cols} is not a multiple of the {} block size {}", dtype.name(), dtype.block_len())),
        }
    })?;
    if Some(x.len()) != n_tokens.checked_mul(cols) {
        return Err(JsError::new(&format!("x: {} values, expected nTokens {n_tokens} × cols {cols}", x.len())));
    }
    Ok(w)
}

/// out (nTokens × rows, row-major per token) = W (rows × cols of `dtype` blocks) · x (nTokens × cols), on
/// the "scalar" or "simd" path; run `iterations` times (default 1) on the same inputs (one copy in, one scratch),
/// for timing from JS. `interleaved`: W is given repacked as the loader does (`repackCheck`).
#[wasm_bindgen(js_name = matmulCheck)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_check(
    path: &str,
    dtype: &str,
    rows: usize,
    cols: usize,
    weights: &[u8],
    x: &[f32],
    #[wasm_bindgen(js_name = nTokens)] n_tokens: usize,
    iterations: Option<u32>,
    interleaved: Option<bool>,
) -> Result<Vec<f32>, JsError> {
    let path = parse_path(path)?;
    let layout = if interleaved.unwrap_or(false) { Layout::Interleaved4 } else { Layout::RowMajor };
    let w = TensorView { layout, ..matmul_inputs(dtype, rows, cols, weights, x, n_tokens)? };
    let mut scratch = MatmulScratch::new(n_tokens, cols);
    let mut out = vec![0.0; n_tokens * rows];
    for _ in 0..iterations.unwrap_or(1).max(1) {
        kernels::matmul_with(path, &w, x, n_tokens, &mut out, &mut scratch);
    }
    Ok(out)
}

/// W (rows × cols of `dtype` blocks, row-major) repacked as the loader repacks it on this build, for
/// `matmulCheck(..., interleaved = true)`.
#[wasm_bindgen(js_name = repackCheck)]
pub fn repack_check(dtype: &str, rows: usize, mut weights: Vec<u8>) -> Result<Vec<u8>, JsError> {
    let dtype = parse_dtype(dtype)?;
    if kernels::repack::group_repack(dtype).is_none() {
        return Err(JsError::new(&format!("{} weights are not repacked on this build", dtype.name())));
    }
    if rows == 0 || weights.len() % rows != 0 || weights.len() / rows % dtype.block_bytes() != 0 {
        return Err(JsError::new(&format!("weights: {} bytes are not {rows} rows of whole {} blocks", weights.len(), dtype.name())));
    }
    kernels::repack::pack_matrix(dtype, &mut weights, rows);
    Ok(weights)
}

/// Runs one `vec` primitive on a path. `op`: "dot_f32" → [a·b]; "dot_f16" → [f16(a)·b]; "axpy_f32" → a + alpha·b;
/// "axpy_f16" → a + alpha·f16(b); "dot_q8_0" → [q8(a)·q8(b)]; "axpy_q8_0" → a + alpha·q8(b); "to_f16" → the f16
/// bit patterns of a (as numbers). f16 and Q8_0 inputs are made with the scalar converters, so only the op under
/// test differs between paths; the Q8_0 ops need lengths that are multiples of 32. "group_f16": `a` holds 1–4 query
/// heads of width `alpha`, `b` rows of that width used as both f16 keys and values; returns the grouped scores and
/// weighted sums (`scores_f16_with`, `weighted_sum_f16_with`), then the same from head-by-head `dot_f16` / `axpy_f16`.
/// "round_f16" → a rounded to f16; "round_weights_f16" → the same by the softmax weights' rounding (a in [0, 1]).
/// "exp" → e^a; "silu_mul" → a / (1 + e^-a) · b.
#[wasm_bindgen(js_name = vecCheck)]
pub fn vec_check(op: &str, path: &str, a: &[f32], b: &[f32], alpha: f32) -> Result<Vec<f32>, JsError> {
    let path = parse_path(path)?;
    let to_f16 = |v: &[f32]| {
        let mut h = vec![0u16; v.len()];
        kernels::f32_to_f16_slice_with(KernelPath::Scalar, v, &mut h);
        h
    };
    let same_len = || {
        if a.len() == b.len() {
            Ok(())
        } else {
            Err(JsError::new(&format!("a has {} values, b has {}", a.len(), b.len())))
        }
    };
    match op {
        "dot_f32" => {
            same_len()?;
            Ok(vec![kernels::dot_f32_with(path, a, b)])
        }
        "dot_f16" => {
            same_len()?;
            Ok(vec![kernels::dot_f16_f32_with(path, &to_f16(a), b)])
        }
        "axpy_f32" => {
            same_len()?;
            let mut y = a.to_vec();
            kernels::axpy_f32_with(path, &mut y, alpha, b);
            Ok(y)
        }
        "axpy_f16" => {
            same_len()?;
            let mut y = a.to_vec();
            kernels::axpy_f16_with(path, &mut y, alpha, &to_f16(b));
            Ok(y)
        }
        "dot_q8_0" | "axpy_q8_0" => {
            same_len()?;
            if a.len() % 32 != 0 {
                return Err(JsError::new(&format!("{op}: {} values is not a multiple of 32", a.len())));
            }
            let q8 = |v: &[f32]| {
                let mut q = vec![0u8; v.len() / 32 * 34];
                kernels::quantize_q8_0_with(KernelPath::Scalar, v, &mut q);
                q
            };
            if op == "dot_q8_0" {
                return Ok(vec![kernels::dot_q8_0_with(path, &q8(a), &q8(b))]);
            }
            let mut y = a.to_vec();
            kernels::axpy_q8_0_with(path, &mut y, alpha, &q8(b));
            Ok(y)
        }
        "group_f16" => group_f16(path, a, &to_f16(b), alpha),
        "round_f16" => {
            let mut y = a.to_vec();
            kernels::round_to_f16_with(path, &mut y);
            Ok(y)
        }
        "exp" => {
            let mut y = a.to_vec();
            kernels::exp_in_place_with(path, &mut y);
            Ok(y)
        }
        "silu_mul" => {
            same_len()?;
            let mut y = a.to_vec();
            kernels::silu_mul_with(path, &mut y, b);
            Ok(y)
        }
        "round_weights_f16" => {
            let mut y = a.to_vec();
            kernels::round_weights_to_f16_with(path, &mut y);
            Ok(y)
        }
        "to_f16" => {
            let mut h = vec![0u16; a.len()];
            kernels::f32_to_f16_slice_with(path, a, &mut h);
            Ok(h.into_iter().map(f32::from).collect())
        }
        _ => Err(JsError::new(&format!("unknown vec op {op:?}"))),
    }
}

/// The "group_f16" case of `vec_check`.
fn group_f16(path: KernelPath, q: &[f32], rows: &[u16], dim: f32) -> Result<Vec<f32>, JsError> {
    let dim = dim as usize;
    if dim == 0 || q.len() % dim != 0 || !(1..=4).contains(&(q.len() / dim)) || rows.len() % dim != 0 || rows.is_empty() {
        return Err(JsError::new("group_f16: a must hold 1 to 4 heads of width alpha, b whole rows of it"));
    }
    let (heads, n) = (q.len() / dim, rows.len() / dim);
    let weights: Vec<f32> = (0..heads * n).map(|i| 1.0 / (1.0 + i as f32)).collect();
    let (mut scores, mut sums) = (vec![0.0f32; heads * n], vec![0.0f32; heads * dim]);
    fn grouped<const N: usize>(path: KernelPath, q: &[f32], rows: &[u16], w: &[f32], scores: &mut [f32], sums: &mut [f32]) {
        let dim = q.len() / N;
        let qs: [&[f32]; N] = core::array::from_fn(|h| &q[h * dim..(h + 1) * dim]);
        kernels::scores_f16_with::<N>(path, rows, qs, 0.125, scores);
        kernels::weighted_sum_f16_with::<N>(path, rows, w, sums);
    }
    match heads {
        1 => grouped::<1>(path, q, rows, &weights, &mut scores, &mut sums),
        2 => grouped::<2>(path, q, rows, &weights, &mut scores, &mut sums),
        3 => grouped::<3>(path, q, rows, &weights, &mut scores, &mut sums),
        _ => grouped::<4>(path, q, rows, &weights, &mut scores, &mut sums),
    }
    let mut out = [scores, sums].concat();
    for h in 0..heads {
        let qh = &q[h * dim..(h + 1) * dim];
        out.extend(rows.chunks_exact(dim).map(|r| kernels::dot_f16_f32_with(path, r, qh) * 0.125));
    }
    for h in 0..heads {
        let mut y = vec![0.0f32; dim];
        for (p, r) in rows.chunks_exact(dim).enumerate() {
            kernels::axpy_f16_with(path, &mut y, weights[h * n + p], r);
        }
        out.extend(y);
    }
    Ok(out)
}

/// Prompt attention on a path: `keys` and `values` (`positions × nKvHeads × headDim`) are cached as `kvType`
/// ("f32", "f16", "q8_0"), then the last `q.length / (nHeads × headDim)` positions attend (so `pos0` = positions −
/// tokens are cached before them). Returns `attend_prompt`'s outputs followed by `attend`'s, token by token.
#[wasm_bindgen(js_name = attentionCheck)]
#[allow(clippy::too_many_arguments)]
pub fn attention_check(
    path: &str,
    #[wasm_bindgen(js_name = kvType)] kv_type: &str,
    #[wasm_bindgen(js_name = nHeads)] n_heads: usize,
    #[wasm_bindgen(js_name = nKvHeads)] n_kv_heads: usize,
    #[wasm_bindgen(js_name = headDim)] head_dim: usize,
    q: &[f32],
    keys: &[f32],
    values: &[f32],
) -> Result<Vec<f32>, JsError> {
    let path = parse_path(path)?;
    let kv_type = KvType::from_name(kv_type).ok_or_else(|| JsError::new(&format!("unknown kvType {kv_type:?}")))?;
    let (q_dim, kv_dim) = (n_heads * head_dim, n_kv_heads * head_dim);
    if head_dim == 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0 || q.is_empty() || q.len() % q_dim != 0 {
        return Err(JsError::new("attentionCheck: q must be whole tokens of nHeads × headDim, nHeads a multiple of nKvHeads"));
    }
    if keys.len() != values.len() || keys.len() % kv_dim != 0 || keys.len() / kv_dim < q.len() / q_dim {
        return Err(JsError::new("attentionCheck: keys and values must be the same whole positions, at least one per token"));
    }
    let (n, cap) = (q.len() / q_dim, keys.len() / kv_dim);
    let mut kv = KvCache::new(kv_type, 1, 1, n_kv_heads, head_dim, cap).map_err(|e| JsError::new(&e.to_string()))?;
    for p in 0..cap {
        kv.write(path, 0, 0, p, &keys[p * kv_dim..(p + 1) * kv_dim], &values[p * kv_dim..(p + 1) * kv_dim]);
    }
    let heads = Heads { n_heads, n_kv_heads, head_dim };
    let q8_row = KvType::Q8_0.row_bytes(head_dim).unwrap_or(0);
    let mut w = AttentionScratch::new(head_dim, cap, q8_row).map_err(|e| JsError::new(&e.to_string()))?;
    let pos0 = cap - n;
    let mut out = vec![0.0f32; 2 * n * q_dim];
    let (blocks, tokens) = out.split_at_mut(n * q_dim);
    attend_prompt(path, &kv, &PromptSite { layer: 0, seq: 0, pos0, n_tokens: n }, heads, &mut q.to_vec(), &mut w, blocks);
    let mut qt = q.to_vec();
    for t in 0..n {
        let r = t * q_dim..(t + 1) * q_dim;
        attend(path, &kv, &AttentionSite { layer: 0, seq: 0, n_pos: pos0 + t + 1 }, heads, &mut qt[r.clone()], &mut w.scores, &mut w.q8, &mut tokens[r]);
    }
    Ok(out)
}

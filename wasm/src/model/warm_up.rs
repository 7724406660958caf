//! Warm-up: a model of the loading model's kind — same architecture, tensor types, head size and head grouping, KV
//! cache type and kernel path, but narrow layers and a handful of rows — run through a short prefill and decode steps
//! while the real weights still stream in.
//!
//! Why: V8 compiles WASM functions lazily in its baseline tier and recompiles the hot ones with TurboFan on
//! background threads. A fresh isolate's first prefill otherwise runs its kernels in the baseline tier for most of
//! the prompt; run here, the tier-up compiles overlap the weight download instead of the first request's prefill.

use super::config::ModelConfig;
use super::error::ModelError;
use super::options::ModelOptions;
use super::{plan, Model};
use crate::gguf::{GgufError, GgufHeader, LoadedGguf, MetaValue, RepackPolicy};
use crate::tensor::DType;

/// Prefill lengths, alternating by round: every token block the matmul sweeps take. From 8 tokens on the Q8_0-partnered
/// sweeps run blocks of 4 with converted row scales (kernels of their own), so 11 = 4 + 4 with them, then 2 + 1;
/// 7 = 4 + 2 + 1 without.
const PREFILLS: [usize; 2] = [11, 7];
const PREFILL: usize = PREFILLS[0];
/// Decode steps after each prefill.
const DECODE: usize = 2;
/// Prefill + decode rounds: enough work for V8 to tier the kernels up.
const ROUNDS: usize = 8;
const VOCAB: usize = 64;

/// Runs the warm-up model for `header` loaded with `options` (matrices repacked as `repack` accepts). Models it
/// cannot mirror cheaply are skipped; an error means the mirror failed to build or run.
pub fn warm_up(header: &GgufHeader, options: &ModelOptions, repack: Option<RepackPolicy>) -> Result<(), ModelError> {
    let planned = plan(header, options)?;
    let Some(shape) = Shape::of(header, &planned.config) else { return Ok(()) };
    let mirror = shape.header(header, &planned.config)?;
    let loaded = LoadedGguf::zeroed(mirror, repack).map_err(mirror_error)?;
    let tiny = ModelOptions {
        context_length: Some(ROUNDS * (PREFILL + DECODE)),
        kv_type: planned.kv_type,
        memory_budget: None,
        sequences: 1,
        max_batch: PREFILL,
        kernel_path: options.kernel_path,
    };
    let mut model = Model::new(loaded, tiny)?;
    let tokens: Vec<u32> = (0..PREFILL as u32).collect();
    for round in 0..ROUNDS {
        let n = PREFILLS[round % PREFILLS.len()];
        model.forward(0, &tokens[..n], 0, false)?;
        for step in 0..DECODE {
            model.forward(0, &[step as u32], n + step, false)?;
        }
    }
    Ok(())
}

/// The mirror's widths, and the tensor types each per-layer tensor takes across the model's layers.
struct Shape {
    dim: usize,
    ffn: usize,
    heads: usize,
    kv_heads: usize,
    /// Layers: enough to give every type a tensor takes anywhere in the model one layer of its own.
    layers: usize,
    /// For each of `LAYER_TENSORS` the model has, its distinct types in layer order (layer l of the mirror takes
    /// type l mod their count).
    types: Vec<(&'static str, Vec<DType>)>,
}

/// The per-layer tensors, without the `blk.N.` prefix (their dims in the mirror: `Shape::header`).
const LAYER_TENSORS: [&str; 12] = [
    "attn_norm.weight",
    "attn_q.weight",
    "attn_k.weight",
    "attn_v.weight",
    "attn_output.weight",
    "attn_q.bias",
    "attn_k.bias",
    "attn_v.bias",
    "ffn_norm.weight",
    "ffn_gate.weight",
    "ffn_up.weight",
    "ffn_down.weight",
];

impl Shape {
    fn of(header: &GgufHeader, cfg: &ModelConfig) -> Option<Shape> {
        let block = header.tensors().iter().map(|t| t.dtype.block_len()).max()?.max(32);
        let group = cfg.n_heads / cfg.n_kv_heads;
        // The fewest KV heads for which every width is whole blocks.
        let kv_heads = (1..=8).find(|k| (k * cfg.head_dim) % block == 0 && (k * group * cfg.head_dim) % block == 0)?;
        let types: Vec<_> = LAYER_TENSORS
            .iter()
            .map(|&role| (role, layer_types(header, cfg, role)))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        let layers = types.iter().map(|(_, t)| t.len()).max().unwrap_or(1);
        let dim = block.max(128);
        Some(Shape { dim, ffn: 2 * dim, heads: kv_heads * group, kv_heads, layers, types })
    }

    fn header(&self, real: &GgufHeader, cfg: &ModelConfig) -> Result<GgufHeader, ModelError> {
        let arch = cfg.arch.name();
        let (d, f, q, kv, hd) = (self.dim, self.ffn, self.heads * cfg.head_dim, self.kv_heads * cfg.head_dim, cfg.head_dim);
        let overrides = [
            ("embedding_length", d),
            ("block_count", self.layers),
            ("feed_forward_length", f),
            ("attention.head_count", self.heads),
            ("attention.head_count_kv", self.kv_heads),
            ("attention.key_length", hd),
            ("attention.value_length", hd),
        ];
        let mut metadata: Vec<(String, MetaValue)> = vec![("general.architecture".into(), MetaValue::Str(arch.into()))];
        let prefix = format!("{arch}.");
        for (key, value) in real.metadata() {
            let overridden = overrides.iter().any(|(k, _)| key.strip_prefix(&prefix) == Some(k));
            if key.starts_with(&prefix) && !overridden && !matches!(value, MetaValue::Array(_)) {
                metadata.push((key.clone(), value.clone()));
            }
        }
        metadata.extend(overrides.iter().map(|(k, v)| (format!("{prefix}{k}"), MetaValue::U32(*v as u32))));

        let dims = |role: &str| -> Vec<u64> {
            let v = match role {
                "attn_q.weight" => vec![d, q],
                "attn_k.weight" | "attn_v.weight" => vec![d, kv],
                "attn_output.weight" => vec![q, d],
                "attn_q.bias" => vec![q],
                "attn_k.bias" | "attn_v.bias" => vec![kv],
                "ffn_gate.weight" | "ffn_up.weight" => vec![d, f],
                "ffn_down.weight" => vec![f, d],
                _ => vec![d], // the norms
            };
            v.into_iter().map(|x| x as u64).collect()
        };
        let mut tensors = Vec::new();
        let mut global = |name: &str, dims: Vec<u64>| {
            if let Some(t) = real.tensor_info(name) {
                tensors.push((name.to_string(), dims, t.dtype));
            }
        };
        global("token_embd.weight", vec![d as u64, VOCAB as u64]);
        global("output.weight", vec![d as u64, VOCAB as u64]);
        global("output_norm.weight", vec![d as u64]);
        if let Some(t) = real.tensor_info("rope_freqs.weight") {
            tensors.push(("rope_freqs.weight".into(), t.dims.clone(), t.dtype));
        }
        for (role, types) in &self.types {
            for l in 0..self.layers {
                tensors.push((format!("blk.{l}.{role}"), dims(role), types[l % types.len()]));
            }
        }
        GgufHeader::in_memory(metadata, tensors).map_err(mirror_error)
    }
}

fn mirror_error(e: GgufError) -> ModelError {
    ModelError::format(format!("warm-up model: {e}"))
}

/// The distinct types `role` has across the model's layers, in layer order.
fn layer_types(header: &GgufHeader, cfg: &ModelConfig, role: &str) -> Vec<DType> {
    let mut types = Vec::new();
    for l in 0..cfg.n_layers {
        if let Some(t) = header.tensor_info(&format!("blk.{l}.{role}")) {
            if !types.contains(&t.dtype) {
                types.push(t.dtype);
            }
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels;
    use crate::model::KvType;

    /// A llama-shaped header (4 heads, 2 KV heads of 64, dim 256, 2 layers) whose layer-`l` matrices take
    /// `types[l % len]`; `qwen2` adds the q/k/v biases.
    fn model_header(types: &[DType], qwen2: bool) -> GgufHeader {
        let arch = if qwen2 { "qwen2" } else { "llama" };
        let n = |k: &str, v: u32| (format!("{arch}.{k}"), MetaValue::U32(v));
        let mut metadata = vec![("general.architecture".to_string(), MetaValue::Str(arch.into()))];
        metadata.extend([
            n("embedding_length", 256),
            n("block_count", 2),
            n("feed_forward_length", 512),
            n("attention.head_count", 4),
            n("attention.head_count_kv", 2),
            n("context_length", 128),
        ]);
        metadata.push((format!("{arch}.attention.layer_norm_rms_epsilon"), MetaValue::F32(1e-5)));
        let mut tensors = vec![
            ("token_embd.weight".to_string(), vec![256, 300], DType::Q8_0),
            ("output_norm.weight".to_string(), vec![256], DType::F32),
        ];
        for l in 0..2 {
            let t = types[l % types.len()];
            let mut add = |name: &str, dims: Vec<u64>, dtype: DType| tensors.push((format!("blk.{l}.{name}"), dims, dtype));
            add("attn_norm.weight", vec![256], DType::F32);
            add("attn_q.weight", vec![256, 256], t);
            add("attn_k.weight", vec![256, 128], t);
            add("attn_v.weight", vec![256, 128], t);
            add("attn_output.weight", vec![256, 256], t);
            if qwen2 {
                add("attn_q.bias", vec![256], DType::F32);
                add("attn_k.bias", vec![128], DType::F32);
                add("attn_v.bias", vec![128], DType::F32);
            }
            add("ffn_norm.weight", vec![256], DType::F32);
            add("ffn_gate.weight", vec![256, 512], t);
            add("ffn_up.weight", vec![256, 512], t);
            add("ffn_down.weight", vec![512, 256], t);
        }
        GgufHeader::in_memory(metadata, tensors).unwrap()
    }

    #[test]
    fn runs_for_every_weight_type_and_kv_type() {
        for dtype in DType::ALL.into_iter().filter(|&t| kernels::is_supported(t)) {
            for kv_type in [KvType::F32, KvType::F16, KvType::Q8_0] {
                let options = ModelOptions { kv_type, ..ModelOptions::default() };
                warm_up(&model_header(&[dtype], false), &options, Some(kernels::repack::group_repack))
                    .unwrap_or_else(|e| panic!("{dtype:?} with a {kv_type:?} cache: {e}"));
            }
        }
    }

    #[test]
    fn every_layer_type_gets_a_layer_of_its_own() {
        let header = model_header(&[DType::Q4_K, DType::Q6_K], true);
        let planned = plan(&header, &ModelOptions::default()).unwrap();
        let shape = Shape::of(&header, &planned.config).unwrap();
        assert_eq!(shape.layers, 2);
        let mirror = shape.header(&header, &planned.config).unwrap();
        let types: Vec<DType> = (0..2).map(|l| mirror.tensor_info(&format!("blk.{l}.ffn_down.weight")).unwrap().dtype).collect();
        assert_eq!(types, [DType::Q4_K, DType::Q6_K]);
        // K-quant rows are 256 wide: every width of the mirror is whole blocks.
        assert_eq!((shape.dim % 256, (shape.heads * 64) % 256, (shape.kv_heads * 64) % 256), (0, 0, 0));
        assert!(mirror.tensor_info("blk.0.attn_k.bias").is_some());
        warm_up(&header, &ModelOptions::default(), None).unwrap();
    }

    #[test]
    fn a_model_the_engine_refuses_is_refused_here_too() {
        let mut header = model_header(&[DType::Q4_0], false);
        header = GgufHeader::in_memory(
            header.metadata().iter().filter(|(k, _)| k != "llama.embedding_length").cloned().collect(),
            header.tensors().iter().map(|t| (t.name.clone(), t.dims.clone(), t.dtype)).collect(),
        )
        .unwrap();
        assert!(warm_up(&header, &ModelOptions::default(), None).is_err());
    }
}

//! Binds GGUF tensors to the model's weights: matrices stay in the loaded arena (stored as byte ranges, turned into
//! `TensorView`s on use, so the model can own the arena without self-referential borrows); the small 1-D norms and
//! biases are decoded once into f32 vectors (a few KB, and no unaligned casts of arena bytes).

use std::cell::Cell;

use super::config::ModelConfig;
use super::error::ModelError;
use crate::gguf::{GgufHeader, LoadedGguf};
use crate::kernels;
use crate::tensor::{DType, Layout, TensorView};

/// A 2-D weight matrix: `rows` rows of `cols` elements at `start..start + len` of the arena, in `layout` order.
#[derive(Clone, Debug)]
pub struct MatrixRef {
    pub dtype: DType,
    pub rows: usize,
    pub cols: usize,
    pub start: usize,
    pub len: usize,
    pub layout: Layout,
}

impl MatrixRef {
    /// The view over `arena`, which must be the arena this reference was bound against.
    pub fn view<'a>(&self, arena: &'a [u8]) -> TensorView<'a> {
        TensorView {
            dtype: self.dtype,
            rows: self.rows,
            cols: self.cols,
            data: &arena[self.start..self.start + self.len],
            layout: self.layout,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub wq: MatrixRef,
    pub wk: MatrixRef,
    pub wv: MatrixRef,
    pub wo: MatrixRef,
    pub bq: Option<Vec<f32>>,
    pub bk: Option<Vec<f32>>,
    pub bv: Option<Vec<f32>>,
    pub ffn_norm: Vec<f32>,
    pub ffn_gate: MatrixRef,
    pub ffn_up: MatrixRef,
    pub ffn_down: MatrixRef,
}

#[derive(Clone, Debug)]
pub struct ModelWeights {
    pub token_embd: MatrixRef,
    pub output_norm: Vec<f32>,
    /// The classifier; a copy of `token_embd`'s reference when the file ties them (no `output.weight`).
    pub output: MatrixRef,
    pub tied_output: bool,
    pub layers: Vec<LayerWeights>,
    /// Per-frequency RoPE divisors (`rope_freqs.weight`, Llama 3.1+ style), when the file has them.
    pub rope_freq_factors: Option<Vec<f32>>,
}

impl ModelWeights {
    pub fn bind(gguf: &LoadedGguf, cfg: &ModelConfig) -> Result<ModelWeights, ModelError> {
        Self::bind_with(&Binder { header: &gguf.header, gguf: Some(gguf), decoded: Cell::new(0) }, cfg)
    }

    /// The same checks from the header alone (names, shapes, types, byte sizes), before any tensor data exists;
    /// returns how many f32s the norms and biases will decode to.
    pub fn check(header: &GgufHeader, cfg: &ModelConfig) -> Result<usize, ModelError> {
        let b = Binder { header, gguf: None, decoded: Cell::new(0) };
        Self::bind_with(&b, cfg)?;
        Ok(b.decoded.get())
    }

    fn bind_with(b: &Binder, cfg: &ModelConfig) -> Result<ModelWeights, ModelError> {
        let (dim, q_dim, kv_dim, ffn) = (cfg.dim, cfg.q_dim(), cfg.kv_dim(), cfg.ffn_dim);
        let token_embd = b.matrix("token_embd.weight", cfg.vocab_size, dim)?;
        let (output, tied_output) = if b.has("output.weight") {
            (b.matrix("output.weight", cfg.vocab_size, dim)?, false)
        } else {
            (token_embd.clone(), true)
        };
        let output_norm = b.vector("output_norm.weight", dim)?;
        let mut layers = Vec::with_capacity(cfg.n_layers);
        for l in 0..cfg.n_layers {
            let n = |s: &str| format!("blk.{l}.{s}");
            let bias = |s: &str, len: usize| -> Result<Option<Vec<f32>>, ModelError> {
                if cfg.arch.has_qkv_bias() {
                    b.vector(&n(s), len).map(Some)
                } else {
                    Ok(None)
                }
            };
            layers.push(LayerWeights {
                attn_norm: b.vector(&n("attn_norm.weight"), dim)?,
                wq: b.matrix(&n("attn_q.weight"), q_dim, dim)?,
                wk: b.matrix(&n("attn_k.weight"), kv_dim, dim)?,
                wv: b.matrix(&n("attn_v.weight"), kv_dim, dim)?,
                wo: b.matrix(&n("attn_output.weight"), dim, q_dim)?,
                bq: bias("attn_q.bias", q_dim)?,
                bk: bias("attn_k.bias", kv_dim)?,
                bv: bias("attn_v.bias", kv_dim)?,
                ffn_norm: b.vector(&n("ffn_norm.weight"), dim)?,
                ffn_gate: b.matrix(&n("ffn_gate.weight"), ffn, dim)?,
                ffn_up: b.matrix(&n("ffn_up.weight"), ffn, dim)?,
                ffn_down: b.matrix(&n("ffn_down.weight"), dim, ffn)?,
            });
        }
        let rope_freq_factors =
            if b.has("rope_freqs.weight") { Some(b.vector("rope_freqs.weight", cfg.rope_dim / 2)?) } else { None };
        Ok(ModelWeights { token_embd, output_norm, output, tied_output, layers, rope_freq_factors })
    }
}

struct Binder<'a> {
    header: &'a GgufHeader,
    /// The loaded arena; `None` checks the header alone (nothing is decoded, matrices get no position).
    gguf: Option<&'a LoadedGguf>,
    /// f32s the bound vectors decode to.
    decoded: Cell<usize>,
}

impl Binder<'_> {
    fn has(&self, name: &str) -> bool {
        self.header.tensor_info(name).is_some()
    }

    /// GGUF dims are innermost first: a matrix of `rows` × `cols` is `[cols, rows]` (trailing 1s allowed).
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<MatrixRef, ModelError> {
        let info = self
            .header
            .tensor_info(name)
            .ok_or_else(|| ModelError::format(format!("missing tensor {name} (expected shape [{cols}, {rows}])")))?;
        if !shape_is(&info.dims, &[cols, rows]) {
            return Err(ModelError::format(format!(
                "tensor {name} has shape {:?}, expected [{cols}, {rows}]",
                info.dims
            )));
        }
        if !kernels::is_supported(info.dtype) {
            return Err(ModelError::unsupported(format!(
                "tensor {name} has type {}, which has no matmul kernel (supported weight types: {})",
                info.dtype.name(),
                kernels::supported_names()
            )));
        }
        let row_bytes = info.dtype.row_bytes(cols).ok_or_else(|| {
            ModelError::format(format!(
                "tensor {name}: {cols} columns is not a whole number of {} blocks of {}",
                info.dtype.name(),
                info.dtype.block_len()
            ))
        })?;
        let len = row_bytes.checked_mul(rows).ok_or_else(|| {
            ModelError::format(format!("tensor {name}: {rows} rows of {row_bytes} bytes overflow the address space"))
        })?;
        if info.n_bytes != len as u64 {
            return Err(ModelError::format(format!(
                "tensor {name} holds {} bytes, expected {len} for {rows} rows of {cols} {}",
                info.n_bytes,
                info.dtype.name()
            )));
        }
        let (start, layout) = match self.gguf {
            Some(gguf) => (offset_of(gguf, name, self.data(gguf, name)?)?, gguf.layout(name).unwrap_or_default()),
            None => (0, Layout::RowMajor),
        };
        Ok(MatrixRef { dtype: info.dtype, rows, cols, start, len, layout })
    }

    /// A 1-D F32 (or F16) tensor of `len` elements, decoded to f32.
    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        let info = self
            .header
            .tensor_info(name)
            .ok_or_else(|| ModelError::format(format!("missing tensor {name} (expected shape [{len}])")))?;
        if !shape_is(&info.dims, &[len]) {
            return Err(ModelError::format(format!("tensor {name} has shape {:?}, expected [{len}]", info.dims)));
        }
        let elem = match info.dtype {
            DType::F32 => 4,
            DType::F16 => 2,
            other => {
                return Err(ModelError::unsupported(format!(
                    "tensor {name} has type {}, expected F32 (or F16)",
                    other.name()
                )))
            }
        };
        if info.n_bytes != (len as u64) * elem as u64 {
            return Err(ModelError::format(format!("tensor {name} holds {} bytes, expected {len} × {elem}", info.n_bytes)));
        }
        self.decoded.set(self.decoded.get() + len);
        let Some(gguf) = self.gguf else { return Ok(Vec::new()) };
        let bytes = self.data(gguf, name)?;
        let values: Vec<f32> = match info.dtype {
            DType::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            _ => bytes.chunks_exact(2).map(|c| kernels::f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect(),
        };
        // Norm scales and biases are a few KB: a NaN or infinity there is a broken file, and would otherwise turn
        // every logit into NaN (sampled as token 0) instead of an error.
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::format(format!(
                "tensor {name} has a non-finite value ({}) at index {i}: the model file is corrupt",
                values[i]
            )));
        }
        Ok(values)
    }

    fn data<'g>(&self, gguf: &'g LoadedGguf, name: &str) -> Result<&'g [u8], ModelError> {
        gguf.tensor(name)
            .map(|(_, bytes)| bytes)
            .ok_or_else(|| ModelError::format(format!("tensor {name}: its data is not inside the loaded tensor arena")))
    }
}

/// Where `bytes` (a sub-slice handed out by `LoadedGguf::tensor`) starts inside the arena.
fn offset_of(gguf: &LoadedGguf, name: &str, bytes: &[u8]) -> Result<usize, ModelError> {
    let arena: &[u8] = &gguf.data;
    match (bytes.as_ptr() as usize).checked_sub(arena.as_ptr() as usize) {
        Some(off) if off + bytes.len() <= arena.len() => Ok(off),
        _ => Err(ModelError::format(format!("tensor {name}: its data is not inside the loaded tensor arena"))),
    }
}

/// `dims` equals `want`, ignoring trailing dimensions of 1.
fn shape_is(dims: &[u64], want: &[usize]) -> bool {
    let mut d = dims.to_vec();
    while d.len() > want.len() && d.last() == Some(&1) {
        d.pop();
    }
    d.len() == want.len() && d.iter().zip(want).all(|(&a, &b)| a == b as u64)
}

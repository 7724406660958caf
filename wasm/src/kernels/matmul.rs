//! The matmul the model calls: quantizes the activations once into the weight format's partner (Q8_0 for the
//! 32-value block formats, Q8_K for the K-quants and IQ4_XS, none for float weights), then sweeps the weights in
//! tiles of up to 4 rows × 8 tokens (4 × 4 for the Q8_0-partnered formats, whose 16 integer sums fill the 16 v128
//! registers) so each weight block is read from memory once per token block rather than once
//! per token. Also the format-generic quantize / dequantize entry points.

use super::error::KernelError;
use super::{block256, block32, float, iq4_nl, iq4_xs, q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0, q8_k};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::tile_rows::TileRows;
use crate::tensor::{DType, TensorView};

/// Which implementation runs the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelPath {
    /// Portable scalar reference code.
    Scalar,
    /// SIMD128 code; the same as `Scalar` on builds without simd128.
    Simd,
}

/// The fastest path this build has.
pub fn default_path() -> KernelPath {
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        KernelPath::Simd
    } else {
        KernelPath::Scalar
    }
}

/// Whether `matmul` has kernels for weights of this type.
pub fn is_supported(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F16 | DType::BF16) || is_q8_partnered(dtype) || is_q8k_partnered(dtype)
}

/// The weight types `matmul` runs, comma-separated (for error messages that name what is supported).
pub fn supported_names() -> String {
    DType::ALL.iter().filter(|t| is_supported(**t)).map(|t| t.name()).collect::<Vec<_>>().join(", ")
}

/// The 32-value block formats, dotted with Q8_0 activations through `q8_tiles` on SIMD builds.
pub(super) fn is_q8_partnered(dtype: DType) -> bool {
    matches!(dtype, DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 | DType::IQ4_NL)
}

/// The 256-value super-block formats, dotted with Q8_K activations.
fn is_q8k_partnered(dtype: DType) -> bool {
    matches!(dtype, DType::Q2_K | DType::Q3_K | DType::Q4_K | DType::Q5_K | DType::Q6_K | DType::IQ4_XS)
}

/// Whether `quantize` / `dequantize` / `dequantize_row` handle this type.
pub fn can_convert(dtype: DType) -> bool {
    is_supported(dtype) || dtype == DType::Q8_K
}

/// Reusable buffers for matmul (quantized activations); allocated once per model, never per token.
pub struct MatmulScratch {
    activations: Vec<u8>,
    /// The SIMD Q8_0-partner tiles' widened copy of the Q8_0 activations (see `q8_tiles`); empty elsewhere.
    wide: WideScratch,
}

/// Buffers of `q8_tiles::WideActivations`, per activation block: 32 i16, a scale, the offset's bias and d · Σ q;
/// and the weights' f32 row scales for a run of groups (`q8_tiles::RowScales`, fixed size).
#[derive(Default)]
struct WideScratch {
    x16: Vec<i16>,
    d: Vec<f32>,
    bias: Vec<i32>,
    d_sum: Vec<f32>,
    scales: Vec<f32>,
}

/// Floats of `WideScratch::scales`: the f32 scales of 227 groups of 18 blocks (SmolLM2-135M's 576 columns), 85
/// of 48; larger matrices are swept in runs of groups that fit. 64 KiB.
const ROW_SCALE_FLOATS: usize = 16 * 1024;

impl WideScratch {
    /// Room for `blocks` activation blocks (only SIMD builds use it).
    fn ensure(&mut self, blocks: usize) {
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) && self.d.len() < blocks {
            self.x16.resize(blocks * 32, 0);
            self.d.resize(blocks, 0.0);
            self.bias.resize(blocks, 0);
            self.d_sum.resize(blocks, 0.0);
            self.scales.resize(ROW_SCALE_FLOATS, 0.0);
        }
    }

    fn bytes(&self) -> usize {
        self.x16.len() * 2 + (self.d.len() + self.bias.len() + self.d_sum.len() + self.scales.len()) * 4
    }

    /// What `ensure(blocks)` holds afterwards.
    fn planned_bytes(blocks: usize) -> usize {
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            blocks * (32 * 2 + 3 * 4) + ROW_SCALE_FLOATS * 4
        } else {
            0
        }
    }
}

impl MatmulScratch {
    /// Room for `max_tokens` activation rows of up to `max_cols` values in either partner format.
    pub fn new(max_tokens: usize, max_cols: usize) -> Self {
        let mut wide = WideScratch::default();
        wide.ensure(Self::wide_blocks(max_tokens, max_cols));
        MatmulScratch { activations: vec![0; Self::activation_bytes(max_tokens, max_cols)], wide }
    }

    /// What `new(max_tokens, max_cols).bytes()` will be, without allocating (load-time memory plans).
    pub fn planned_bytes(max_tokens: usize, max_cols: usize) -> usize {
        Self::activation_bytes(max_tokens, max_cols) + WideScratch::planned_bytes(Self::wide_blocks(max_tokens, max_cols))
    }

    fn activation_bytes(max_tokens: usize, max_cols: usize) -> usize {
        let per_token = activation_row_bytes(DType::Q8_0, max_cols).max(activation_row_bytes(DType::Q8_K, max_cols));
        max_tokens.max(1) * per_token
    }

    fn wide_blocks(max_tokens: usize, max_cols: usize) -> usize {
        max_tokens.max(1) * max_cols.div_ceil(DType::Q8_0.block_len())
    }

    /// Bytes held, for the memory report.
    pub fn bytes(&self) -> usize {
        self.activations.len() + self.wide.bytes()
    }
}

/// Bytes of one quantized activation row of `cols` values (rounded up to whole blocks).
fn activation_row_bytes(act: DType, cols: usize) -> usize {
    cols.div_ceil(act.block_len()) * act.block_bytes()
}

/// out[t * w.rows + r] = Σ_c w[r, c] · x[t * w.cols + c], for t < n_tokens, on the default path.
pub fn matmul(w: &TensorView, x: &[f32], n_tokens: usize, out: &mut [f32], scratch: &mut MatmulScratch) {
    matmul_with(default_path(), w, x, n_tokens, out, scratch)
}

// Each block format × token-block size is its own function (never inlined into `matmul_with`, here or by wasm-opt:
// scripts/build-wasm caps its one-caller inlining): V8 compiles WASM lazily per function, so a model pays TurboFan
// time only for the kernels it runs. Merged, all formats made one 142 KB function whose compile held up the first
// prefill of every fresh isolate by over a second.
/// `matmul` on an explicit path.
///
/// Panics (caller bugs): `x.len() != n_tokens * w.cols`, `out.len() != n_tokens * w.rows`, or weights of a type
/// without kernels (check `is_supported` when loading). If the scratch was sized for fewer tokens, the tokens
/// are processed in several sweeps; if it was sized for fewer columns, it grows once.
pub fn matmul_with(
    path: KernelPath,
    w: &TensorView,
    x: &[f32],
    n_tokens: usize,
    out: &mut [f32],
    scratch: &mut MatmulScratch,
) {
    assert_eq!(x.len(), n_tokens * w.cols, "matmul: x has {} values, expected {} tokens × {} cols", x.len(), n_tokens, w.cols);
    assert_eq!(out.len(), n_tokens * w.rows, "matmul: out has {} values, expected {} tokens × {} rows", out.len(), n_tokens, w.rows);
    assert!(is_supported(w.dtype), "matmul: no kernels for {} weights (check kernels::is_supported at load)", w.dtype.name());
    if n_tokens == 0 || w.rows == 0 {
        return;
    }
    match w.dtype {
        DType::F32 | DType::F16 | DType::BF16 => sweep(&FloatKernel(w.dtype), path, w, x, w.cols, n_tokens, out),
        DType::Q4_0 => q8_partnered::<q4_0::Block>(path, w, x, n_tokens, out, scratch),
        DType::Q4_1 => q8_partnered::<q4_1::Block>(path, w, x, n_tokens, out, scratch),
        DType::Q5_0 => q8_partnered::<q5_0::Block>(path, w, x, n_tokens, out, scratch),
        DType::Q5_1 => q8_partnered::<q5_1::Block>(path, w, x, n_tokens, out, scratch),
        DType::Q8_0 => q8_partnered::<q8_0::Block>(path, w, x, n_tokens, out, scratch),
        DType::IQ4_NL => q8_partnered::<iq4_nl::Block>(path, w, x, n_tokens, out, scratch),
        DType::Q2_K => quantized(&Q2KKernel, path, w, x, n_tokens, out, scratch),
        DType::Q3_K => quantized(&Q3KKernel, path, w, x, n_tokens, out, scratch),
        DType::Q4_K => quantized(&Q4KKernel, path, w, x, n_tokens, out, scratch),
        DType::Q5_K => quantized(&Q5KKernel, path, w, x, n_tokens, out, scratch),
        DType::Q6_K => quantized(&Q6KKernel, path, w, x, n_tokens, out, scratch),
        DType::IQ4_XS => quantized(&IQ4XSKernel, path, w, x, n_tokens, out, scratch),
        _ => unreachable!("checked by is_supported"),
    }
}

/// K-quant weights: Q8_K activations, then the format's tiles.
#[inline(never)]
fn quantized<K: TileKernel<Elem = u8> + ActivationFormat>(
    kernel: &K,
    path: KernelPath,
    w: &TensorView,
    x: &[f32],
    n_tokens: usize,
    out: &mut [f32],
    scratch: &mut MatmulScratch,
) {
    let act_row = activation_row_bytes(K::ACT, w.cols);
    in_chunks(K::ACT, K::quantize_activation, w, x, n_tokens, out, scratch, |act, n, out, _| {
        sweep(kernel, path, w, act, act_row, n, out)
    });
}

/// 32-value block weights: Q8_0 activations, then `q8_tiles` (SIMD) or the format's scalar reference dot.
#[inline(never)]
fn q8_partnered<K: Q8Weights>(
    path: KernelPath,
    w: &TensorView,
    x: &[f32],
    n_tokens: usize,
    out: &mut [f32],
    scratch: &mut MatmulScratch,
) {
    let act_row = activation_row_bytes(DType::Q8_0, w.cols);
    let quantize = |src: &[f32], dst: &mut [u8]| quantize_q8_0_with(path, src, dst);
    in_chunks(DType::Q8_0, quantize, w, x, n_tokens, out, scratch, |act, n, out, _wide| {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if path == KernelPath::Simd {
            return wide_sweep::<K>(w, act, n, _wide, out);
        }
        scalar_sweep(w, act, act_row, n, out, block32::vec_dot::<K>)
    });
}

/// Quantizes the activations (`act` blocks, by `quantize`) into the scratch in token chunks that fit, then hands
/// each chunk to `sweep_chunk(activations, tokens, out rows of those tokens, wide scratch)`.
#[allow(clippy::too_many_arguments)]
fn in_chunks(
    act: DType,
    quantize: impl Fn(&[f32], &mut [u8]),
    w: &TensorView,
    x: &[f32],
    n_tokens: usize,
    out: &mut [f32],
    scratch: &mut MatmulScratch,
    mut sweep_chunk: impl FnMut(&[u8], usize, &mut [f32], &mut WideScratch),
) {
    let row_bytes = w.dtype.row_bytes(w.cols).expect("TensorView validated cols");
    debug_assert_eq!(row_bytes, w.row_bytes());
    let act_row = activation_row_bytes(act, w.cols);
    if scratch.activations.len() < act_row {
        scratch.activations.resize(act_row, 0); // sized for fewer columns than this matrix: grow once
    }
    let chunk = (scratch.activations.len() / act_row).min(n_tokens);
    let mut t0 = 0;
    while t0 < n_tokens {
        let n = chunk.min(n_tokens - t0);
        let acts = &mut scratch.activations[..n * act_row];
        for (t, dst) in acts.chunks_exact_mut(act_row).enumerate() {
            quantize(&x[(t0 + t) * w.cols..(t0 + t + 1) * w.cols], dst);
        }
        sweep_chunk(acts, n, &mut out[t0 * w.rows..(t0 + n) * w.rows], &mut scratch.wide);
        t0 += n;
    }
}

/// Q8_0-partnered weights × `n` tokens of Q8_0 activations through `q8_tiles`: widen the activations once, then
/// token blocks of 4 (2, 1 for the rest), each sweeping the rows in 8-row tiles (4-row ones for the rest, and for
/// the relaxed build's 7-bit formats; see `q8_tiles::sweep`). Not 8 tokens: 4 rows × 8 tokens of i32x4 sums spill
/// out of x86's 16 vector registers, and measured slower (prefill 11.4 → 15.8 GMAC/s on Q4_0 at 4).
/// From `ROW_SCALES_FROM` tokens on, a repacked matrix is swept in runs of groups whose f32 scales are converted
/// once into the scratch (`q8_tiles::convert_scales`), not at every block of every token block.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn wide_sweep<W: super::q8_tiles::WideWeights>(w: &TensorView, act: &[u8], n: usize, wide: &mut WideScratch, out: &mut [f32]) {
    use super::q8_tiles::{convert_scales, prepare, sweep, takes_scales, RowScales, WideActivations, WideBuffers, ROWS};
    let n_blocks = w.cols / q8_0::BLOCK_LEN;
    wide.ensure(n * n_blocks);
    let WideScratch { x16, d, bias, d_sum, scales } = wide;
    prepare::<W>(act, WideBuffers { x16, d, bias, d_sum });
    let x = WideActivations { x16, d, bias, d_sum, q8: act, n_blocks };
    let per_group = RowScales::per_group::<W>(n_blocks);
    let run = scales.len() / per_group / 2 * 2; // whole 8-row tiles
    let paired = if w.layout == crate::tensor::Layout::Interleaved4 { w.rows / (2 * ROWS) * 2 } else { 0 };
    if n < ROW_SCALES_FROM || run == 0 || paired == 0 || !takes_scales::<W>() {
        return token_blocks::<W>(w, &x, 0..n, 0..w.rows, out);
    }
    // Whole blocks of 4 tokens × whole 8-row tiles with the converted scales, run by run; the rest of the rows and
    // tokens as without (other token blocks and tiles would only add more code to compile for a few rows).
    let blocks_end = n / 4 * 4;
    let mut g = 0;
    while g < paired {
        let end = (g + run).min(paired);
        convert_scales::<W>(w, g..end, scales);
        let pre = RowScales { first_group: g, f32s: &scales[..(end - g) * per_group] };
        for t in (0..blocks_end).step_by(4) {
            sweep::<W, 4, true>(w, &x, t, g * ROWS..end * ROWS, Some(&pre), out);
        }
        g = end;
    }
    if paired * ROWS < w.rows {
        token_blocks::<W>(w, &x, 0..blocks_end, paired * ROWS..w.rows, out);
    }
    token_blocks::<W>(w, &x, blocks_end..n, 0..w.rows, out);
}

/// Token blocks from which `wide_sweep` converts the row scales once: 2 blocks of 4 tokens.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const ROW_SCALES_FROM: usize = 8;

/// Rows `span` of `w` × tokens `tokens` of `x`, in token blocks of 4 (then 2, 1).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn token_blocks<W: super::q8_tiles::WideWeights>(
    w: &TensorView,
    x: &super::q8_tiles::WideActivations,
    tokens: core::ops::Range<usize>,
    span: core::ops::Range<usize>,
    out: &mut [f32],
) {
    use super::q8_tiles::sweep;
    let mut t = tokens.start;
    while t < tokens.end {
        t += match tokens.end - t {
            left if left >= 4 => sweep::<W, 4, false>(w, x, t, span.clone(), None, out),
            left if left >= 2 => sweep::<W, 2, false>(w, x, t, span.clone(), None, out),
            _ => sweep::<W, 1, false>(w, x, t, span.clone(), None, out),
        };
    }
}

/// A weight block dotted with Q8_0 activations: its `Block32` scalar reference and, on SIMD builds, its tile decoder.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
trait Q8Weights: super::q8_tiles::WideWeights {}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl<B: super::q8_tiles::WideWeights> Q8Weights for B {}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
trait Q8Weights: block32::Block32 {}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl<B: block32::Block32> Q8Weights for B {}

/// One format's kernels as the sweep sees them: a scalar reference dot and a SIMD tile.
trait TileKernel {
    /// Element of an activation row: u8 for quantized blocks, f32 for float weights.
    type Elem: Copy;
    /// Scalar reference: one weight row · one activation row.
    fn dot(&self, w: &[u8], x: &[Self::Elem]) -> f32;
    /// out[r][t] = w[r] · x[t] for an R × T tile.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn tile<const R: usize, const T: usize>(&self, w: &TileRows<R>, x: &[&[Self::Elem]; T]) -> [[f32; T]; R];
}

/// The activation format a quantized weight type is dotted with.
trait ActivationFormat {
    const ACT: DType;
    fn quantize_activation(src: &[f32], dst: &mut [u8]);
}

struct Q2KKernel;
struct Q3KKernel;
struct Q4KKernel;
struct Q5KKernel;
struct Q6KKernel;
struct IQ4XSKernel;
struct FloatKernel(DType);

macro_rules! quant_kernel {
    ($kernel:ident, $module:ident, $act:ident, $act_module:ident) => {
        impl TileKernel for $kernel {
            type Elem = u8;
            #[inline(always)]
            fn dot(&self, w: &[u8], x: &[u8]) -> f32 {
                block256::vec_dot::<$module::Block>(w, x)
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            #[inline(always)]
            fn tile<const R: usize, const T: usize>(&self, w: &TileRows<R>, x: &[&[u8]; T]) -> [[f32; T]; R] {
                $module::simd::tile(w, x)
            }
        }
        impl ActivationFormat for $kernel {
            const ACT: DType = DType::$act;
            fn quantize_activation(src: &[f32], dst: &mut [u8]) {
                $act_module::quantize_row(src, dst)
            }
        }
    };
}

quant_kernel!(Q2KKernel, q2_k, Q8_K, q8_k);
quant_kernel!(Q3KKernel, q3_k, Q8_K, q8_k);
quant_kernel!(Q4KKernel, q4_k, Q8_K, q8_k);
quant_kernel!(Q5KKernel, q5_k, Q8_K, q8_k);
quant_kernel!(Q6KKernel, q6_k, Q8_K, q8_k);
quant_kernel!(IQ4XSKernel, iq4_xs, Q8_K, q8_k);

impl TileKernel for FloatKernel {
    type Elem = f32;
    #[inline(always)]
    fn dot(&self, w: &[u8], x: &[f32]) -> f32 {
        float::vec_dot(self.0, w, x)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn tile<const R: usize, const T: usize>(&self, w: &TileRows<R>, x: &[&[f32]; T]) -> [[f32; T]; R] {
        float::simd::tile(self.0, &w.contiguous(), x)
    }
}

/// out[t * rows + r] = w[r] · x[t] for all rows and the `n_tokens` activation rows in `x` (`x_row` elements each).
#[inline(never)]
fn sweep<K: TileKernel>(
    kernel: &K,
    path: KernelPath,
    w: &TensorView,
    x: &[K::Elem],
    x_row: usize,
    n_tokens: usize,
    out: &mut [f32],
) {
    debug_assert_eq!(x.len(), n_tokens * x_row);
    debug_assert_eq!(out.len(), n_tokens * w.rows);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        // Token blocks of 8, then 4, 2, 1 for the remainder; each block sweeps all rows once.
        let mut t = 0;
        while t < n_tokens {
            t += match n_tokens - t {
                left if left >= 8 => tile_pass::<K, 8>(kernel, w, x, x_row, t, out),
                left if left >= 4 => tile_pass::<K, 4>(kernel, w, x, x_row, t, out),
                left if left >= 2 => tile_pass::<K, 2>(kernel, w, x, x_row, t, out),
                _ => tile_pass::<K, 1>(kernel, w, x, x_row, t, out),
            };
        }
        return;
    }
    let _ = path;
    scalar_sweep(w, x, x_row, n_tokens, out, |wr, xt| kernel.dot(wr, xt))
}

/// The scalar reference sweep: out[t * rows + r] = dot(w[r], x[t]), one row and token at a time.
fn scalar_sweep<E>(w: &TensorView, x: &[E], x_row: usize, n_tokens: usize, out: &mut [f32], dot: impl Fn(&[u8], &[E]) -> f32) {
    let mut gathered = Vec::new(); // rows of a repacked matrix, one at a time
    for t in 0..n_tokens {
        let xt = &x[t * x_row..(t + 1) * x_row];
        for r in 0..w.rows {
            out[t * w.rows + r] = dot(super::repack::row_bytes_of(w, r, &mut gathered), xt);
        }
    }
}

/// Tokens t0..t0+T against every row, 4 rows per tile (then single rows); returns T.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn tile_pass<K: TileKernel, const T: usize>(
    kernel: &K,
    w: &TensorView,
    x: &[K::Elem],
    x_row: usize,
    t0: usize,
    out: &mut [f32],
) -> usize {
    const R: usize = 4;
    let xs: [&[K::Elem]; T] = core::array::from_fn(|i| &x[(t0 + i) * x_row..(t0 + i + 1) * x_row]);
    let rows = w.rows;
    let at = w.addressing();
    let mut r = 0;
    while r + R <= rows {
        let res = kernel.tile::<R, T>(&TileRows::of(w, &at, core::array::from_fn(|i| r + i)), &xs);
        for t in 0..T {
            out[(t0 + t) * rows + r..(t0 + t) * rows + r + R].copy_from_slice(&core::array::from_fn::<f32, R, _>(|i| res[i][t]));
        }
        r += R;
    }
    while r < rows {
        let res = kernel.tile::<1, T>(&TileRows::of(w, &at, [r]), &xs);
        for t in 0..T {
            out[(t0 + t) * rows + r] = res[0][t];
        }
        r += 1;
    }
    T
}

/// Q8_0 quantization of activations `src` (a multiple of 32 values) into `dst` on a kernel path, rounded as
/// llama.cpp's x86 backend (`q8_0::quantize_activation_row`); both paths give identical bytes.
pub fn quantize_q8_0_with(path: KernelPath, src: &[f32], dst: &mut [u8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if path == KernelPath::Simd {
        return super::q8_tiles::quantize_q8_0(src, dst);
    }
    let _ = path;
    q8_0::quantize_activation_row(src, dst)
}

/// Row `r` of `w`, dequantized into `out` (`w.cols` values). Used for embedding lookups.
///
/// Panics (caller bugs): `r >= w.rows`, `out.len() != w.cols`, or a type `can_convert` rejects.
pub fn dequantize_row(w: &TensorView, r: usize, out: &mut [f32]) {
    assert!(r < w.rows, "dequantize_row: row {r} out of {} rows", w.rows);
    assert_eq!(out.len(), w.cols, "dequantize_row: out has {} values, row has {}", out.len(), w.cols);
    let mut gathered = Vec::new(); // only a repacked row needs it
    let result = dequantize_into(w.dtype, super::repack::row_bytes_of(w, r, &mut gathered), out);
    result.unwrap_or_else(|e| panic!("dequantize_row: {e}"));
}

/// f32 → ggml blocks of `dtype`, appended to `out`. `src.len()` must be a multiple of `dtype.block_len()`.
pub fn quantize(dtype: DType, src: &[f32], out: &mut Vec<u8>) -> Result<(), KernelError> {
    if !can_convert(dtype) {
        return Err(KernelError::Unsupported { dtype, op: "quantize" });
    }
    let bl = dtype.block_len();
    if src.len() % bl != 0 {
        return Err(KernelError::BadLength { dtype, what: "input", len: src.len(), multiple: bl, unit: "values" });
    }
    let start = out.len();
    out.resize(start + src.len() / bl * dtype.block_bytes(), 0);
    let dst = &mut out[start..];
    match dtype {
        DType::F32 | DType::F16 | DType::BF16 => float::quantize_row(dtype, src, dst),
        DType::Q4_0 => q4_0::quantize_row(src, dst),
        DType::Q4_1 => q4_1::quantize_row(src, dst),
        DType::Q5_0 => q5_0::quantize_row(src, dst),
        DType::Q5_1 => q5_1::quantize_row(src, dst),
        DType::Q8_0 => q8_0::quantize_row(src, dst),
        DType::IQ4_NL => iq4_nl::quantize_row(src, dst),
        DType::Q2_K => q2_k::quantize_row(src, dst),
        DType::Q3_K => q3_k::quantize_row(src, dst),
        DType::Q4_K => q4_k::quantize_row(src, dst),
        DType::Q5_K => q5_k::quantize_row(src, dst),
        DType::Q6_K => q6_k::quantize_row(src, dst),
        DType::IQ4_XS => iq4_xs::quantize_row(src, dst),
        DType::Q8_K => q8_k::quantize_row(src, dst),
        _ => unreachable!("checked by can_convert"),
    }
    Ok(())
}

/// ggml blocks of `dtype` → f32, appended to `out`. `src.len()` must be a multiple of `dtype.block_bytes()`.
pub fn dequantize(dtype: DType, src: &[u8], out: &mut Vec<f32>) -> Result<(), KernelError> {
    let bb = dtype.block_bytes();
    if can_convert(dtype) && src.len() % bb != 0 {
        return Err(KernelError::BadLength { dtype, what: "input", len: src.len(), multiple: bb, unit: "bytes" });
    }
    let start = out.len();
    out.resize(start + src.len() / bb * dtype.block_len(), 0.0);
    let result = dequantize_into(dtype, src, &mut out[start..]);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Whole blocks `src` → exactly `dst.len()` values.
fn dequantize_into(dtype: DType, src: &[u8], dst: &mut [f32]) -> Result<(), KernelError> {
    match dtype {
        DType::F32 | DType::F16 | DType::BF16 => float::dequantize_row(dtype, src, dst),
        DType::Q4_0 => block32::dequantize_row::<q4_0::Block>(src, dst),
        DType::Q4_1 => block32::dequantize_row::<q4_1::Block>(src, dst),
        DType::Q5_0 => block32::dequantize_row::<q5_0::Block>(src, dst),
        DType::Q5_1 => block32::dequantize_row::<q5_1::Block>(src, dst),
        DType::Q8_0 => q8_0::dequantize_row(src, dst),
        DType::IQ4_NL => block32::dequantize_row::<iq4_nl::Block>(src, dst),
        DType::Q2_K => block256::dequantize_row::<q2_k::Block>(src, dst),
        DType::Q3_K => block256::dequantize_row::<q3_k::Block>(src, dst),
        DType::Q4_K => block256::dequantize_row::<q4_k::Block>(src, dst),
        DType::Q5_K => block256::dequantize_row::<q5_k::Block>(src, dst),
        DType::Q6_K => block256::dequantize_row::<q6_k::Block>(src, dst),
        DType::IQ4_XS => block256::dequantize_row::<iq4_xs::Block>(src, dst),
        DType::Q8_K => q8_k::dequantize_row(src, dst),
        _ => return Err(KernelError::Unsupported { dtype, op: "dequantize" }),
    }
    Ok(())
}

//! Cross-format tests of the matmul driver and the quantize/dequantize entry points (host, scalar path).

use super::*;
use crate::tensor::{DType, TensorView};

/// Deterministic xorshift values in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next_f32()).collect()
    }
}

/// The Q8_0-partnered block formats.
const Q8_PARTNERED: [DType; 6] = [DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::IQ4_NL];

const MATMUL_TYPES: [DType; 15] = [
    DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::IQ4_NL,
    DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS,
];

fn partner(dtype: DType) -> Option<DType> {
    match dtype {
        d if Q8_PARTNERED.contains(&d) => Some(DType::Q8_0),
        DType::Q2_K | DType::Q3_K | DType::Q4_K | DType::Q5_K | DType::Q6_K | DType::IQ4_XS => Some(DType::Q8_K),
        _ => None,
    }
}

/// Quantizes `values` and dequantizes them back.
fn through(dtype: DType, values: &[f32]) -> Vec<f32> {
    let mut q = Vec::new();
    quantize(dtype, values, &mut q).unwrap();
    let mut back = Vec::new();
    dequantize(dtype, &q, &mut back).unwrap();
    back
}

fn check_matmul(dtype: DType, rows: usize, cols: usize, n_tokens: usize, scratch: &mut MatmulScratch, seed: u64) {
    let mut rng = Rng(seed);
    let wf = rng.vec(rows * cols);
    let x = rng.vec(n_tokens * cols);
    let mut wq = Vec::new();
    quantize(dtype, &wf, &mut wq).unwrap();
    let w = TensorView::new(dtype, rows, cols, &wq).unwrap();
    let mut wd = Vec::new();
    dequantize(dtype, &wq, &mut wd).unwrap();

    let mut out = vec![f32::NAN; rows * n_tokens];
    matmul_with(KernelPath::Scalar, &w, &x, n_tokens, &mut out, scratch);
    let mut out_default = vec![f32::NAN; rows * n_tokens];
    matmul(&w, &x, n_tokens, &mut out_default, scratch);

    for t in 0..n_tokens {
        let xt = &x[t * cols..(t + 1) * cols];
        // What the integer kernels compute exactly: dequantized weights · dequantized quantized activations.
        let xq = match partner(dtype) {
            Some(act) => through(act, xt),
            None => xt.to_vec(),
        };
        for r in 0..rows {
            let wr = &wd[r * cols..(r + 1) * cols];
            let exact: f64 = wr.iter().zip(&xq).map(|(a, b)| *a as f64 * *b as f64).sum();
            let magnitude: f64 = wr.iter().zip(&xq).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
            let got = out[t * rows + r] as f64;
            assert!(
                (got - exact).abs() <= 1e-5 * magnitude + 1e-6,
                "{dtype:?} {rows}x{cols} t={t} r={r}: {got} vs {exact}"
            );
            assert_eq!(out_default[t * rows + r].to_bits(), out[t * rows + r].to_bits(), "host default path is scalar");
            // Against unquantized activations: only the activation rounding separates them.
            let naive: f64 = wr.iter().zip(xt).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!((got - naive).abs() <= 0.02 * magnitude + 1e-4, "{dtype:?} vs f32 activations: {got} vs {naive}");
        }
    }
}

#[test]
fn matmul_matches_reference_for_every_format_and_awkward_shape() {
    let mut scratch = MatmulScratch::new(9, 768);
    let mut seed = 1;
    for dtype in MATMUL_TYPES {
        let bl = dtype.block_len().max(32);
        for &(rows, blocks) in &[(1, 1), (7, 5), (4, 3), (13, 2)] {
            let cols = if bl == 256 { 256 * blocks.min(3) } else { 32 * blocks };
            for n_tokens in [1, 3, 9] {
                seed += 1;
                check_matmul(dtype, rows, cols, n_tokens, &mut scratch, seed * 7919);
            }
        }
    }
}

#[test]
fn matmul_with_small_scratch_processes_tokens_in_chunks() {
    // Scratch for 2 tokens of 32 columns, used for 5 tokens of 512: it grows once and sweeps in chunks.
    let mut scratch = MatmulScratch::new(2, 32);
    check_matmul(DType::Q4_K, 3, 512, 5, &mut scratch, 99);
    check_matmul(DType::Q4_0, 5, 512, 5, &mut scratch, 98);
}

#[test]
fn float_columns_need_not_be_block_multiples() {
    let mut scratch = MatmulScratch::new(4, 64);
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        check_matmul(dtype, 5, 13, 3, &mut scratch, 5);
    }
}

#[test]
fn quantized_dot_equals_dot_of_dequantized_blocks() {
    let mut rng = Rng(42);
    let k_quants = [DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS].map(|t| (t, 768));
    for (dtype, cols) in Q8_PARTNERED.map(|t| (t, 160)).into_iter().chain(k_quants) {
        let act = partner(dtype).unwrap();
        let w = rng.vec(cols);
        let x = rng.vec(cols);
        let (mut wq, mut xq) = (Vec::new(), Vec::new());
        quantize(dtype, &w, &mut wq).unwrap();
        quantize(act, &x, &mut xq).unwrap();
        let got = match dtype {
            DType::Q4_0 => block32::vec_dot::<q4_0::Block>(&wq, &xq),
            DType::Q4_1 => block32::vec_dot::<q4_1::Block>(&wq, &xq),
            DType::Q5_0 => block32::vec_dot::<q5_0::Block>(&wq, &xq),
            DType::Q5_1 => block32::vec_dot::<q5_1::Block>(&wq, &xq),
            DType::IQ4_NL => block32::vec_dot::<iq4_nl::Block>(&wq, &xq),
            DType::Q8_0 => q8_0::vec_dot(&wq, &xq),
            DType::Q2_K => block256::vec_dot::<q2_k::Block>(&wq, &xq),
            DType::Q3_K => block256::vec_dot::<q3_k::Block>(&wq, &xq),
            DType::Q4_K => block256::vec_dot::<q4_k::Block>(&wq, &xq),
            DType::Q5_K => block256::vec_dot::<q5_k::Block>(&wq, &xq),
            DType::Q6_K => block256::vec_dot::<q6_k::Block>(&wq, &xq),
            _ => block256::vec_dot::<iq4_xs::Block>(&wq, &xq),
        };
        let (mut wd, mut xd) = (Vec::new(), Vec::new());
        dequantize(dtype, &wq, &mut wd).unwrap();
        dequantize(act, &xq, &mut xd).unwrap();
        let want: f64 = wd.iter().zip(&xd).map(|(a, b)| *a as f64 * *b as f64).sum();
        let magnitude: f64 = wd.iter().zip(&xd).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
        assert!((got as f64 - want).abs() <= 1e-5 * magnitude, "{dtype:?}: {got} vs {want}");
    }
}

#[test]
fn quantize_rejects_bad_lengths_and_types() {
    let mut out = Vec::new();
    let err = quantize(DType::Q4_0, &[0.0; 33], &mut out).unwrap_err();
    assert_eq!(err.to_string(), "input has 33 values, not a multiple of 32 (Q4_0 block size)");
    assert!(out.is_empty());
    let err = quantize(DType::Q8_1, &[0.0; 32], &mut out).unwrap_err();
    assert_eq!(err, KernelError::Unsupported { dtype: DType::Q8_1, op: "quantize" });
    let mut f = vec![1.0];
    let err = dequantize(DType::Q6_K, &[0u8; 211], &mut f).unwrap_err();
    assert!(err.to_string().contains("211 bytes, not a multiple of 210"), "{err}");
    assert_eq!(f, vec![1.0], "failed dequantize leaves out untouched");
    assert!(dequantize(DType::Q8_1, &[0u8; 36], &mut f).is_err());
    assert_eq!(f, vec![1.0]);
}

#[test]
fn quantize_appends_and_dequantize_row_reads_one_row() {
    let mut rng = Rng(3);
    let values = rng.vec(3 * 256);
    for dtype in MATMUL_TYPES.into_iter().chain([DType::Q8_K]) {
        let mut out = vec![0xAB];
        quantize(dtype, &values, &mut out).unwrap();
        assert_eq!(out[0], 0xAB);
        assert_eq!(out.len(), 1 + dtype.row_bytes(values.len()).unwrap());
        let bytes = &out[1..];
        let mut all = Vec::new();
        dequantize(dtype, bytes, &mut all).unwrap();
        let w = TensorView::new(dtype, 3, 256, bytes).unwrap();
        let mut row = vec![0.0; 256];
        dequantize_row(&w, 2, &mut row);
        assert_eq!(row, all[512..768]);
    }
}

#[test]
fn scratch_reports_its_size() {
    let s = MatmulScratch::new(8, 1536);
    // Q8_K is the larger partner: 6 super-blocks × 292 bytes per token.
    assert_eq!(s.bytes(), 8 * 6 * 292);
}

#[test]
fn q8_partnered_dots_are_exact_integer_sums() {
    // Random quant bytes, d = 2^-4, minimums j · 2^-4, activations q / 16 with a ±127 per block (activation scale
    // exactly 1/16): every product and sum is exact in f32, so the scalar dot must equal the f64 dot of the
    // dequantized blocks to the bit, over awkward block counts.
    let mut rng = Rng(7);
    for dtype in Q8_PARTNERED {
        let min_at = match dtype {
            DType::Q4_1 | DType::Q5_1 => Some(2),
            _ => None,
        };
        for blocks in [1, 5, 18] {
            let mut w: Vec<u8> = (0..blocks * dtype.block_bytes()).map(|_| (rng.next_f32() * 128.0 + 128.0) as u8).collect();
            for b in w.chunks_exact_mut(dtype.block_bytes()) {
                b[..2].copy_from_slice(&f32_to_f16(0.0625).to_le_bytes());
                if let Some(at) = min_at {
                    b[at..at + 2].copy_from_slice(&f32_to_f16((rng.next_f32() * 16.0).round() / 16.0).to_le_bytes());
                }
            }
            let mut x: Vec<f32> = (0..blocks * 32).map(|_| (rng.next_f32() * 127.0).round() / 16.0).collect();
            for b in 0..blocks {
                x[b * 32 + (b * 7) % 32] = -127.0 / 16.0;
            }
            let mut xq = Vec::new();
            quantize(DType::Q8_0, &x, &mut xq).unwrap();
            let mut wd = Vec::new();
            dequantize(dtype, &w, &mut wd).unwrap();
            let want: f64 = wd.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            let t = TensorView::new(dtype, 1, blocks * 32, &w).unwrap();
            let mut out = [0.0f32];
            matmul_with(KernelPath::Scalar, &t, &x, 1, &mut out, &mut MatmulScratch::new(1, 32));
            assert_eq!(out[0] as f64, want, "{dtype:?} × {blocks} blocks");
        }
    }
}

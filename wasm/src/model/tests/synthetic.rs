//! Tiny synthetic llama / qwen2 models written as GGUF in the test, checked against a plain reference forward that
//! recomputes everything from scratch (no cache, no batching), and the model's error paths.

use super::gguf_builder::{GgufBuilder, Meta};
use super::max_abs_diff;
use crate::gguf::load_from_bytes;
use crate::kernels::{self, KernelPath};
use crate::model::{ErrorCode, KvType, Model, ModelOptions};
use crate::tensor::DType;

#[derive(Clone, Copy)]
struct Shape {
    qwen2: bool,
    dim: usize,
    layers: usize,
    heads: usize,
    kv_heads: usize,
    ffn: usize,
    vocab: usize,
    ctx: usize,
    rope_base: f32,
    rope_linear: f32,
    tied: bool,
    /// Storage type of the 2-D matrices (norms and biases stay F32).
    wtype: DType,
}

const LLAMA: Shape = Shape {
    qwen2: false,
    dim: 16,
    layers: 2,
    heads: 4,
    kv_heads: 2,
    ffn: 24,
    vocab: 40,
    ctx: 64,
    rope_base: 10000.0,
    rope_linear: 1.0,
    tied: false,
    wtype: DType::F32,
};
const QWEN2: Shape = Shape { qwen2: true, kv_heads: 1, rope_base: 1_000_000.0, tied: true, ..LLAMA };

/// Deterministic pseudo-random values in [-scale, scale) (xorshift, seeded per tensor name).
fn values(name: &str, n: usize, scale: f32) -> Vec<f32> {
    let mut s: u64 = name.bytes().fold(0x9E37_79B9_7F4A_7C15, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01B3));
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

struct Weights {
    embd: Vec<f32>,
    out: Vec<f32>,
    out_norm: Vec<f32>,
    /// Per layer: attn_norm, wq, wk, wv, wo, bq, bk, bv, ffn_norm, gate, up, down.
    layers: Vec<[Vec<f32>; 12]>,
}

fn weights(s: Shape) -> Weights {
    let hd = s.dim / s.heads;
    let kv = s.kv_heads * hd;
    let norm = |n: &str| values(n, s.dim, 0.2).iter().map(|v| 1.0 + v).collect::<Vec<_>>();
    let embd = values("token_embd", s.vocab * s.dim, 1.0);
    let out_scale = 2.0 / (s.dim as f32).sqrt();
    Weights {
        out: if s.tied { embd.clone() } else { values("output", s.vocab * s.dim, out_scale) },
        embd,
        out_norm: norm("output_norm"),
        layers: (0..s.layers)
            .map(|l| {
                let v = |n: &str, len: usize, sc: f32| values(&format!("{l}.{n}"), len, sc);
                // Matrices scaled by 4/sqrt(cols) keep activations O(1) at any width (exactly `sc` at width 16).
                let m = |n: &str, rows: usize, cols: usize, sc: f32| v(n, rows * cols, sc * 4.0 / (cols as f32).sqrt());
                [
                    norm(&format!("{l}.an")),
                    m("q", s.dim, s.dim, 0.4),
                    m("k", kv, s.dim, 0.4),
                    m("v", kv, s.dim, 0.4),
                    m("o", s.dim, s.dim, 0.3),
                    v("bq", s.dim, 0.3),
                    v("bk", kv, 0.3),
                    v("bv", kv, 0.3),
                    norm(&format!("{l}.fn")),
                    m("g", s.ffn, s.dim, 0.3),
                    m("u", s.ffn, s.dim, 0.3),
                    m("d", s.dim, s.ffn, 0.3),
                ]
            })
            .collect(),
    }
}

fn builder(s: Shape) -> GgufBuilder {
    let w = weights(s);
    let arch = if s.qwen2 { "qwen2" } else { "llama" };
    let (d, f, v) = (s.dim as u64, s.ffn as u64, s.vocab as u64);
    let kv = (s.kv_heads * s.dim / s.heads) as u64;
    let mut b = GgufBuilder::default();
    b.meta("general.architecture", Meta::Str(arch.into()))
        .meta(&format!("{arch}.embedding_length"), Meta::U32(s.dim as u32))
        .meta(&format!("{arch}.block_count"), Meta::U32(s.layers as u32))
        .meta(&format!("{arch}.feed_forward_length"), Meta::U32(s.ffn as u32))
        .meta(&format!("{arch}.attention.head_count"), Meta::U32(s.heads as u32))
        .meta(&format!("{arch}.attention.head_count_kv"), Meta::U32(s.kv_heads as u32))
        .meta(&format!("{arch}.attention.layer_norm_rms_epsilon"), Meta::F32(1e-6))
        .meta(&format!("{arch}.rope.freq_base"), Meta::F32(s.rope_base))
        .meta(&format!("{arch}.context_length"), Meta::U32(s.ctx as u32));
    if s.rope_linear != 1.0 {
        b.meta(&format!("{arch}.rope.scaling.type"), Meta::Str("linear".into()))
            .meta(&format!("{arch}.rope.scaling.factor"), Meta::F32(s.rope_linear));
    }
    let mat = |b: &mut GgufBuilder, name: &str, dims: &[u64], data: Vec<f32>| {
        let mut bytes = Vec::new();
        kernels::quantize(s.wtype, &data, &mut bytes).expect("quantize test weights");
        b.raw_tensor(name, dims, s.wtype, bytes);
    };
    mat(&mut b, "token_embd.weight", &[d, v], w.embd);
    b.tensor("output_norm.weight", &[d], w.out_norm);
    if !s.tied {
        mat(&mut b, "output.weight", &[d, v], w.out);
    }
    for (l, [an, q, k, vv, o, bq, bk, bv, fnorm, g, u, dn]) in w.layers.into_iter().enumerate() {
        let n = |x: &str| format!("blk.{l}.{x}");
        b.tensor(&n("attn_norm.weight"), &[d], an).tensor(&n("ffn_norm.weight"), &[d], fnorm);
        mat(&mut b, &n("attn_q.weight"), &[d, d], q);
        mat(&mut b, &n("attn_k.weight"), &[d, kv], k);
        mat(&mut b, &n("attn_v.weight"), &[d, kv], vv);
        mat(&mut b, &n("attn_output.weight"), &[d, d], o);
        mat(&mut b, &n("ffn_gate.weight"), &[d, f], g);
        mat(&mut b, &n("ffn_up.weight"), &[d, f], u);
        mat(&mut b, &n("ffn_down.weight"), &[f, d], dn);
        if s.qwen2 {
            b.tensor(&n("attn_q.bias"), &[d], bq).tensor(&n("attn_k.bias"), &[kv], bk).tensor(
                &n("attn_v.bias"),
                &[kv],
                bv,
            );
        }
    }
    b
}

fn model(b: &GgufBuilder, opts: ModelOptions) -> Result<Model, crate::model::ModelError> {
    Model::new(load_from_bytes(&b.bytes()).expect("test GGUF parses"), opts)
}

fn opts(kv_type: KvType, max_batch: usize) -> ModelOptions {
    ModelOptions { context_length: None, kv_type, sequences: 1, max_batch, kernel_path: Some(KernelPath::Scalar), memory_budget: None }
}

/// The weights as the model sees them: matrices after the quantize → dequantize round trip of `s.wtype`.
fn stored_weights(s: Shape) -> Weights {
    let rt = |v: &mut Vec<f32>| {
        let mut q = Vec::new();
        kernels::quantize(s.wtype, v, &mut q).unwrap();
        let mut back = Vec::new();
        kernels::dequantize(s.wtype, &q, &mut back).unwrap();
        *v = back;
    };
    let mut w = weights(s);
    rt(&mut w.embd);
    rt(&mut w.out);
    for l in &mut w.layers {
        for i in [1, 2, 3, 4, 9, 10, 11] {
            rt(&mut l[i]);
        }
    }
    w
}

// ---------------- plain reference forward (f64, whole sequence at once) ----------------

fn matvec(w: &[f32], x: &[f64], rows: usize) -> Vec<f64> {
    let cols = x.len();
    (0..rows).map(|r| (0..cols).map(|c| w[r * cols + c] as f64 * x[c]).sum()).collect()
}

fn norm(x: &[f64], w: &[f32], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    x.iter().zip(w).map(|(v, &g)| v / (ms + eps).sqrt() * g as f64).collect()
}

fn rope(x: &mut [f64], pos: usize, hd: usize, s: Shape) {
    let half = hd / 2;
    for head in x.chunks_mut(hd) {
        for i in 0..half {
            let theta = (pos as f64 / s.rope_linear as f64) * (s.rope_base as f64).powf(-(2.0 * i as f64) / hd as f64);
            let (a, b) = if s.qwen2 { (i, i + half) } else { (2 * i, 2 * i + 1) };
            let (x0, x1) = (head[a], head[b]);
            head[a] = x0 * theta.cos() - x1 * theta.sin();
            head[b] = x0 * theta.sin() + x1 * theta.cos();
        }
    }
}

/// Logits of every position of `tokens`, computed plainly.
fn reference_forward(s: Shape, tokens: &[u32]) -> Vec<Vec<f32>> {
    let w = stored_weights(s);
    let (dim, hd) = (s.dim, s.dim / s.heads);
    let kvd = s.kv_heads * hd;
    let eps = 1e-6f32 as f64;
    let mut xs: Vec<Vec<f64>> = tokens
        .iter()
        .map(|&t| w.embd[t as usize * dim..(t as usize + 1) * dim].iter().map(|&v| v as f64).collect())
        .collect();
    for [an, wq, wk, wv, wo, bq, bk, bv, fnw, g, u, dn] in &w.layers {
        let add = |mut v: Vec<f64>, b: &[f32]| {
            if s.qwen2 {
                v.iter_mut().zip(b).for_each(|(a, &b)| *a += b as f64);
            }
            v
        };
        let (mut qs, mut ks, mut vs) = (vec![], vec![], vec![]);
        for (pos, x) in xs.iter().enumerate() {
            let h = norm(x, an, eps);
            let mut q = add(matvec(wq, &h, dim), bq);
            let mut k = add(matvec(wk, &h, kvd), bk);
            rope(&mut q, pos, hd, s);
            rope(&mut k, pos, hd, s);
            qs.push(q);
            ks.push(k);
            vs.push(add(matvec(wv, &h, kvd), bv));
        }
        for pos in 0..xs.len() {
            let mut att = vec![0.0; dim];
            for head in 0..s.heads {
                let g = head / (s.heads / s.kv_heads);
                let q = &qs[pos][head * hd..(head + 1) * hd];
                let sc: Vec<f64> = (0..=pos)
                    .map(|p| {
                        q.iter().zip(&ks[p][g * hd..(g + 1) * hd]).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = sc.iter().map(|v| (v - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for p in 0..=pos {
                    for i in 0..hd {
                        att[head * hd + i] += e[p] / z * vs[p][g * hd + i];
                    }
                }
            }
            let o = matvec(wo, &att, dim);
            xs[pos].iter_mut().zip(o).for_each(|(a, b)| *a += b);
            let h = norm(&xs[pos], fnw, eps);
            let gg = matvec(g, &h, s.ffn);
            let uu = matvec(u, &h, s.ffn);
            let act: Vec<f64> = gg.iter().zip(&uu).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
            let d = matvec(dn, &act, dim);
            xs[pos].iter_mut().zip(d).for_each(|(a, b)| *a += b);
        }
    }
    xs.iter().map(|x| matvec(&w.out, &norm(x, &w.out_norm, eps), s.vocab).iter().map(|&v| v as f32).collect()).collect()
}

const TOKENS: [u32; 11] = [1, 5, 39, 0, 17, 17, 2, 33, 8, 21, 30];

fn check_against_reference(s: Shape) {
    let want = reference_forward(s, &TOKENS);
    let b = builder(s);
    // Token by token.
    let mut m = model(&b, opts(KvType::F32, 4)).expect("model");
    for (pos, &t) in TOKENS.iter().enumerate() {
        let got = m.forward(0, &[t], pos, false).expect("forward");
        let d = max_abs_diff(got, &want[pos]);
        assert!(d < 1e-4, "qwen2={} token-by-token position {pos}: differs by {d}", s.qwen2);
    }
    // Batched in chunks of 4 (11 = 4 + 4 + 3), every position's logits.
    m.reset_sequence(0).unwrap();
    let all = m.forward(0, &TOKENS, 0, true).expect("forward").to_vec();
    for pos in 0..TOKENS.len() {
        let d = max_abs_diff(&all[pos * s.vocab..(pos + 1) * s.vocab], &want[pos]);
        assert!(d < 1e-4, "qwen2={} batched position {pos}: differs by {d}", s.qwen2);
    }
    // Two calls continuing one sequence.
    m.reset_sequence(0).unwrap();
    m.forward(0, &TOKENS[..6], 0, false).unwrap();
    let last = m.forward(0, &TOKENS[6..], 6, false).unwrap();
    assert!(max_abs_diff(last, &want[TOKENS.len() - 1]) < 1e-4);
}

#[test]
fn llama_matches_plain_reference() {
    check_against_reference(LLAMA);
}

#[test]
fn qwen2_biases_and_neox_rope_match_plain_reference() {
    check_against_reference(QWEN2);
}

#[test]
fn linear_rope_scaling_matches_plain_reference() {
    check_against_reference(Shape { rope_linear: 4.0, ..LLAMA });
}

#[test]
fn the_reference_can_tell_the_rope_styles_apart() {
    // Guards the test itself: if NeoX and normal RoPE gave the same logits, the qwen2 check would prove nothing.
    let a = reference_forward(QWEN2, &TOKENS);
    let b = reference_forward(Shape { qwen2: false, ..QWEN2 }, &TOKENS);
    assert!(max_abs_diff(&a[5], &b[5]) > 1e-2);
}

#[test]
fn f16_kv_cache_stays_close_to_f32() {
    let want = reference_forward(QWEN2, &TOKENS);
    let mut m = model(&builder(QWEN2), opts(KvType::F16, 8)).unwrap();
    let got = m.forward(0, &TOKENS, 0, false).unwrap();
    assert!(max_abs_diff(got, &want[TOKENS.len() - 1]) < 2e-2);
}

fn expect_err<T>(r: Result<T, crate::model::ModelError>, code: ErrorCode, needle: &str) {
    match r {
        Ok(_) => panic!("expected {code:?} error containing {needle:?}"),
        Err(e) => {
            assert_eq!(e.code, code, "{e}");
            assert!(e.to_string().contains(needle), "{e} does not mention {needle:?}");
            assert!(e.to_string().starts_with(code.as_str()), "{e}");
        }
    }
}

#[test]
fn load_errors_name_what_is_wrong() {
    let mut b = builder(LLAMA);
    b.meta("general.architecture", Meta::Str("gpt2".into()));
    expect_err(
        model(&b, opts(KvType::F32, 4)),
        ErrorCode::UnsupportedModel,
        "'gpt2' is not supported (supported: llama, qwen2)",
    );

    let mut b = builder(LLAMA);
    b.remove_tensor("blk.1.ffn_up.weight");
    expect_err(
        model(&b, opts(KvType::F32, 4)),
        ErrorCode::ModelFormat,
        "missing tensor blk.1.ffn_up.weight (expected shape [16, 24])",
    );

    let mut b = builder(QWEN2);
    b.remove_tensor("blk.0.attn_k.bias");
    expect_err(model(&b, opts(KvType::F32, 4)), ErrorCode::ModelFormat, "blk.0.attn_k.bias");

    let mut b = builder(LLAMA);
    b.remove_tensor("blk.0.attn_q.weight").tensor("blk.0.attn_q.weight", &[16, 8], vec![0.0; 128]);
    expect_err(
        model(&b, opts(KvType::F32, 4)),
        ErrorCode::ModelFormat,
        "blk.0.attn_q.weight has shape [16, 8], expected [16, 16]",
    );

    let mut b = builder(LLAMA);
    b.meta("llama.attention.head_count_kv", Meta::U32(3));
    expect_err(model(&b, opts(KvType::F32, 4)), ErrorCode::ModelFormat, "llama.attention.head_count");

    let mut b = builder(LLAMA);
    b.meta("llama.rope.scaling.type", Meta::Str("yarn".into()));
    expect_err(model(&b, opts(KvType::F32, 4)), ErrorCode::UnsupportedModel, "llama.rope.scaling.type");

    let b = builder(LLAMA);
    let too_long = ModelOptions { context_length: Some(65), ..opts(KvType::F32, 4) };
    expect_err(model(&b, too_long), ErrorCode::InvalidArgument, "contextLength 65");
}

#[test]
fn forward_errors_leave_the_sequence_unchanged() {
    let mut m = model(&builder(LLAMA), ModelOptions { context_length: Some(16), ..opts(KvType::F32, 4) }).unwrap();
    m.forward(0, &[1, 2, 3], 0, false).unwrap();
    expect_err(m.forward(0, &[1, 40, 2], 3, false), ErrorCode::InvalidArgument, "token id 40 at index 1 (position 4)");
    expect_err(m.forward(0, &[1; 14], 3, false), ErrorCode::ContextOverflow, "positions 3..17");
    expect_err(m.forward(1, &[1], 0, false), ErrorCode::InvalidArgument, "sequence slot 1");
    expect_err(m.forward(0, &[1], 5, false), ErrorCode::InvalidArgument, "start_pos 5");
    expect_err(m.forward(0, &[], 3, false), ErrorCode::InvalidArgument, "tokens is empty");
    expect_err(m.truncate(0, 4), ErrorCode::InvalidArgument, "holds only 3");
    assert_eq!(m.sequence_length(0).unwrap(), 3);
    // The full context is usable.
    m.forward(0, &[1; 13], 3, false).unwrap();
    assert_eq!(m.sequence_length(0).unwrap(), 16);
}

#[test]
fn memory_report_adds_up() {
    let m = model(&builder(LLAMA), ModelOptions { context_length: Some(32), sequences: 2, ..opts(KvType::F16, 4) })
        .unwrap();
    let r = m.memory();
    // 2 (K and V) × layers × seqs × kv_dim × context × 2 bytes.
    assert_eq!(r.kv_cache, 2 * 2 * 2 * 8 * 32 * 2);
    assert!(r.weights >= (40 * 16 * 2 + 2 * (16 * 16 * 2 + 8 * 16 * 2 + 24 * 16 * 3)) * 4);
    assert_eq!(r.total, r.weights + r.kv_cache + r.scratch);
}

/// The header-only plan predicts the loaded model's memory exactly and refuses what `Model::new` refuses.
#[test]
fn plan_matches_the_loaded_model() {
    for (s, o) in [
        (LLAMA, ModelOptions { context_length: Some(32), sequences: 2, ..opts(KvType::F16, 4) }),
        (QWEN2, opts(KvType::F32, 8)),
        (Shape { wtype: DType::Q8_0, dim: 64, ffn: 96, ..LLAMA }, opts(KvType::F16, 32)),
    ] {
        let b = builder(s);
        let bytes = b.bytes();
        let p = crate::model::plan(&crate::gguf::parse_header(&bytes).unwrap(), &o).unwrap();
        let m = model(&b, o).unwrap();
        assert_eq!(p.memory, m.memory());
        assert_eq!(p.context, m.context_length());
    }
    let mut b = builder(LLAMA);
    b.remove_tensor("blk.1.ffn_up.weight");
    let bytes = b.bytes();
    let e = crate::model::plan(&crate::gguf::parse_header(&bytes).unwrap(), &opts(KvType::F32, 4)).err().unwrap();
    assert!(e.to_string().contains("missing tensor blk.1.ffn_up.weight"), "{e}");
}

#[test]
fn non_finite_norms_are_a_format_error() {
    let mut b = builder(LLAMA);
    let mut norm = vec![1.0f32; 16];
    norm[3] = f32::NAN;
    b.remove_tensor("output_norm.weight").tensor("output_norm.weight", &[16], norm);
    expect_err(model(&b, opts(KvType::F32, 4)), ErrorCode::ModelFormat, "output_norm.weight has a non-finite value (NaN) at index 3");
    let mut b = builder(LLAMA);
    let mut norm = vec![1.0f32; 16];
    norm[0] = f32::INFINITY;
    b.remove_tensor("blk.1.attn_norm.weight").tensor("blk.1.attn_norm.weight", &[16], norm);
    expect_err(model(&b, opts(KvType::F32, 4)), ErrorCode::ModelFormat, "blk.1.attn_norm.weight has a non-finite value (inf)");
}

/// Quantized matrices: the model binds each format's rows correctly and its logits follow the f64 reference over the
/// same (dequantized) weights, up to the error of quantizing the activations (Q8_0 / Q8_K).
#[test]
fn quantized_weights_follow_the_reference() {
    let small = Shape { dim: 64, ffn: 96, ..LLAMA };
    let k_quant = Shape { dim: 256, ffn: 256, ..QWEN2 };
    for (s, name) in [
        (Shape { wtype: DType::F16, ..LLAMA }, "F16"),
        (Shape { wtype: DType::Q8_0, ..small }, "Q8_0"),
        (Shape { wtype: DType::Q4_0, ..small }, "Q4_0"),
        (Shape { wtype: DType::Q4_K, ..k_quant }, "Q4_K"),
        (Shape { wtype: DType::Q6_K, ..k_quant }, "Q6_K"),
    ] {
        let want = reference_forward(s, &TOKENS);
        let mut m = model(&builder(s), opts(KvType::F32, 4)).expect(name);
        let all = m.forward(0, &TOKENS, 0, true).expect("forward").to_vec();
        let mut worst = 0.0f32;
        for (pos, row) in want.iter().enumerate() {
            let scale = row.iter().fold(1.0f32, |a, &v| a.max(v.abs()));
            worst = worst.max(max_abs_diff(&all[pos * s.vocab..(pos + 1) * s.vocab], row) / scale);
        }
        eprintln!("{name}: worst logit difference / logit scale = {worst:.2e}");
        let tol = if s.wtype == DType::F16 { 1e-4 } else { 3e-2 };
        assert!(worst < tol, "{name}: logits differ by {worst} of their scale");
    }
}

/// Weights repacked at load (`Layout::Interleaved4`, as SIMD builds do) give bit-identical logits: the embedding
/// lookup and the scalar kernels read the rows back in file order. The vocabulary (42 rows) leaves two rows
/// row-major after the groups.
#[test]
fn repacked_weights_give_identical_logits() {
    let small = Shape { dim: 64, ffn: 96, vocab: 42, ..LLAMA };
    let k_quant = Shape { dim: 256, ffn: 256, vocab: 42, ..QWEN2 };
    for s in [
        Shape { wtype: DType::Q8_0, ..small },
        Shape { wtype: DType::Q4_0, ..small },
        Shape { wtype: DType::Q5_1, ..small },
        Shape { wtype: DType::Q4_K, ..k_quant },
    ] {
        let name = s.wtype.name();
        let bytes = builder(s).bytes();
        let repacked = crate::gguf::load_from_bytes_with(&bytes, Some(crate::kernels::repack::repacker)).expect(name);
        assert_eq!(repacked.layout("token_embd.weight"), Some(crate::tensor::Layout::Interleaved4), "{name}");
        // Streamed in odd-sized chunks, groups complete at arbitrary commits: the same bytes.
        let mut loader = crate::gguf::StreamLoader::new(Default::default()).with_repack(crate::kernels::repack::repacker);
        let (mut pos, mut i) = (0, 0);
        while pos < bytes.len() {
            let region = loader.next_region((i * 37 % 1000 + 1).min(bytes.len() - pos)).expect("region");
            let n = region.len();
            region.copy_from_slice(&bytes[pos..pos + n]);
            loader.commit(n).expect("commit");
            (pos, i) = (pos + n, i + 1);
        }
        assert_eq!(&loader.finish().expect("streamed").data[..], &repacked.data[..], "{name}: streamed");
        let mut plain = model(&builder(s), opts(KvType::F32, 4)).expect(name);
        let mut packed = Model::new(repacked, opts(KvType::F32, 4)).expect(name);
        let want = plain.forward(0, &TOKENS, 0, true).expect("forward").to_vec();
        assert_eq!(packed.forward(0, &TOKENS, 0, true).expect("forward"), &want[..], "{name}");
    }
}

/// A Q8_0 KV cache (head size 32: whole blocks) follows the f64 reference and the f16 cache within the error of
/// quantizing K, V and the query to 8 bits.
#[test]
fn q8_0_kv_cache_stays_close_to_f32_and_f16() {
    let s = Shape { dim: 64, heads: 2, kv_heads: 1, ffn: 96, ..QWEN2 };
    let want = reference_forward(s, &TOKENS);
    let b = builder(s);
    let mut q8 = model(&b, opts(KvType::Q8_0, 4)).unwrap();
    let mut f16 = model(&b, opts(KvType::F16, 4)).unwrap();
    assert_eq!(q8.kv_type(), KvType::Q8_0);
    let scale = want.iter().flatten().fold(1.0f32, |a, &v| a.max(v.abs()));
    for (pos, &t) in TOKENS.iter().enumerate() {
        let got = q8.forward(0, &[t], pos, false).unwrap().to_vec();
        let half = f16.forward(0, &[t], pos, false).unwrap();
        let (d_ref, d_f16) = (max_abs_diff(&got, &want[pos]) / scale, max_abs_diff(&got, half) / scale);
        assert!(d_ref < 2e-2 && d_f16 < 2e-2, "position {pos}: q8_0 KV off by {d_ref} (reference), {d_f16} (f16 KV)");
        assert!(d_ref > 0.0, "a Q8_0 cache cannot be exact");
    }
    // 1.0625 bytes per value: 2 (K, V) × layers × kv heads × 34-byte rows × positions.
    assert_eq!(q8.memory().kv_cache, 2 * s.layers * 34 * s.ctx);
}

#[test]
fn q8_0_kv_cache_needs_whole_blocks_per_head() {
    expect_err(model(&builder(LLAMA), opts(KvType::Q8_0, 4)), ErrorCode::InvalidArgument, "multiple of 32");
}

/// The memory budget: f16 while weights + f16 KV + scratch fit it, Q8_0 once they do not, refused when neither fits;
/// an explicit f32 is kept when it fits.
#[test]
fn memory_budget_picks_q8_0_when_f16_does_not_fit() {
    let s = Shape { dim: 64, heads: 2, kv_heads: 1, ffn: 96, ..QWEN2 };
    let b = builder(s);
    let base = model(&b, opts(KvType::F16, 4)).unwrap().memory();
    let other = base.weights + base.scratch;
    let q8_kv = 2 * s.layers * 34 * s.ctx;
    let with_budget = |t: KvType, budget: usize| model(&b, ModelOptions { memory_budget: Some(budget), ..opts(t, 4) });
    assert_eq!(with_budget(KvType::F16, base.total).unwrap().kv_type(), KvType::F16);
    let m = with_budget(KvType::F16, base.total - 1).unwrap();
    assert_eq!(m.kv_type(), KvType::Q8_0);
    assert_eq!(m.memory().total, other + q8_kv);
    assert_eq!(with_budget(KvType::F16, other + q8_kv).unwrap().kv_type(), KvType::Q8_0);
    expect_err(with_budget(KvType::F16, other + q8_kv - 1), ErrorCode::OutOfMemory, "exceed the memory budget");
    assert_eq!(with_budget(KvType::F32, 1 << 30).unwrap().kv_type(), KvType::F32);
    // A head size that Q8_0 cannot store keeps f16 and is refused when that does not fit.
    let small = model(&builder(LLAMA), opts(KvType::F16, 4)).unwrap().memory();
    let m = model(&builder(LLAMA), ModelOptions { memory_budget: Some(small.total - 1), ..opts(KvType::F16, 4) });
    expect_err(m, ErrorCode::OutOfMemory, "f16 KV cache");
}

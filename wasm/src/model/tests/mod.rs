//! Host tests of the model: the real stories260K against llama2.c reference logits, and synthetic llama / qwen2
//! models against a plain f32 reference forward written out here.

mod gguf_builder;
mod reference;
mod synthetic;

/// Largest absolute element-wise difference.
pub(crate) fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Index of the largest value, lowest index on ties (the reference's greedy rule).
pub(crate) fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

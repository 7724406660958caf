//! Causal grouped-query attention of one token over the KV cache.

use super::kv_cache::{KvCache, KvRows};
use super::ops::softmax;
use crate::kernels::{self, KernelPath};

/// Where in the cache one token attends: its layer, sequence slot, and how many positions it sees (its own included).
pub struct AttentionSite {
    pub layer: usize,
    pub seq: usize,
    pub n_pos: usize,
}

/// Head layout of the attention: `n_heads` query heads sharing `n_kv_heads` key/value heads, `head_dim` wide.
#[derive(Clone, Copy)]
pub struct Heads {
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
}

/// `out[h] = Σ_p softmax_p(q[h] · K[g][p] / sqrt(head_dim)) · V[g][p]` for every query head `h`, with
/// `g = h / (n_heads / n_kv_heads)` (consecutive query heads share one KV head).
/// `q` and `out` are `n_heads × head_dim`; `scores` holds at least `n_pos` floats. Allocates nothing.
pub fn attend(
    path: KernelPath,
    kv: &KvCache,
    site: &AttentionSite,
    heads: Heads,
    q: &[f32],
    scores: &mut [f32],
    out: &mut [f32],
) {
    let Heads { n_heads, n_kv_heads, head_dim } = heads;
    let group = n_heads / n_kv_heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let n = site.n_pos;
    let scores = &mut scores[..n];
    for h in 0..n_heads {
        let g = h / group;
        let qh = &q[h * head_dim..(h + 1) * head_dim];
        match kv.keys(site.layer, site.seq, g, n) {
            KvRows::F32(k) => {
                for (s, row) in scores.iter_mut().zip(k.chunks_exact(head_dim)) {
                    *s = kernels::dot_f32_with(path, qh, row) * scale;
                }
            }
            KvRows::F16(k) => {
                for (s, row) in scores.iter_mut().zip(k.chunks_exact(head_dim)) {
                    *s = kernels::dot_f16_f32_with(path, row, qh) * scale;
                }
            }
        }
        softmax(scores);
        let oh = &mut out[h * head_dim..(h + 1) * head_dim];
        oh.fill(0.0);
        match kv.values(site.layer, site.seq, g, n) {
            KvRows::F32(v) => {
                for (&s, row) in scores.iter().zip(v.chunks_exact(head_dim)) {
                    kernels::axpy_f32_with(path, oh, s, row);
                }
            }
            KvRows::F16(v) => {
                for (&s, row) in scores.iter().zip(v.chunks_exact(head_dim)) {
                    kernels::axpy_f16_with(path, oh, s, row);
                }
            }
        }
    }
}

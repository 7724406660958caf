//! Causal grouped-query attention of one token over the KV cache.

use super::kv_cache::{KvCache, KvRows, KvType};
use super::ops::softmax;
use crate::kernels::{self, round_to_f16_with, KernelPath};

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

/// Query heads handled in one pass over their shared f16 keys and values; `scores` holds this many heads' rows.
pub const GROUP_HEADS: usize = 4;

/// `out[h] = Σ_p softmax_p(q[h] · K[g][p] / sqrt(head_dim)) · V[g][p]` for every query head `h`, with
/// `g = h / (n_heads / n_kv_heads)` (consecutive query heads share one KV head).
/// `q` and `out` are `n_heads × head_dim`; `scores` holds at least `GROUP_HEADS × n_pos` floats, `q8` at least one
/// Q8_0 head row (`head_dim / 32 × 34` bytes; only a Q8_0 cache uses it: the query is quantized once per head and
/// dotted with the keys in integers, like llama.cpp's `vec_dot_type`). An f16 cache serves up to `GROUP_HEADS` heads
/// of a group per pass (each key and value converted once for all of them; the same numbers as head by head).
/// With an f16 cache, `q` (rounded in place) and the softmax weights are rounded to f16 before they meet the keys and
/// values, as llama.cpp's non-flash attention does (its f16 mul_mat converts the f32 operand), so both engines attend
/// with the same numbers. Allocates nothing.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    path: KernelPath,
    kv: &KvCache,
    site: &AttentionSite,
    heads: Heads,
    q: &mut [f32],
    scores: &mut [f32],
    q8: &mut [u8],
    out: &mut [f32],
) {
    let Heads { n_heads, n_kv_heads, head_dim } = heads;
    if kv.kv_type() == KvType::F16 {
        round_to_f16_with(path, &mut q[..n_heads * head_dim]);
    }
    let q = &*q;
    let group = n_heads / n_kv_heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let n = site.n_pos;
    for g in 0..n_kv_heads {
        let mut h = g * group;
        while h < (g + 1) * group {
            let m = ((g + 1) * group - h).min(GROUP_HEADS);
            let at = Group { h0: h, head_dim, scale, n };
            if let (KvRows::F16(k), KvRows::F16(v)) = (kv.keys(site.layer, site.seq, g, n), kv.values(site.layer, site.seq, g, n)) {
                match m {
                    4 => heads_f16::<4>(path, &at, k, v, q, scores, out),
                    3 => heads_f16::<3>(path, &at, k, v, q, scores, out),
                    2 => heads_f16::<2>(path, &at, k, v, q, scores, out),
                    _ => heads_f16::<1>(path, &at, k, v, q, scores, out),
                }
            } else {
                for hh in h..h + m {
                    one_head(path, kv, site, g, &at, hh, q, &mut scores[..n], q8, out);
                }
            }
            h += m;
        }
    }
}

/// Where one pass of `attend` works: its first query head, the head width, the score scale, the positions seen.
struct Group {
    h0: usize,
    head_dim: usize,
    scale: f32,
    n: usize,
}

/// Heads `h0..h0 + N` over f16 keys `k` and values `v` (`n` rows each).
fn heads_f16<const N: usize>(path: KernelPath, at: &Group, k: &[u16], v: &[u16], q: &[f32], scores: &mut [f32], out: &mut [f32]) {
    let (hd, n) = (at.head_dim, at.n);
    let qs: [&[f32]; N] = core::array::from_fn(|i| &q[(at.h0 + i) * hd..(at.h0 + i + 1) * hd]);
    kernels::scores_f16_with::<N>(path, k, qs, at.scale, &mut scores[..N * n]);
    for row in scores[..N * n].chunks_exact_mut(n) {
        softmax(row);
        round_to_f16_with(path, row);
    }
    kernels::weighted_sum_f16_with::<N>(path, v, &scores[..N * n], &mut out[at.h0 * hd..(at.h0 + N) * hd]);
}

/// Head `h` (of KV group `g`) alone, for the f32 and Q8_0 caches (and, head by head, the f16 one's reference).
#[allow(clippy::too_many_arguments)]
fn one_head(path: KernelPath, kv: &KvCache, site: &AttentionSite, g: usize, at: &Group, h: usize, q: &[f32], scores: &mut [f32], q8: &mut [u8], out: &mut [f32]) {
    let (head_dim, scale, n) = (at.head_dim, at.scale, at.n);
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
        KvRows::Q8_0(k) => {
            let row_len = kv.row_len();
            let qq = &mut q8[..row_len];
            kernels::quantize_q8_0_with(path, qh, qq);
            for (s, row) in scores.iter_mut().zip(k.chunks_exact(row_len)) {
                *s = kernels::dot_q8_0_with(path, row, qq) * scale;
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
            round_to_f16_with(path, scores);
            for (&s, row) in scores.iter().zip(v.chunks_exact(head_dim)) {
                kernels::axpy_f16_with(path, oh, s, row);
            }
        }
        KvRows::Q8_0(v) => {
            for (&s, row) in scores.iter().zip(v.chunks_exact(kv.row_len())) {
                kernels::axpy_q8_0_with(path, oh, s, row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::q8_0;
    use crate::model::KvType;

    fn values(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 2.0
            })
            .collect()
    }

    fn dequant(row: &[f32]) -> (Vec<u8>, Vec<f64>) {
        let mut q = vec![0u8; row.len() / 32 * 34];
        q8_0::quantize_activation_row(row, &mut q);
        let mut d = vec![0.0f32; row.len()];
        q8_0::dequantize_row(&q, &mut d);
        (q, d.into_iter().map(f64::from).collect())
    }

    /// Fills one cache per type with the same keys/values (2 KV heads × 64, 37 positions) and attends with 4 query
    /// heads; returns every type's output plus an f64 reference over the Q8_0-rounded keys, values and query.
    fn run(n_pos: usize) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
        let heads = Heads { n_heads: 4, n_kv_heads: 2, head_dim: 64 };
        let kv_dim = 2 * 64;
        let ks: Vec<Vec<f32>> = (0..n_pos).map(|p| values(2 * p as u64 + 1, kv_dim)).collect();
        let vs: Vec<Vec<f32>> = (0..n_pos).map(|p| values(2 * p as u64 + 2, kv_dim)).collect();
        let q = values(999, 4 * 64);
        let site = AttentionSite { layer: 0, seq: 0, n_pos };
        let mut outs = vec![];
        for t in [KvType::F32, KvType::Q8_0] {
            let mut kv = KvCache::new(t, 1, 1, 2, 64, n_pos).unwrap();
            for p in 0..n_pos {
                kv.write(KernelPath::Scalar, 0, 0, p, &ks[p], &vs[p]);
            }
            let (mut scores, mut q8, mut out) = (vec![0.0; n_pos], vec![0u8; 68], vec![0.0; 4 * 64]);
            attend(KernelPath::Scalar, &kv, &site, heads, &mut q.clone(), &mut scores, &mut q8, &mut out);
            outs.push(out);
        }
        let mut want = vec![0.0f64; 4 * 64];
        for h in 0..4 {
            let g = h / 2;
            let (_, qd) = dequant(&q[h * 64..(h + 1) * 64]);
            let sc: Vec<f64> = (0..n_pos)
                .map(|p| {
                    let (_, kd) = dequant(&ks[p][g * 64..(g + 1) * 64]);
                    qd.iter().zip(&kd).map(|(a, b)| a * b).sum::<f64>() / 8.0
                })
                .collect();
            let m = sc.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = sc.iter().map(|v| (v - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for p in 0..n_pos {
                let (_, vd) = dequant(&vs[p][g * 64..(g + 1) * 64]);
                for i in 0..64 {
                    want[h * 64 + i] += e[p] / z * vd[i];
                }
            }
        }
        let q8 = outs.pop().unwrap();
        (outs.pop().unwrap(), q8, want)
    }

    #[test]
    fn q8_0_cache_matches_the_dequantized_reference_and_stays_near_f32() {
        for n_pos in [1, 2, 37] {
            let (f32_out, q8_out, want) = run(n_pos);
            let to_ref = q8_out.iter().zip(&want).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
            let to_f32 = q8_out.iter().zip(&f32_out).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(to_ref < 1e-5, "n_pos {n_pos}: q8_0 attention differs from its f64 reference by {to_ref}");
            assert!(to_f32 < 5e-2, "n_pos {n_pos}: q8_0 attention differs from the f32 cache by {to_f32}");
        }
    }

    #[test]
    fn f16_groups_match_head_by_head() {
        // 3 heads per KV head (one pass) and 5 (a pass of 4, then 1): the grouped passes give the same numbers.
        for (n_heads, n_kv_heads) in [(6, 2), (5, 1)] {
            let heads = Heads { n_heads, n_kv_heads, head_dim: 64 };
            let n_pos = 23;
            let mut kv = KvCache::new(KvType::F16, 1, 1, n_kv_heads, 64, n_pos).unwrap();
            for p in 0..n_pos {
                kv.write(KernelPath::Scalar, 0, 0, p, &values(3 * p as u64 + 1, n_kv_heads * 64), &values(3 * p as u64 + 2, n_kv_heads * 64));
            }
            let q = values(77, n_heads * 64);
            let site = AttentionSite { layer: 0, seq: 0, n_pos };
            let mut scores = vec![0.0; GROUP_HEADS * n_pos];
            let mut out = vec![0.0; n_heads * 64];
            let mut q16 = q.clone();
            attend(KernelPath::Scalar, &kv, &site, heads, &mut q16, &mut scores, &mut [], &mut out);
            assert_ne!(q16, q, "an f16 cache rounds the query in place");
            let group = n_heads / n_kv_heads;
            for h in 0..n_heads {
                let mut want = vec![0.0; n_heads * 64];
                let at = Group { h0: h, head_dim: 64, scale: 0.125, n: n_pos };
                one_head(KernelPath::Scalar, &kv, &site, h / group, &at, h, &q16, &mut scores[..n_pos], &mut [], &mut want);
                assert_eq!(&out[h * 64..(h + 1) * 64], &want[h * 64..(h + 1) * 64], "{n_heads}/{n_kv_heads} heads: head {h}");
            }
        }
    }

}

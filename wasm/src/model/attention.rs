//! Causal grouped-query attention over the KV cache: one token (`attend`), or a chunk of prompt tokens in blocks
//! (`attend_prompt`), each cached key and value read and converted once per block of query rows.

use super::error::{try_zeroed, ModelError};
use super::kv_cache::{KvCache, KvRows, KvType};
use super::ops::softmax;
use crate::kernels::attn_tiles::{self, TILE_ROWS};
use crate::kernels::{self, round_to_f16_with, round_weights_to_f16_with, KernelPath};

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
        round_weights_to_f16_with(path, row);
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
            round_weights_to_f16_with(path, scores);
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

/// Query rows of one block of prompt attention at most: consecutive tokens × the query heads of one KV head.
pub const PROMPT_ROWS: usize = 16;

/// The working buffers of attention, sized once for the context.
pub struct AttentionScratch {
    /// Scores of up to `PROMPT_ROWS` query rows over the context (`attend` uses `GROUP_HEADS` rows of it).
    pub scores: Vec<f32>,
    /// Query rows quantized to Q8_0 for a Q8_0 cache (`PROMPT_ROWS` head rows; empty otherwise).
    pub q8: Vec<u8>,
    /// One block's query rows, gathered, and its outputs (`PROMPT_ROWS × head_dim` each).
    rows: Vec<f32>,
    outs: Vec<f32>,
    /// `TILE_ROWS` cached key or value rows decoded to f32, and a Q8_0 tile's block scales.
    tile: Vec<f32>,
    tile_scales: Vec<f32>,
}

impl AttentionScratch {
    /// `q8_row`: bytes of one Q8_0 head row when the cache is Q8_0, else 0.
    pub fn new(head_dim: usize, context: usize, q8_row: usize) -> Result<AttentionScratch, ModelError> {
        let [scores, q8, rows, tile, tile_scales] = Self::sizes(head_dim, context, q8_row)
            .ok_or_else(|| ModelError::out_of_memory("attention scratch size overflows the address space"))?;
        Ok(AttentionScratch {
            scores: try_zeroed(scores, "attention scores")?,
            q8: try_zeroed(q8, "attention queries (Q8_0)")?,
            rows: try_zeroed(rows, "attention query rows")?,
            outs: try_zeroed(rows, "attention output rows")?,
            tile: try_zeroed(tile, "attention key/value tile")?,
            tile_scales: try_zeroed(tile_scales, "attention tile scales")?,
        })
    }

    /// Elements of scores, q8, rows (and outs), tile, tile scales.
    fn sizes(head_dim: usize, context: usize, q8_row: usize) -> Option<[usize; 5]> {
        Some([
            context.checked_mul(PROMPT_ROWS.max(GROUP_HEADS))?,
            q8_row.checked_mul(PROMPT_ROWS)?,
            head_dim.checked_mul(PROMPT_ROWS)?,
            head_dim.checked_mul(TILE_ROWS)?,
            (head_dim / 32).checked_mul(TILE_ROWS)?,
        ])
    }

    /// What `new(..).bytes()` will be, without allocating; `None` if it overflows.
    pub fn planned_bytes(head_dim: usize, context: usize, q8_row: usize) -> Option<usize> {
        let [scores, q8, rows, tile, tile_scales] = Self::sizes(head_dim, context, q8_row)?;
        [scores, rows, rows, tile, tile_scales].iter().try_fold(0usize, |a, &n| a.checked_add(n))?.checked_mul(4)?.checked_add(q8)
    }

    pub fn bytes(&self) -> usize {
        (self.scores.capacity() + self.rows.capacity() + self.outs.capacity() + self.tile.capacity() + self.tile_scales.capacity()) * 4
            + self.q8.capacity()
    }
}

/// Where a chunk of prompt tokens attends: `n_tokens` consecutive tokens at positions `pos0..`, whose keys and
/// values are already cached; token `t` sees positions `0..=pos0 + t`.
pub struct PromptSite {
    pub layer: usize,
    pub seq: usize,
    pub pos0: usize,
    pub n_tokens: usize,
}

/// `attend` for every token of a prompt chunk, with the same numbers bit for bit, in blocks: up to `PROMPT_ROWS`
/// query rows (consecutive tokens × the query heads sharing one KV head) go against each tile of `TILE_ROWS`
/// cached rows, so each key and value is read and converted once per block rather than once per token (Q·Kᵀ
/// tiles, then each row's softmax over its causal prefix, then P·V tiles; the positions only some rows of a block
/// see, its diagonal, are added row by row). `q` and `out` are `n_tokens × n_heads × head_dim`; `q` is rounded to
/// f16 in place with an f16 cache, as `attend` does. An f32 cache, a head size that is not a multiple of 16, or a
/// single token take `attend` token by token. Allocates nothing.
pub fn attend_prompt(path: KernelPath, kv: &KvCache, site: &PromptSite, heads: Heads, q: &mut [f32], w: &mut AttentionScratch, out: &mut [f32]) {
    let Heads { n_heads, n_kv_heads, head_dim } = heads;
    let (n, q_dim) = (site.n_tokens, n_heads * head_dim);
    let tiled = n > 1 && head_dim % 16 == 0 && kv.kv_type() != KvType::F32;
    if !tiled {
        for t in 0..n {
            let one = AttentionSite { layer: site.layer, seq: site.seq, n_pos: site.pos0 + t + 1 };
            let rows = t * q_dim..(t + 1) * q_dim;
            attend(path, kv, &one, heads, &mut q[rows.clone()], &mut w.scores, &mut w.q8, &mut out[rows]);
        }
        return;
    }
    if kv.kv_type() == KvType::F16 {
        round_to_f16_with(path, &mut q[..n * q_dim]);
    }
    let group = n_heads / n_kv_heads;
    let passes = group.div_ceil(PROMPT_ROWS);
    for g in 0..n_kv_heads {
        for pass in 0..passes {
            let h0 = g * group + pass * group / passes;
            let m = g * group + (pass + 1) * group / passes - h0;
            let per_block = (PROMPT_ROWS / m).max(1);
            let mut t0 = 0;
            while t0 < n {
                let tn = per_block.min(n - t0);
                let block = Block { g, h0, m, t0, tn };
                attend_block(path, kv, site, heads, &block, q, w, out);
                t0 += tn;
            }
        }
    }
}

/// One block of `attend_prompt`: tokens `t0..t0 + tn` of the chunk × query heads `h0..h0 + m` of KV head `g`;
/// row `r` is token `t0 + r / m`, head `h0 + r % m`.
struct Block {
    g: usize,
    h0: usize,
    m: usize,
    t0: usize,
    tn: usize,
}

#[allow(clippy::too_many_arguments)]
fn attend_block(path: KernelPath, kv: &KvCache, site: &PromptSite, heads: Heads, b: &Block, q: &[f32], w: &mut AttentionScratch, out: &mut [f32]) {
    let hd = heads.head_dim;
    let q_dim = heads.n_heads * hd;
    let n_rows = b.tn * b.m;
    let at = |r: usize| (b.t0 + r / b.m) * q_dim + (b.h0 + r % b.m) * hd;
    // Every row sees positions 0..lo; row r sees up to lo + r / m; the last token sees 0..hi, the score rows' width.
    let (lo, hi) = (site.pos0 + b.t0 + 1, site.pos0 + b.t0 + b.tn);
    let seen = |r: usize| lo + r / b.m;
    let scale = 1.0 / (hd as f32).sqrt();
    let rows = &mut w.rows[..n_rows * hd];
    for (r, row) in rows.chunks_exact_mut(hd).enumerate() {
        row.copy_from_slice(&q[at(r)..at(r) + hd]);
    }
    let scores = &mut w.scores[..n_rows * hi];
    let row_len = kv.row_len();
    match kv.keys(site.layer, site.seq, b.g, hi) {
        KvRows::F16(k) => {
            for p0 in (0..hi).step_by(TILE_ROWS) {
                let p1 = (p0 + TILE_ROWS).min(hi);
                let tile = &mut w.tile[..(p1 - p0) * hd];
                attn_tiles::f16_to_f32_tile_with(path, &k[p0 * hd..p1 * hd], tile);
                attn_tiles::scores_tile_with(path, rows, tile, hd, scale, &mut scores[p0..], hi);
            }
        }
        KvRows::Q8_0(k) => {
            let q8 = &mut w.q8[..n_rows * row_len];
            for (row, qq) in rows.chunks_exact(hd).zip(q8.chunks_exact_mut(row_len)) {
                kernels::quantize_q8_0_with(path, row, qq);
            }
            attn_tiles::scores_q8_0_tile_with(path, q8, k, row_len, scale, scores, hi);
        }
        KvRows::F32(_) => unreachable!("attend_prompt takes an f32 cache token by token"),
    }
    let f16 = kv.kv_type() == KvType::F16;
    for r in 0..n_rows {
        let row = &mut scores[r * hi..r * hi + seen(r)];
        softmax(row);
        if f16 {
            round_weights_to_f16_with(path, row);
        }
    }
    let outs = &mut w.outs[..n_rows * hd];
    outs.fill(0.0);
    let values = kv.values(site.layer, site.seq, b.g, hi);
    for p0 in (0..lo).step_by(TILE_ROWS) {
        let p1 = (p0 + TILE_ROWS).min(lo);
        let tile = &mut w.tile[..(p1 - p0) * hd];
        let scales = match values {
            KvRows::F16(v) => {
                attn_tiles::f16_to_f32_tile_with(path, &v[p0 * hd..p1 * hd], tile);
                None
            }
            KvRows::Q8_0(v) => {
                let s = &mut w.tile_scales[..(p1 - p0) * hd / 32];
                attn_tiles::q8_0_to_f32_tile_with(path, &v[p0 * row_len..p1 * row_len], tile, s);
                Some(&*s)
            }
            KvRows::F32(_) => unreachable!("attend_prompt takes an f32 cache token by token"),
        };
        attn_tiles::weighted_tile_with(path, &scores[p0..], hi, tile, scales, hd, outs);
    }
    // The diagonal: position p (lo ≤ p < hi) only for the rows of the tokens that see it, still in ascending p.
    for p in lo..hi {
        for r in (0..n_rows).filter(|&r| seen(r) > p) {
            let (a, o) = (scores[r * hi + p], &mut outs[r * hd..(r + 1) * hd]);
            match values {
                KvRows::F16(v) => kernels::axpy_f16_with(path, o, a, &v[p * hd..(p + 1) * hd]),
                KvRows::Q8_0(v) => kernels::axpy_q8_0_with(path, o, a, &v[p * row_len..(p + 1) * row_len]),
                KvRows::F32(_) => unreachable!("attend_prompt takes an f32 cache token by token"),
            }
        }
    }
    for (r, o) in outs.chunks_exact(hd).enumerate() {
        out[at(r)..at(r) + hd].copy_from_slice(o);
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


    /// `attend_prompt` over a chunk equals `attend` token by token, bit for bit: GQA groups of 1 to 20 heads (one or
    /// two passes, blocks that split tokens unevenly), f16 and Q8_0 caches (and the f32 / odd-head-size fallback),
    /// chunks that start at 0 or after cached positions, a diagonal inside and across key tiles.
    #[test]
    fn prompt_blocks_match_token_by_token() {
        let shapes = [(4, 2, 64), (6, 2, 64), (5, 1, 32), (3, 3, 16), (14, 2, 64), (40, 2, 32), (4, 1, 24)];
        for (n_heads, n_kv_heads, hd) in shapes {
            for kv_type in [KvType::F16, KvType::Q8_0, KvType::F32] {
                if kv_type.row_bytes(hd).is_none() {
                    continue;
                }
                for (pos0, n) in [(0, 2), (0, 7), (3, 1), (3, 33), (45, 19)] {
                    let heads = Heads { n_heads, n_kv_heads, head_dim: hd };
                    let (q_dim, kv_dim, cap) = (n_heads * hd, n_kv_heads * hd, pos0 + n);
                    let mut kv = KvCache::new(kv_type, 2, 2, n_kv_heads, hd, cap).unwrap();
                    for p in 0..cap {
                        let seed = 7 * p as u64 + hd as u64;
                        kv.write(KernelPath::Scalar, 1, 1, p, &values(seed, kv_dim), &values(seed + 3, kv_dim));
                    }
                    let q = values(n_heads as u64 * 31 + pos0 as u64, n * q_dim);
                    let q8_row = KvType::Q8_0.row_bytes(hd).unwrap_or(0);
                    let mut w = AttentionScratch::new(hd, cap, q8_row).unwrap();
                    let (mut q_blocks, mut out) = (q.clone(), vec![f32::NAN; n * q_dim]);
                    let site = PromptSite { layer: 1, seq: 1, pos0, n_tokens: n };
                    attend_prompt(KernelPath::Scalar, &kv, &site, heads, &mut q_blocks, &mut w, &mut out);
                    let (mut q_tokens, mut want) = (q.clone(), vec![0.0; n * q_dim]);
                    for t in 0..n {
                        let one = AttentionSite { layer: 1, seq: 1, n_pos: pos0 + t + 1 };
                        let r = t * q_dim..(t + 1) * q_dim;
                        attend(KernelPath::Scalar, &kv, &one, heads, &mut q_tokens[r.clone()], &mut w.scores, &mut w.q8, &mut want[r]);
                    }
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    let what = format!("{n_heads}/{n_kv_heads} heads × {hd}, {}, positions {pos0}..{}", kv_type.name(), pos0 + n);
                    assert_eq!(bits(&q_blocks), bits(&q_tokens), "{what}: the rounded queries");
                    assert_eq!(bits(&out), bits(&want), "{what}: the outputs");
                }
            }
        }
    }
}

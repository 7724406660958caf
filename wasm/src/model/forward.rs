//! The forward pass: tokens in, logits out, K/V appended to the cache.
//!
//! Tokens are processed in chunks of up to `max_batch` positions; within a chunk every matmul runs over all its
//! tokens at once (`kernels::matmul_with(.., n_tokens, ..)`), so prefill reads each weight tile once per chunk
//! rather than once per token; attention goes over the chunk in blocks of tokens too (`attend_prompt`).

use super::attention::{attend_prompt, Heads, PromptSite};
use super::error::ModelError;
use super::ops::{add_bias_rows, add_in_place, rmsnorm, silu_mul};
use super::Model;
use crate::kernels::{self, matmul_with};

/// Which rows of a chunk need logits.
#[derive(Clone, Copy)]
enum LogitsFor {
    None,
    /// Only the chunk's last token, written at the start of the logits buffer.
    Last,
    /// Every token of the chunk, written from row `first_row` of the logits buffer.
    All {
        first_row: usize,
    },
}

impl Model {
    /// Runs `tokens` at positions `start_pos..` of sequence slot `seq` and returns the logits: `vocab` floats for the
    /// last token, or `tokens.len() × vocab` (row per token) when `all_logits`.
    ///
    /// `start_pos` may be less than the sequence's cached length: the cache is then truncated to `start_pos` first
    /// (re-running from an earlier point, e.g. to reuse a shared prompt prefix). `start_pos` greater than the cached
    /// length is an error, as is any token id outside the vocabulary or running past the context; every check is made
    /// before anything is computed, so a failed call leaves the sequence unchanged.
    pub fn forward(
        &mut self,
        seq: usize,
        tokens: &[u32],
        start_pos: usize,
        all_logits: bool,
    ) -> Result<&[f32], ModelError> {
        let cached = self.kv.len(seq)?;
        if tokens.is_empty() {
            return Err(ModelError::invalid_argument("tokens is empty"));
        }
        if start_pos > cached {
            return Err(ModelError::invalid_argument(format!(
                "start_pos {start_pos} is past the end of sequence {seq}, which holds {cached} positions"
            )));
        }
        let capacity = self.kv.capacity();
        let end = start_pos.saturating_add(tokens.len());
        if end > capacity {
            return Err(ModelError::context_overflow(capacity, end, format!(
                "positions {start_pos}..{end} do not fit the context of {capacity} positions"
            )));
        }
        let vocab = self.config.vocab_size;
        if let Some((i, &t)) = tokens.iter().enumerate().find(|(_, &t)| t as usize >= vocab) {
            return Err(ModelError::invalid_argument(format!(
                "token id {t} at index {i} (position {}) is not below the vocabulary size {vocab}",
                start_pos + i
            )));
        }
        let n_logit_rows = if all_logits { tokens.len() } else { 1 };
        let n_logits = n_logit_rows.checked_mul(vocab).ok_or_else(|| {
            ModelError::out_of_memory(format!("{n_logit_rows} rows of {vocab} logits overflow the address space"))
        })?;
        self.scratch.reserve_logits(n_logits)?;
        self.kv.truncate(seq, start_pos)?;

        let n = tokens.len();
        let mut first = 0;
        while first < n {
            let len = self.max_batch.min(n - first);
            let want = if all_logits {
                LogitsFor::All { first_row: first }
            } else if first + len == n {
                LogitsFor::Last
            } else {
                LogitsFor::None
            };
            self.run_chunk(seq, &tokens[first..first + len], start_pos + first, want);
            // Record progress per chunk so the cache length always matches what was written.
            self.kv.set_len(seq, start_pos + first + len);
            first += len;
        }
        self.logits_len = n_logits;
        Ok(&self.scratch.logits[..self.logits_len])
    }

    /// One chunk of at most `max_batch` validated tokens at positions `pos0..pos0 + tokens.len()`.
    fn run_chunk(&mut self, seq: usize, tokens: &[u32], pos0: usize, want: LogitsFor) {
        let Model { config: cfg, gguf, weights: w, rope, kv, scratch: s, kernel_path, .. } = self;
        let path = *kernel_path;
        let arena: &[u8] = &gguf.data;
        let n = tokens.len();
        let (dim, q_dim, kv_dim, ffn, hd) = (cfg.dim, cfg.q_dim(), cfg.kv_dim(), cfg.ffn_dim, cfg.head_dim);
        let half = rope.n_pairs();
        let heads = Heads { n_heads: cfg.n_heads, n_kv_heads: cfg.n_kv_heads, head_dim: hd };

        let embd = w.token_embd.view(arena);
        for (t, &id) in tokens.iter().enumerate() {
            kernels::dequantize_row(&embd, id as usize, &mut s.x[t * dim..(t + 1) * dim]);
        }
        for t in 0..n {
            rope.angles(pos0 + t, &mut s.cos[t * half..(t + 1) * half], &mut s.sin[t * half..(t + 1) * half]);
        }

        for (l, lw) in w.layers.iter().enumerate() {
            // --- attention sub-block ---
            for t in 0..n {
                let r = t * dim..(t + 1) * dim;
                rmsnorm(&mut s.xb[r.clone()], &s.x[r], &lw.attn_norm, cfg.rms_eps);
            }
            let xb = &s.xb[..n * dim];
            matmul_with(path, &lw.wq.view(arena), xb, n, &mut s.q[..n * q_dim], &mut s.matmul);
            matmul_with(path, &lw.wk.view(arena), xb, n, &mut s.k[..n * kv_dim], &mut s.matmul);
            matmul_with(path, &lw.wv.view(arena), xb, n, &mut s.v[..n * kv_dim], &mut s.matmul);
            if let (Some(bq), Some(bk), Some(bv)) = (&lw.bq, &lw.bk, &lw.bv) {
                add_bias_rows(&mut s.q[..n * q_dim], bq);
                add_bias_rows(&mut s.k[..n * kv_dim], bk);
                add_bias_rows(&mut s.v[..n * kv_dim], bv);
            }
            for t in 0..n {
                let (cos, sin) = (&s.cos[t * half..(t + 1) * half], &s.sin[t * half..(t + 1) * half]);
                rope.apply(&mut s.q[t * q_dim..(t + 1) * q_dim], hd, cos, sin);
                rope.apply(&mut s.k[t * kv_dim..(t + 1) * kv_dim], hd, cos, sin);
                let kv_rows = t * kv_dim..(t + 1) * kv_dim;
                kv.write(path, l, seq, pos0 + t, &s.k[kv_rows.clone()], &s.v[kv_rows]);
            }
            let site = PromptSite { layer: l, seq, pos0, n_tokens: n };
            attend_prompt(path, kv, &site, heads, &mut s.q[..n * q_dim], &mut s.attn, &mut s.att[..n * q_dim]);
            matmul_with(path, &lw.wo.view(arena), &s.att[..n * q_dim], n, &mut s.proj[..n * dim], &mut s.matmul);
            add_in_place(&mut s.x[..n * dim], &s.proj[..n * dim]);

            // --- feed-forward sub-block (SwiGLU) ---
            for t in 0..n {
                let r = t * dim..(t + 1) * dim;
                rmsnorm(&mut s.xb[r.clone()], &s.x[r], &lw.ffn_norm, cfg.rms_eps);
            }
            let xb = &s.xb[..n * dim];
            matmul_with(path, &lw.ffn_gate.view(arena), xb, n, &mut s.gate[..n * ffn], &mut s.matmul);
            matmul_with(path, &lw.ffn_up.view(arena), xb, n, &mut s.up[..n * ffn], &mut s.matmul);
            silu_mul(&mut s.gate[..n * ffn], &s.up[..n * ffn]);
            matmul_with(path, &lw.ffn_down.view(arena), &s.gate[..n * ffn], n, &mut s.proj[..n * dim], &mut s.matmul);
            add_in_place(&mut s.x[..n * dim], &s.proj[..n * dim]);
        }

        // --- final norm and classifier, only for the rows that need logits ---
        let vocab = cfg.vocab_size;
        let (first_tok, n_rows, out_row) = match want {
            LogitsFor::None => return,
            LogitsFor::Last => (n - 1, 1, 0),
            LogitsFor::All { first_row } => (0, n, first_row),
        };
        for i in 0..n_rows {
            let src = (first_tok + i) * dim..(first_tok + i + 1) * dim;
            rmsnorm(&mut s.xb[i * dim..(i + 1) * dim], &s.x[src], &w.output_norm, cfg.rms_eps);
        }
        matmul_with(
            path,
            &w.output.view(arena),
            &s.xb[..n_rows * dim],
            n_rows,
            &mut s.logits[out_row * vocab..(out_row + n_rows) * vocab],
            &mut s.matmul,
        );
    }
}

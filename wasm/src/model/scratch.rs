//! Working buffers of the forward pass, sized once for a chunk of `max_batch` tokens so no step allocates.

use super::attention::AttentionScratch;
use super::config::ModelConfig;
use super::error::{try_zeroed, ModelError};
use crate::kernels::MatmulScratch;

pub struct Scratch {
    /// Residual stream, `max_batch × dim`.
    pub x: Vec<f32>,
    /// Normed input of a sub-block, `max_batch × dim`.
    pub xb: Vec<f32>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// Attention output (all heads), `max_batch × q_dim`.
    pub att: Vec<f32>,
    /// Output of `attn_output` / `ffn_down`, before the residual add, `max_batch × dim`.
    pub proj: Vec<f32>,
    pub gate: Vec<f32>,
    pub up: Vec<f32>,
    /// Attention's scores, quantized queries and tiles.
    pub attn: AttentionScratch,
    /// RoPE cos/sin of every position of the chunk, `max_batch × rope_dim/2`.
    pub cos: Vec<f32>,
    pub sin: Vec<f32>,
    /// Logits: `vocab` floats, grown once to `n × vocab` the first time a call asks for every position's logits.
    pub logits: Vec<f32>,
    pub matmul: MatmulScratch,
}

impl Scratch {
    /// `q8_row`: bytes of one Q8_0 head row when the KV cache is Q8_0, else 0.
    pub fn new(cfg: &ModelConfig, max_batch: usize, context: usize, q8_row: usize) -> Result<Scratch, ModelError> {
        let b = max_batch;
        let buf = |n: usize, what: &str| -> Result<Vec<f32>, ModelError> {
            let len = n
                .checked_mul(b)
                .ok_or_else(|| ModelError::out_of_memory(format!("scratch buffer {what} overflows")))?;
            try_zeroed(len, what)
        };
        let max_cols = cfg.dim.max(cfg.q_dim()).max(cfg.ffn_dim);
        Ok(Scratch {
            x: buf(cfg.dim, "x")?,
            xb: buf(cfg.dim, "xb")?,
            q: buf(cfg.q_dim(), "q")?,
            k: buf(cfg.kv_dim(), "k")?,
            v: buf(cfg.kv_dim(), "v")?,
            att: buf(cfg.q_dim(), "att")?,
            proj: buf(cfg.dim, "proj")?,
            gate: buf(cfg.ffn_dim, "gate")?,
            up: buf(cfg.ffn_dim, "up")?,
            attn: AttentionScratch::new(cfg.head_dim, context, q8_row)?,
            cos: buf(cfg.rope_dim / 2, "rope cos")?,
            sin: buf(cfg.rope_dim / 2, "rope sin")?,
            logits: try_zeroed(cfg.vocab_size, "logits")?,
            matmul: MatmulScratch::new(max_batch, max_cols),
        })
    }

    /// What `new(cfg, max_batch, context, q8_row).bytes()` will be, without allocating; `None` if it overflows.
    pub fn planned_bytes(cfg: &ModelConfig, max_batch: usize, context: usize, q8_row: usize) -> Option<usize> {
        let per_token = [cfg.dim * 3, cfg.q_dim() * 2, cfg.kv_dim() * 2, cfg.ffn_dim * 2, (cfg.rope_dim / 2) * 2]
            .iter()
            .try_fold(0usize, |acc, &n| acc.checked_add(n))?;
        let floats = per_token.checked_mul(max_batch)?.checked_add(cfg.vocab_size)?;
        let max_cols = cfg.dim.max(cfg.q_dim()).max(cfg.ffn_dim);
        floats
            .checked_mul(4)?
            .checked_add(AttentionScratch::planned_bytes(cfg.head_dim, context, q8_row)?)?
            .checked_add(MatmulScratch::planned_bytes(max_batch, max_cols))
    }

    /// Makes room for `n_rows × vocab` logits (only the all-positions path needs more than one row).
    pub fn reserve_logits(&mut self, len: usize) -> Result<(), ModelError> {
        if self.logits.len() < len {
            let extra = len - self.logits.len();
            self.logits
                .try_reserve_exact(extra)
                .map_err(|_| ModelError::out_of_memory(format!("cannot allocate {len} logits for every position")))?;
            self.logits.resize(len, 0.0);
        }
        Ok(())
    }

    pub fn bytes(&self) -> usize {
        let f32s = [
            &self.x,
            &self.xb,
            &self.q,
            &self.k,
            &self.v,
            &self.att,
            &self.proj,
            &self.gate,
            &self.up,
            &self.cos,
            &self.sin,
            &self.logits,
        ]
        .iter()
        .map(|v| v.capacity())
        .sum::<usize>();
        f32s * 4 + self.attn.bytes() + self.matmul.bytes()
    }
}

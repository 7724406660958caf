//! Rotary position embedding. The inverse-frequency table is computed once per model; each position then needs
//! `rope_dim / 2` sin/cos pairs, shared by every head of every layer of that token.

use super::config::{ModelConfig, RopeStyle};

pub struct Rope {
    style: RopeStyle,
    /// Radians per position of pair `i`: `base^(-2i / rope_dim) / freq_factor[i] / linear_factor`.
    inv_freq: Vec<f64>,
}

impl Rope {
    pub fn new(cfg: &ModelConfig, freq_factors: Option<&[f32]>) -> Rope {
        let half = cfg.rope_dim / 2;
        let base = cfg.rope_base as f64;
        let inv_freq = (0..half)
            .map(|i| {
                let mut f = base.powf(-((2 * i) as f64) / cfg.rope_dim as f64);
                if let Some(ff) = freq_factors {
                    f /= ff[i] as f64;
                }
                f / cfg.rope_linear_factor as f64
            })
            .collect();
        Rope { style: cfg.rope_style, inv_freq }
    }

    /// Pairs per head that rotate (`rope_dim / 2`); the length of the `cos`/`sin` buffers.
    pub fn n_pairs(&self) -> usize {
        self.inv_freq.len()
    }

    /// Fills `cos`/`sin` (len `n_pairs`) for position `pos`. Angles are computed in f64: for long contexts
    /// `pos · freq` loses digits in f32.
    pub fn angles(&self, pos: usize, cos: &mut [f32], sin: &mut [f32]) {
        for (i, &f) in self.inv_freq.iter().enumerate() {
            let a = pos as f64 * f;
            cos[i] = a.cos() as f32;
            sin[i] = a.sin() as f32;
        }
    }

    /// Rotates each `head_dim`-wide head of `x` in place with the precomputed `cos`/`sin` of one position.
    pub fn apply(&self, x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
        let half = self.inv_freq.len();
        for head in x.chunks_exact_mut(head_dim) {
            for i in 0..half {
                let (a, b) = match self.style {
                    RopeStyle::Normal => (2 * i, 2 * i + 1),
                    RopeStyle::NeoX => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos[i] - x1 * sin[i];
                head[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}

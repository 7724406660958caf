//! Rotary position embedding. Each position needs `rope_dim / 2` sin/cos pairs, shared by every head of every layer
//! of that token.

use super::config::{ModelConfig, RopeStyle};

pub struct Rope {
    style: RopeStyle,
    /// `base^(-2 / rope_dim)`: each pair turns this much slower than the one before.
    theta_scale: f32,
    /// Per-pair frequency divisors (Llama 3's `rope_freqs`), else all 1.
    freq_factors: Vec<f32>,
    /// `1 / linear_factor` (linear position interpolation).
    freq_scale: f32,
}

impl Rope {
    pub fn new(cfg: &ModelConfig, freq_factors: Option<&[f32]>) -> Rope {
        let half = cfg.rope_dim / 2;
        Rope {
            style: cfg.rope_style,
            theta_scale: cfg.rope_base.powf(-2.0 / cfg.rope_dim as f32),
            freq_factors: freq_factors.map_or_else(|| vec![1.0; half], |f| f[..half].to_vec()),
            freq_scale: 1.0 / cfg.rope_linear_factor,
        }
    }

    /// Pairs per head that rotate (`rope_dim / 2`); the length of the `cos`/`sin` buffers.
    pub fn n_pairs(&self) -> usize {
        self.freq_factors.len()
    }

    /// Fills `cos`/`sin` (len `n_pairs`) for position `pos`, in f32 exactly as ggml's rope cache (the angle of pair
    /// i is `pos · theta_scale^i`, multiplied up pair by pair): both engines then rotate with the same bits, so the
    /// f16 keys and queries round alike.
    pub fn angles(&self, pos: usize, cos: &mut [f32], sin: &mut [f32]) {
        let mut theta = pos as f32;
        for (i, &ff) in self.freq_factors.iter().enumerate() {
            let a = self.freq_scale * (theta / ff);
            cos[i] = a.cos();
            sin[i] = a.sin();
            theta *= self.theta_scale;
        }
    }

    /// Rotates each `head_dim`-wide head of `x` in place with the precomputed `cos`/`sin` of one position.
    pub fn apply(&self, x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
        let half = self.freq_factors.len();
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

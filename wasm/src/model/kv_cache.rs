//! The key/value cache: preallocated for `capacity` positions × `n_seq` sequence slots, stored f32 or f16.
//!
//! Layout `[layer][seq][kv_head][pos][head_dim]`: for one (layer, sequence, head) all positions are one contiguous
//! run, so attention streams the keys (and then the values) of a head front to back.

use super::error::{try_zeroed, ModelError};
use crate::kernels;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvType {
    F32,
    F16,
}

impl KvType {
    pub fn from_name(name: &str) -> Option<KvType> {
        match name {
            "f32" => Some(KvType::F32),
            "f16" => Some(KvType::F16),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
        }
    }
    pub fn bytes(self) -> usize {
        match self {
            KvType::F32 => 4,
            KvType::F16 => 2,
        }
    }
}

enum Store {
    F32(Vec<f32>),
    F16(Vec<u16>),
}

/// The cached rows of one (layer, sequence, head) for positions `0..n`: `n × head_dim` values.
pub enum KvRows<'a> {
    F32(&'a [f32]),
    F16(&'a [u16]),
}

pub struct KvCache {
    kv_type: KvType,
    n_layers: usize,
    n_seq: usize,
    n_kv_heads: usize,
    head_dim: usize,
    capacity: usize,
    keys: Store,
    values: Store,
    lens: Vec<usize>,
}

impl KvCache {
    pub fn new(
        kv_type: KvType,
        n_layers: usize,
        n_seq: usize,
        n_kv_heads: usize,
        head_dim: usize,
        capacity: usize,
    ) -> Result<KvCache, ModelError> {
        let elems = [n_layers, n_seq, n_kv_heads, head_dim, capacity]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&e| e.checked_mul(2 * kv_type.bytes()).is_some())
            .ok_or_else(|| ModelError::out_of_memory("KV cache size overflows the address space"))?;
        let store = || -> Result<Store, ModelError> {
            Ok(match kv_type {
                KvType::F32 => Store::F32(try_zeroed(elems, "the KV cache")?),
                KvType::F16 => Store::F16(try_zeroed(elems, "the KV cache")?),
            })
        };
        Ok(KvCache {
            kv_type,
            n_layers,
            n_seq,
            n_kv_heads,
            head_dim,
            capacity,
            keys: store()?,
            values: store()?,
            lens: vec![0; n_seq],
        })
    }

    pub fn kv_type(&self) -> KvType {
        self.kv_type
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn n_seq(&self) -> usize {
        self.n_seq
    }

    /// Positions cached for `seq`.
    pub fn len(&self, seq: usize) -> Result<usize, ModelError> {
        self.check_seq(seq)?;
        Ok(self.lens[seq])
    }

    /// Forgets every position of `seq`.
    pub fn reset(&mut self, seq: usize) -> Result<(), ModelError> {
        self.truncate(seq, 0)
    }

    /// Keeps only the first `len` positions of `seq` (the data past it is simply overwritten later).
    pub fn truncate(&mut self, seq: usize, len: usize) -> Result<(), ModelError> {
        self.check_seq(seq)?;
        if len > self.lens[seq] {
            return Err(ModelError::invalid_argument(format!(
                "cannot truncate sequence {seq} to {len}: it holds only {} positions",
                self.lens[seq]
            )));
        }
        self.lens[seq] = len;
        Ok(())
    }

    /// Marks `len` positions of `seq` as filled (after the forward pass wrote them).
    pub(crate) fn set_len(&mut self, seq: usize, len: usize) {
        debug_assert!(seq < self.n_seq && len <= self.capacity);
        self.lens[seq] = len;
    }

    /// Bytes held by keys and values together.
    pub fn bytes(&self) -> usize {
        let per = |s: &Store| match s {
            Store::F32(v) => v.len() * 4,
            Store::F16(v) => v.len() * 2,
        };
        per(&self.keys) + per(&self.values)
    }

    pub fn check_seq(&self, seq: usize) -> Result<(), ModelError> {
        if seq >= self.n_seq {
            return Err(ModelError::invalid_argument(format!(
                "sequence slot {seq} does not exist (this engine has {} slots)",
                self.n_seq
            )));
        }
        Ok(())
    }

    fn base(&self, layer: usize, seq: usize, head: usize) -> usize {
        ((layer * self.n_seq + seq) * self.n_kv_heads + head) * self.capacity * self.head_dim
    }

    /// Stores the key and value rows (`n_kv_heads × head_dim` each) of one position.
    pub fn write(&mut self, layer: usize, seq: usize, pos: usize, k: &[f32], v: &[f32]) {
        debug_assert!(layer < self.n_layers && seq < self.n_seq && pos < self.capacity);
        let hd = self.head_dim;
        for h in 0..self.n_kv_heads {
            let at = self.base(layer, seq, h) + pos * hd;
            let (ks, vs) = (&k[h * hd..(h + 1) * hd], &v[h * hd..(h + 1) * hd]);
            match (&mut self.keys, &mut self.values) {
                (Store::F32(kc), Store::F32(vc)) => {
                    kc[at..at + hd].copy_from_slice(ks);
                    vc[at..at + hd].copy_from_slice(vs);
                }
                (Store::F16(kc), Store::F16(vc)) => {
                    kernels::f32_to_f16_slice(ks, &mut kc[at..at + hd]);
                    kernels::f32_to_f16_slice(vs, &mut vc[at..at + hd]);
                }
                _ => unreachable!("keys and values always share one storage type"),
            }
        }
    }

    /// Keys of positions `0..n` of one head.
    pub fn keys(&self, layer: usize, seq: usize, head: usize, n: usize) -> KvRows<'_> {
        Self::rows(&self.keys, self.base(layer, seq, head), n * self.head_dim)
    }

    /// Values of positions `0..n` of one head.
    pub fn values(&self, layer: usize, seq: usize, head: usize, n: usize) -> KvRows<'_> {
        Self::rows(&self.values, self.base(layer, seq, head), n * self.head_dim)
    }

    fn rows(store: &Store, at: usize, len: usize) -> KvRows<'_> {
        match store {
            Store::F32(s) => KvRows::F32(&s[at..at + len]),
            Store::F16(s) => KvRows::F16(&s[at..at + len]),
        }
    }
}

//! The key/value cache: preallocated for `capacity` positions × `n_seq` sequence slots, stored f32, f16 or Q8_0.
//!
//! Layout `[layer][seq][kv_head][pos][head_dim]`: for one (layer, sequence, head) all positions are one contiguous
//! run, so attention streams the keys (and then the values) of a head front to back. With Q8_0 each position's
//! head row is `head_dim / 32` blocks of 34 bytes (f16 scale + 32 × i8), as llama.cpp's `-ctk/-ctv q8_0`:
//! 1.0625 bytes per value instead of 2, which is what lets a ~100 MB model keep 2048 positions in 128 MB.

use super::error::{try_zeroed, ModelError};
use crate::kernels::{self, q8_0, KernelPath};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvType {
    F32,
    F16,
    Q8_0,
}

impl KvType {
    pub fn from_name(name: &str) -> Option<KvType> {
        match name {
            "f32" => Some(KvType::F32),
            "f16" => Some(KvType::F16),
            "q8_0" => Some(KvType::Q8_0),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
        }
    }
    /// Bytes of one cached head row of `head_dim` values (`None` if Q8_0 and `head_dim` is not whole blocks).
    pub fn row_bytes(self, head_dim: usize) -> Option<usize> {
        match self {
            KvType::F32 => head_dim.checked_mul(4),
            KvType::F16 => head_dim.checked_mul(2),
            KvType::Q8_0 if head_dim % q8_0::BLOCK_LEN == 0 => Some(head_dim / q8_0::BLOCK_LEN * q8_0::BLOCK_BYTES),
            KvType::Q8_0 => None,
        }
    }
}

enum Store {
    F32(Vec<f32>),
    F16(Vec<u16>),
    /// `row_bytes` per head row.
    Q8_0(Vec<u8>),
}

/// The cached rows of one (layer, sequence, head) for positions `0..n`: `n × head_dim` values, or for Q8_0 `n`
/// rows of `head_dim / 32` blocks.
pub enum KvRows<'a> {
    F32(&'a [f32]),
    F16(&'a [u16]),
    Q8_0(&'a [u8]),
}

pub struct KvCache {
    kv_type: KvType,
    n_layers: usize,
    n_seq: usize,
    n_kv_heads: usize,
    head_dim: usize,
    /// Storage units (f32 / u16 values, or Q8_0 bytes) per head row.
    row_len: usize,
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
        let row_bytes = Self::row_bytes(kv_type, head_dim)?;
        let row_len = match kv_type {
            KvType::Q8_0 => row_bytes,
            _ => head_dim,
        };
        let elems = [n_layers, n_seq, n_kv_heads, row_len, capacity]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&e| e.checked_mul(2 * (row_bytes / row_len)).is_some())
            .ok_or_else(|| ModelError::out_of_memory("KV cache size overflows the address space"))?;
        let store = || -> Result<Store, ModelError> {
            Ok(match kv_type {
                KvType::F32 => Store::F32(try_zeroed(elems, "the KV cache")?),
                KvType::F16 => Store::F16(try_zeroed(elems, "the KV cache")?),
                KvType::Q8_0 => Store::Q8_0(try_zeroed(elems, "the KV cache")?),
            })
        };
        Ok(KvCache {
            kv_type,
            n_layers,
            n_seq,
            n_kv_heads,
            head_dim,
            row_len,
            capacity,
            keys: store()?,
            values: store()?,
            lens: vec![0; n_seq],
        })
    }

    /// Bytes of one cached head row, or the error for a type that cannot store this head size.
    pub(crate) fn row_bytes(kv_type: KvType, head_dim: usize) -> Result<usize, ModelError> {
        kv_type.row_bytes(head_dim).ok_or_else(|| {
            ModelError::invalid_argument(format!(
                "kvType q8_0 needs a head size that is a multiple of 32 (this model's is {head_dim}): use f16"
            ))
        })
    }

    /// Bytes a cache of this shape would hold (keys and values), `None` if `kv_type` cannot store it.
    pub fn bytes_for(
        kv_type: KvType,
        n_layers: usize,
        n_seq: usize,
        n_kv_heads: usize,
        head_dim: usize,
        capacity: usize,
    ) -> Option<usize> {
        [n_layers, n_seq, n_kv_heads, capacity, 2]
            .iter()
            .try_fold(kv_type.row_bytes(head_dim)?, |acc, &d| acc.checked_mul(d))
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
            Store::Q8_0(v) => v.len(),
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

    /// Storage units per head row: `head_dim` values, or the Q8_0 row's bytes.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    fn base(&self, layer: usize, seq: usize, head: usize) -> usize {
        ((layer * self.n_seq + seq) * self.n_kv_heads + head) * self.capacity * self.row_len
    }

    /// Stores the key and value rows (`n_kv_heads × head_dim` each) of one position.
    pub fn write(&mut self, path: KernelPath, layer: usize, seq: usize, pos: usize, k: &[f32], v: &[f32]) {
        debug_assert!(layer < self.n_layers && seq < self.n_seq && pos < self.capacity);
        let (hd, rl) = (self.head_dim, self.row_len);
        for h in 0..self.n_kv_heads {
            let at = self.base(layer, seq, h) + pos * rl;
            let (ks, vs) = (&k[h * hd..(h + 1) * hd], &v[h * hd..(h + 1) * hd]);
            match (&mut self.keys, &mut self.values) {
                (Store::F32(kc), Store::F32(vc)) => {
                    kc[at..at + rl].copy_from_slice(ks);
                    vc[at..at + rl].copy_from_slice(vs);
                }
                (Store::F16(kc), Store::F16(vc)) => {
                    kernels::f32_to_f16_slice_with(path, ks, &mut kc[at..at + rl]);
                    kernels::f32_to_f16_slice_with(path, vs, &mut vc[at..at + rl]);
                }
                (Store::Q8_0(kc), Store::Q8_0(vc)) => {
                    kernels::quantize_q8_0_with(path, ks, &mut kc[at..at + rl]);
                    kernels::quantize_q8_0_with(path, vs, &mut vc[at..at + rl]);
                }
                _ => unreachable!("keys and values always share one storage type"),
            }
        }
    }

    /// Keys of positions `0..n` of one head.
    pub fn keys(&self, layer: usize, seq: usize, head: usize, n: usize) -> KvRows<'_> {
        Self::rows(&self.keys, self.base(layer, seq, head), n * self.row_len)
    }

    /// Values of positions `0..n` of one head.
    pub fn values(&self, layer: usize, seq: usize, head: usize, n: usize) -> KvRows<'_> {
        Self::rows(&self.values, self.base(layer, seq, head), n * self.row_len)
    }

    fn rows(store: &Store, at: usize, len: usize) -> KvRows<'_> {
        match store {
            Store::F32(s) => KvRows::F32(&s[at..at + len]),
            Store::F16(s) => KvRows::F16(&s[at..at + len]),
            Store::Q8_0(s) => KvRows::Q8_0(&s[at..at + len]),
        }
    }
}

//! Writes small GGUF v3 files in memory for tests (tensors of any ggml type, scalar and string metadata).

use crate::tensor::DType;

const ALIGN: usize = 32;

pub enum Meta {
    U32(u32),
    F32(f32),
    Str(String),
}

#[derive(Default)]
pub struct GgufBuilder {
    meta: Vec<(String, Meta)>,
    tensors: Vec<(String, Vec<u64>, DType, Vec<u8>)>,
}

impl GgufBuilder {
    pub fn meta(&mut self, key: &str, v: Meta) -> &mut Self {
        self.meta.retain(|(k, _)| k != key);
        self.meta.push((key.to_string(), v));
        self
    }

    /// `dims` innermost first, as GGUF stores them.
    pub fn tensor(&mut self, name: &str, dims: &[u64], data: Vec<f32>) -> &mut Self {
        assert_eq!(dims.iter().product::<u64>() as usize, data.len(), "{name}");
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.raw_tensor(name, dims, DType::F32, bytes)
    }

    /// A tensor whose bytes are already in `dtype`'s ggml layout.
    pub fn raw_tensor(&mut self, name: &str, dims: &[u64], dtype: DType, bytes: Vec<u8>) -> &mut Self {
        self.tensors.push((name.to_string(), dims.to_vec(), dtype, bytes));
        self
    }

    pub fn remove_tensor(&mut self, name: &str) -> &mut Self {
        self.tensors.retain(|(n, ..)| n != name);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        fn string(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut out = Vec::new();
        out.extend_from_slice(b"GGUF");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.meta.len() as u64).to_le_bytes());
        for (k, v) in &self.meta {
            string(&mut out, k);
            match v {
                Meta::U32(x) => {
                    out.extend_from_slice(&4u32.to_le_bytes());
                    out.extend_from_slice(&x.to_le_bytes());
                }
                Meta::F32(x) => {
                    out.extend_from_slice(&6u32.to_le_bytes());
                    out.extend_from_slice(&x.to_le_bytes());
                }
                Meta::Str(s) => {
                    out.extend_from_slice(&8u32.to_le_bytes());
                    string(&mut out, s);
                }
            }
        }
        let mut offset = 0usize;
        for (name, dims, dtype, data) in &self.tensors {
            string(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&(*dtype as u32).to_le_bytes());
            out.extend_from_slice(&(offset as u64).to_le_bytes());
            offset = (offset + data.len()).next_multiple_of(ALIGN);
        }
        out.resize(out.len().next_multiple_of(ALIGN), 0);
        for (.., data) in &self.tensors {
            out.extend_from_slice(data);
            out.resize(out.len().next_multiple_of(ALIGN), 0);
        }
        out
    }
}

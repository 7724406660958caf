//! The GGUF header: magic, version, counts, metadata key/values and tensor infos, fully validated
//! (types known, shapes sane, offsets aligned, no overlaps) before any tensor byte is touched.

use std::borrow::Cow;
use std::collections::HashMap;

use super::error::{GgufError, GgufErrorKind};
use super::metadata::{read_value, MetaArray, MetaValue, StrArray};
use super::reader::ByteReader;
use crate::tensor::DType;

pub const GGUF_MAGIC: &[u8; 4] = b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;
pub const MAX_DIMS: usize = 4;
/// The GGUF versions read (v1 lacks 64-bit counts).
pub(crate) const SUPPORTED_VERSIONS: [u32; 2] = [2, 3];
/// Minimal encodings, which bound the counts: a key/value is ≥ 8+4+1 bytes, a tensor info ≥ 8+4+4+8.
pub(crate) const MIN_KV_BYTES: u64 = 13;
pub(crate) const MIN_TENSOR_INFO_BYTES: u64 = 24;
/// No header we accept is larger (a 150k-token vocabulary with merges is ~10 MB).
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 256 << 20;

/// One tensor as the header describes it. `dims` are innermost first (ggml `ne`); `offset` is relative
/// to the start of the tensor data section; `n_bytes` is derived from dims and type.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub dtype: DType,
    pub offset: u64,
    pub n_bytes: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// `(rows, cols)` when the tensor is a matrix (or vector: rows = 1); higher dims fold into rows.
    pub fn rows_cols(&self) -> (u64, u64) {
        let cols = self.dims.first().copied().unwrap_or(1);
        (self.dims.iter().skip(1).product(), cols)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct GgufHeader {
    pub version: u32,
    pub alignment: u64,
    /// Absolute file offset of the tensor data section (header end aligned up).
    pub data_offset: u64,
    /// Bytes of the data section that tensors use: the largest `offset + n_bytes`.
    pub data_size: u64,
    /// Where the tensor infos end (before alignment padding).
    pub header_end: u64,
    metadata: Vec<(String, MetaValue)>,
    meta_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
}

/// ggml type ids this engine cannot run, with their ggml names (for error messages).
fn unsupported_ggml_type_name(id: u32) -> Option<&'static str> {
    Some(match id {
        4 => "Q4_2 (removed)",
        5 => "Q4_3 (removed)",
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        31 => "Q4_0_4_4 (removed)",
        32 => "Q4_0_4_8 (removed)",
        33 => "Q4_0_8_8 (removed)",
        34 => "TQ1_0",
        35 => "TQ2_0",
        36 => "IQ4_NL_4_4 (removed)",
        37 => "IQ4_NL_4_8 (removed)",
        38 => "IQ4_NL_8_8 (removed)",
        39 => "MXFP4",
        _ => return None,
    })
}

/// Parses a GGUF header from the start of `bytes` (the whole file or any prefix that holds the header).
pub fn parse_header(bytes: &[u8]) -> Result<GgufHeader, GgufError> {
    parse_header_limited(bytes, DEFAULT_MAX_HEADER_BYTES)
}

pub(crate) fn parse_header_limited(bytes: &[u8], max_header: u64) -> Result<GgufHeader, GgufError> {
    let mut r = ByteReader::new(bytes, max_header);

    let magic = r.take(4, &|| "magic".into())?;
    if magic != GGUF_MAGIC {
        return Err(GgufError::new(
            GgufErrorKind::BadMagic,
            "magic",
            0,
            format!("expected \"GGUF\" (47 47 55 46), found {:02x?}", magic),
        ));
    }
    let version = r.u32(&|| "version".into())?;
    match version {
        v if SUPPORTED_VERSIONS.contains(&v) => {}
        v if SUPPORTED_VERSIONS.iter().any(|s| s.swap_bytes() == v) => {
            return Err(GgufError::new(
                GgufErrorKind::UnsupportedVersion,
                "version",
                4,
                format!("big-endian GGUF (version reads as {v:#010x}); only little-endian files are supported"),
            ))
        }
        1 => {
            return Err(GgufError::new(
                GgufErrorKind::UnsupportedVersion,
                "version",
                4,
                "GGUF v1 is not supported (v2 and v3 only); re-convert the model with a current llama.cpp",
            ))
        }
        v => {
            return Err(GgufError::new(
                GgufErrorKind::UnsupportedVersion,
                "version",
                4,
                format!("version {v} is not supported (v2 and v3 only)"),
            ))
        }
    }
    let n_tensors = r.u64(&|| "tensor_count".into())?;
    let n_kv = r.u64(&|| "metadata_kv_count".into())?;
    // Bound both counts by their minimal encodings so that neither can make us allocate more than the bytes present.
    let kv_capacity = r.capacity_for(n_kv, MIN_KV_BYTES, &|| "metadata_kv_count".into())?;

    let mut alignment = DEFAULT_ALIGNMENT;
    let mut metadata = Vec::with_capacity(kv_capacity);
    let mut meta_index = HashMap::with_capacity(kv_capacity);
    for i in 0..n_kv as usize {
        let key_at = r.pos();
        let key = r.string(&|| format!("metadata[{i}].key"))?.to_owned();
        let type_at = r.pos();
        let t = r.u32(&|| format!("metadata[{i}] '{key}'.type"))?;
        let value_at = r.pos();
        let value = read_value(&mut r, t, type_at, &|| format!("metadata[{i}] '{key}'"))?;
        if key == "general.alignment" {
            alignment = match value.as_u64() {
                Some(a) if a.is_power_of_two() && a <= 1 << 30 => a,
                _ => {
                    return Err(GgufError::invalid(
                        format!("metadata[{i}] 'general.alignment'"),
                        value_at,
                        format!("must be a power of two integer, found {value:?}"),
                    ))
                }
            };
        }
        if meta_index.insert(key.clone(), i).is_some() {
            return Err(GgufError::invalid(
                format!("metadata[{i}].key"),
                key_at,
                format!("duplicate key '{key}'"),
            ));
        }
        metadata.push((key, value));
    }

    let tensor_capacity = r.capacity_for(n_tensors, MIN_TENSOR_INFO_BYTES, &|| "tensor_count".into())?;
    let mut tensors = Vec::with_capacity(tensor_capacity);
    for i in 0..n_tensors as usize {
        tensors.push(read_tensor_info(&mut r, i, alignment)?);
    }

    let header_end = r.pos();
    let data_offset = align_up(header_end, alignment)
        .ok_or_else(|| GgufError::invalid("data_offset", header_end, "header end overflows when aligned"))?;
    let (tensor_index, data_size) = check_layout(&tensors, data_offset)?;

    Ok(GgufHeader {
        version,
        alignment,
        data_offset,
        data_size,
        header_end,
        metadata,
        meta_index,
        tensors,
        tensor_index,
    })
}

fn align_up(x: u64, a: u64) -> Option<u64> {
    Some(x.checked_add(a - 1)? / a * a)
}

fn read_tensor_info(r: &mut ByteReader, i: usize, alignment: u64) -> Result<TensorInfo, GgufError> {
    let start = r.pos();
    let name = r.string(&|| format!("tensor_info[{i}].name"))?.to_owned();
    let nd_at = r.pos();
    let n_dims = r.u32(&|| format!("tensor_info[{i}].n_dims"))?;
    if n_dims as usize > MAX_DIMS {
        return Err(GgufError::invalid(
            format!("tensor_info[{i}].n_dims"),
            nd_at,
            format!("tensor '{name}' has {n_dims} dimensions, at most {MAX_DIMS} are allowed"),
        ));
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for d in 0..n_dims as usize {
        let at = r.pos();
        let v = r.u64(&|| format!("tensor_info[{i}].dims[{d}]"))?;
        if v > i64::MAX as u64 {
            return Err(GgufError::invalid(
                format!("tensor_info[{i}].dims[{d}]"),
                at,
                format!("tensor '{name}' dimension {v} is out of range"),
            ));
        }
        dims.push(v);
    }
    let type_at = r.pos();
    let type_id = r.u32(&|| format!("tensor_info[{i}].type"))?;
    let offset_at = r.pos();
    let offset = r.u64(&|| format!("tensor_info[{i}].offset"))?;

    let dtype = DType::from_ggml(type_id).ok_or_else(|| {
        let known = unsupported_ggml_type_name(type_id).map_or_else(String::new, |n| format!(" ({n})"));
        GgufError::new(
            GgufErrorKind::UnsupportedType,
            format!("tensor_info[{i}].type"),
            type_at,
            format!(
                "tensor '{name}' has ggml type {type_id}{known}, which this engine cannot run (supported weight types: {})",
                crate::kernels::supported_names()
            ),
        )
    })?;
    let n_elements = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= i64::MAX as u64);
    let n_elements = n_elements.ok_or_else(|| {
        GgufError::invalid(
            format!("tensor_info[{i}].dims"),
            start,
            format!("tensor '{name}' dims {dims:?}: element count overflows"),
        )
    })?;
    let block = dtype.block_len() as u64;
    let inner = dims.first().copied().unwrap_or(1);
    if inner % block != 0 {
        return Err(GgufError::invalid(
            format!("tensor_info[{i}].dims[0]"),
            start,
            format!(
                "tensor '{name}' row length {inner} is not a multiple of the {} block size {block}",
                dtype.name()
            ),
        ));
    }
    let n_bytes = (n_elements / block)
        .checked_mul(dtype.block_bytes() as u64)
        .ok_or_else(|| {
            GgufError::invalid(
                format!("tensor_info[{i}].dims"),
                start,
                format!("tensor '{name}' byte size overflows"),
            )
        })?;
    if offset % alignment != 0 {
        return Err(GgufError::invalid(
            format!("tensor_info[{i}].offset"),
            offset_at,
            format!("tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}"),
        ));
    }
    Ok(TensorInfo {
        name,
        dims,
        dtype,
        offset,
        n_bytes,
    })
}

/// Names must be unique and data ranges disjoint. Returns the name index and the data extent.
/// (Layout errors concern the relation of two tensors, so their offset is that of the later tensor's info: 0 here.)
fn check_layout(tensors: &[TensorInfo], data_offset: u64) -> Result<(HashMap<String, usize>, u64), GgufError> {
    let mut index = HashMap::with_capacity(tensors.len());
    for (i, t) in tensors.iter().enumerate() {
        if index.insert(t.name.clone(), i).is_some() {
            return Err(GgufError::invalid(
                format!("tensor_info[{i}].name"),
                0,
                format!("duplicate tensor name '{}'", t.name),
            ));
        }
    }
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| tensors[i].offset);
    // `extent` is the furthest end seen so far and `owner` the tensor reaching it.
    let mut extent = 0u64;
    let mut owner: Option<usize> = None;
    for &i in &order {
        let t = &tensors[i];
        let end = t
            .offset
            .checked_add(t.n_bytes)
            .filter(|e| e.checked_add(data_offset).is_some())
            .ok_or_else(|| {
                GgufError::invalid(
                    format!("tensor_info[{i}].offset"),
                    0,
                    format!("tensor '{}' ends past 2^64", t.name),
                )
            })?;
        if t.n_bytes == 0 {
            continue;
        }
        if let Some(p) = owner.filter(|_| t.offset < extent) {
            let o = &tensors[p];
            return Err(GgufError::invalid(
                format!("tensor_info[{i}].offset"),
                0,
                format!(
                    "tensor '{}' (data bytes {}..{}) overlaps tensor '{}' (data bytes {}..{})",
                    t.name,
                    t.offset,
                    end,
                    o.name,
                    o.offset,
                    o.offset + o.n_bytes
                ),
            ));
        }
        extent = end;
        owner = Some(i);
    }
    Ok((index, extent))
}

impl GgufHeader {
    /// A header made in memory rather than read from a file (the warm-up model): `tensors` as (name, dims, dtype),
    /// laid out one after the other at the default alignment, data starting at offset 0.
    pub fn in_memory(metadata: Vec<(String, MetaValue)>, tensors: Vec<(String, Vec<u64>, DType)>) -> Result<GgufHeader, GgufError> {
        let mut infos = Vec::with_capacity(tensors.len());
        let mut offset = 0u64;
        for (name, dims, dtype) in tensors {
            let cols = dims.first().copied().unwrap_or(1) as usize;
            let rows: u64 = dims.iter().skip(1).product();
            let n_bytes = dtype
                .row_bytes(cols)
                .and_then(|r| (r as u64).checked_mul(rows))
                .ok_or_else(|| GgufError::invalid("tensor", offset, format!("tensor '{name}' has no valid size")))?;
            infos.push(TensorInfo { name, dims, dtype, offset, n_bytes });
            offset = align_up(offset.saturating_add(n_bytes), DEFAULT_ALIGNMENT).unwrap_or(u64::MAX); // overflow: check_layout refuses
        }
        let (tensor_index, data_size) = check_layout(&infos, 0)?;
        let meta_index = metadata.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
        Ok(GgufHeader {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            data_offset: 0,
            data_size,
            header_end: 0,
            metadata,
            meta_index,
            tensors: infos,
            tensor_index,
        })
    }

    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// Where the tensor named `name` is in `tensors()`.
    pub fn tensor_position(&self, name: &str) -> Option<usize> {
        self.tensor_index.get(name).copied()
    }

    /// Metadata key/values in file order.
    pub fn metadata(&self) -> &[(String, MetaValue)] {
        &self.metadata
    }

    /// Total file bytes the tensors need: `data_offset + data_size`; just the header when no tensor has
    /// data (vocabulary-only files end right after the header, without alignment padding).
    pub fn file_size_needed(&self) -> u64 {
        if self.data_size == 0 {
            self.header_end
        } else {
            self.data_offset + self.data_size
        }
    }

    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// Integer metadata of any integer type that fits in u32.
    pub fn get_u32(&self, key: &str) -> Option<u32> {
        self.get(key)?.as_u32()
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_i64()
    }

    /// Float metadata (f32, f64, or an integer).
    pub fn get_f32(&self, key: &str) -> Option<f32> {
        self.get(key)?.as_f32()
    }

    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    pub fn get_array(&self, key: &str) -> Option<&MetaArray> {
        self.get(key)?.as_array()
    }

    pub fn get_str_array(&self, key: &str) -> Option<&StrArray> {
        match self.get_array(key)? {
            MetaArray::Str(a) => Some(a),
            _ => None,
        }
    }

    /// Float array; borrowed when stored as f32, converted from f64 or integers otherwise.
    pub fn get_f32_array(&self, key: &str) -> Option<Cow<'_, [f32]>> {
        match self.get_array(key)? {
            MetaArray::F32(v) => Some(Cow::Borrowed(v)),
            MetaArray::F64(v) => Some(Cow::Owned(v.iter().map(|&x| x as f32).collect())),
            a => a
                .to_i64_vec()
                .map(|v| Cow::Owned(v.into_iter().map(|x| x as f32).collect())),
        }
    }

    /// Integer array widened or narrowed to i32; borrowed when stored as i32, `None` if any value does not fit.
    pub fn get_i32_array(&self, key: &str) -> Option<Cow<'_, [i32]>> {
        match self.get_array(key)? {
            MetaArray::I32(v) => Some(Cow::Borrowed(v)),
            a => a
                .to_i64_vec()?
                .into_iter()
                .map(|x| i32::try_from(x).ok())
                .collect::<Option<Vec<_>>>()
                .map(Cow::Owned),
        }
    }
}

//! GGUF metadata values: the 13 value types, typed arrays (no per-element boxing: a 150k-entry vocabulary
//! is one string blob plus an offset table) and their parsing.

use super::error::GgufError;
use super::reader::{ByteReader, FieldName};

/// GGUF metadata value type ids (`gguf_type`).
pub mod type_id {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// Arrays of arrays deeper than this are refused: no real file nests at all beyond one level,
/// and unbounded nesting would let a crafted file exhaust the stack.
pub(crate) const MAX_ARRAY_DEPTH: u32 = 8;

#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    Array(MetaArray),
    U64(u64),
    I64(i64),
    F64(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum MetaArray {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    Str(StrArray),
    Array(Vec<MetaArray>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

/// An array of strings packed into one buffer: element `i` is `blob[ends[i-1]..ends[i]]`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StrArray {
    blob: String,
    ends: Vec<usize>,
}

impl StrArray {
    pub fn new() -> Self {
        StrArray::default()
    }

    pub fn with_capacity(count: usize, bytes: usize) -> Self {
        StrArray {
            blob: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    pub fn push(&mut self, s: &str) {
        self.blob.push_str(s);
        self.ends.push(self.blob.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.blob[start..end])
    }

    /// Whether any element holds `byte` (one search of the packed buffer, not one per element).
    pub fn any_holds(&self, byte: u8) -> bool {
        self.blob.as_bytes().contains(&byte)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i).unwrap_or(""))
    }
}

impl<'a> FromIterator<&'a str> for StrArray {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut a = StrArray::new();
        for s in iter {
            a.push(s);
        }
        a
    }
}

impl MetaValue {
    /// The GGUF type id this value is stored as.
    pub fn type_id(&self) -> u32 {
        match self {
            MetaValue::U8(_) => type_id::U8,
            MetaValue::I8(_) => type_id::I8,
            MetaValue::U16(_) => type_id::U16,
            MetaValue::I16(_) => type_id::I16,
            MetaValue::U32(_) => type_id::U32,
            MetaValue::I32(_) => type_id::I32,
            MetaValue::F32(_) => type_id::F32,
            MetaValue::Bool(_) => type_id::BOOL,
            MetaValue::Str(_) => type_id::STRING,
            MetaValue::Array(_) => type_id::ARRAY,
            MetaValue::U64(_) => type_id::U64,
            MetaValue::I64(_) => type_id::I64,
            MetaValue::F64(_) => type_id::F64,
        }
    }

    /// Any integer type, if it holds an integer (ggml writers disagree on u32 / i32 / u64 for ids and counts).
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            MetaValue::U8(v) => v.into(),
            MetaValue::I8(v) => v.into(),
            MetaValue::U16(v) => v.into(),
            MetaValue::I16(v) => v.into(),
            MetaValue::U32(v) => v.into(),
            MetaValue::I32(v) => v.into(),
            MetaValue::U64(v) => v.into(),
            MetaValue::I64(v) => v.into(),
            _ => return None,
        })
    }

    pub fn as_u32(&self) -> Option<u32> {
        self.as_i128().and_then(|v| u32::try_from(v).ok())
    }

    pub fn as_u64(&self) -> Option<u64> {
        self.as_i128().and_then(|v| u64::try_from(v).ok())
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// A float (either width) or an integer, as f32.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            MetaValue::F32(v) => Some(v),
            MetaValue::F64(v) => Some(v as f32),
            _ => self.as_i128().map(|v| v as f32),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&MetaArray> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl MetaArray {
    pub fn len(&self) -> usize {
        match self {
            MetaArray::U8(v) => v.len(),
            MetaArray::I8(v) => v.len(),
            MetaArray::U16(v) => v.len(),
            MetaArray::I16(v) => v.len(),
            MetaArray::U32(v) => v.len(),
            MetaArray::I32(v) => v.len(),
            MetaArray::F32(v) => v.len(),
            MetaArray::Bool(v) => v.len(),
            MetaArray::Str(v) => v.len(),
            MetaArray::Array(v) => v.len(),
            MetaArray::U64(v) => v.len(),
            MetaArray::I64(v) => v.len(),
            MetaArray::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element type id (GGUF `gguf_type`).
    pub fn elem_type_id(&self) -> u32 {
        match self {
            MetaArray::U8(_) => type_id::U8,
            MetaArray::I8(_) => type_id::I8,
            MetaArray::U16(_) => type_id::U16,
            MetaArray::I16(_) => type_id::I16,
            MetaArray::U32(_) => type_id::U32,
            MetaArray::I32(_) => type_id::I32,
            MetaArray::F32(_) => type_id::F32,
            MetaArray::Bool(_) => type_id::BOOL,
            MetaArray::Str(_) => type_id::STRING,
            MetaArray::Array(_) => type_id::ARRAY,
            MetaArray::U64(_) => type_id::U64,
            MetaArray::I64(_) => type_id::I64,
            MetaArray::F64(_) => type_id::F64,
        }
    }

    /// Integer elements widened to i64, `None` if the array is not integer-typed or a u64 does not fit.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        fn w<T: Copy + Into<i64>>(v: &[T]) -> Option<Vec<i64>> {
            Some(v.iter().map(|&x| x.into()).collect())
        }
        match self {
            MetaArray::U8(v) => w(v),
            MetaArray::I8(v) => w(v),
            MetaArray::U16(v) => w(v),
            MetaArray::I16(v) => w(v),
            MetaArray::U32(v) => w(v),
            MetaArray::I32(v) => w(v),
            MetaArray::I64(v) => Some(v.clone()),
            MetaArray::U64(v) => v.iter().map(|&x| i64::try_from(x).ok()).collect(),
            _ => None,
        }
    }
}

/// Minimum encoded size of one value of type `t` (used to bound counts before allocating); for fixed-width types,
/// their size.
pub(crate) fn min_encoded_bytes(t: u32) -> u64 {
    match t {
        type_id::U8 | type_id::I8 | type_id::BOOL => 1,
        type_id::U16 | type_id::I16 => 2,
        type_id::U32 | type_id::I32 | type_id::F32 => 4,
        type_id::U64 | type_id::I64 | type_id::F64 | type_id::STRING => 8,
        type_id::ARRAY => 12,
        _ => 1,
    }
}

fn check_type_id(t: u32, at: u64, field: FieldName) -> Result<(), GgufError> {
    if t > type_id::F64 {
        return Err(GgufError::invalid(
            field(),
            at,
            format!("unknown metadata value type id {t} (valid: 0..=12)"),
        ));
    }
    Ok(())
}

/// Reads one value of type `t` (already read and located at `type_at`).
pub(crate) fn read_value(r: &mut ByteReader, t: u32, type_at: u64, field: FieldName) -> Result<MetaValue, GgufError> {
    check_type_id(t, type_at, &|| format!("{}.type", field()))?;
    Ok(match t {
        type_id::U8 => MetaValue::U8(r.u8(field)?),
        type_id::I8 => MetaValue::I8(r.i8(field)?),
        type_id::U16 => MetaValue::U16(r.u16(field)?),
        type_id::I16 => MetaValue::I16(r.i16(field)?),
        type_id::U32 => MetaValue::U32(r.u32(field)?),
        type_id::I32 => MetaValue::I32(r.i32(field)?),
        type_id::F32 => MetaValue::F32(r.f32(field)?),
        type_id::BOOL => MetaValue::Bool(r.bool(field)?),
        type_id::STRING => MetaValue::Str(r.string(field)?.to_owned()),
        type_id::U64 => MetaValue::U64(r.u64(field)?),
        type_id::I64 => MetaValue::I64(r.i64(field)?),
        type_id::F64 => MetaValue::F64(r.f64(field)?),
        _ => MetaValue::Array(read_array(r, 1, field)?),
    })
}

/// Reads an array body: element type u32, count u64, elements. `depth` counts nesting levels.
fn read_array(r: &mut ByteReader, depth: u32, field: FieldName) -> Result<MetaArray, GgufError> {
    let type_at = r.pos();
    let et = r.u32(&|| format!("{}.elem_type", field()))?;
    check_type_id(et, type_at, &|| format!("{}.elem_type", field()))?;
    if et == type_id::ARRAY && depth >= MAX_ARRAY_DEPTH {
        return Err(GgufError::invalid(
            format!("{}.elem_type", field()),
            type_at,
            format!("arrays nested deeper than {MAX_ARRAY_DEPTH} levels"),
        ));
    }
    let count = r.u64(&|| format!("{}.count", field()))?;
    let count_field = || format!("{}.count", field());
    // Fixed-width elements are read in one slice (so they need the full count present); strings and nested
    // arrays are read one by one from a capacity bounded by the bytes present, so truncation names the element.
    let n = if matches!(et, type_id::STRING | type_id::ARRAY) {
        r.capacity_for(count, min_encoded_bytes(et), &count_field)?
    } else {
        r.count(count, min_encoded_bytes(et), &count_field)?
    };
    let items = count as usize; // ≤ max_header / min size, checked just above

    // Fixed-width numbers: one bounds check, then decode the whole slice.
    macro_rules! numbers {
        ($variant:ident, $ty:ty) => {{
            const W: usize = std::mem::size_of::<$ty>();
            let bytes = r.take(n * W, &|| format!("{}[..]", field()))?;
            MetaArray::$variant(
                bytes
                    .chunks_exact(W)
                    .map(|c| <$ty>::from_le_bytes(c.try_into().unwrap_or([0; W])))
                    .collect(),
            )
        }};
    }
    Ok(match et {
        type_id::U8 => MetaArray::U8(r.take(n, &|| format!("{}[..]", field()))?.to_vec()),
        type_id::I8 => numbers!(I8, i8),
        type_id::U16 => numbers!(U16, u16),
        type_id::I16 => numbers!(I16, i16),
        type_id::U32 => numbers!(U32, u32),
        type_id::I32 => numbers!(I32, i32),
        type_id::F32 => numbers!(F32, f32),
        type_id::U64 => numbers!(U64, u64),
        type_id::I64 => numbers!(I64, i64),
        type_id::F64 => numbers!(F64, f64),
        type_id::BOOL => {
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                v.push(r.bool(&|| format!("{}[{i}]", field()))?);
            }
            MetaArray::Bool(v)
        }
        type_id::STRING => {
            // Capacity from the bytes present, not from the count alone.
            let mut a = StrArray::with_capacity(n, r.remaining().saturating_sub(n * 8).min(1 << 20));
            for i in 0..items {
                a.push(r.string(&|| format!("{}[{i}]", field()))?);
            }
            MetaArray::Str(a)
        }
        _ => {
            let mut v = Vec::with_capacity(n);
            for i in 0..items {
                v.push(read_array(r, depth + 1, &|| format!("{}[{i}]", field()))?);
            }
            MetaArray::Array(v)
        }
    })
}

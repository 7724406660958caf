//! Bounds-checked little-endian cursor over the header bytes. Every read names the field it is reading,
//! so a failure says exactly where the file went wrong. Field names are built lazily (only on error).

use super::error::GgufError;

/// The bytes `count` items of at least `min_item_bytes` each need, when a header of at most `max_header` bytes could
/// hold them starting at `at`; None when none could (the parser's and the loader's length scan's one rule).
pub(crate) fn header_room(at: u64, count: u64, min_item_bytes: u64, max_header: u64) -> Option<u64> {
    count.checked_mul(min_item_bytes).filter(|&need| at.saturating_add(need) <= max_header)
}

/// Names the field being read; called only when an error has to be reported.
pub(crate) type FieldName<'f> = &'f dyn Fn() -> String;

pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// No valid header spans more bytes than this: counts that would need more are `InvalidValue`
    /// (absurd), counts that merely need more than `buf` holds are `Truncated` (more may come).
    max_header: u64,
}

/// One method per number type, named after it, reading one little-endian value (`from_le_bytes` is no trait, so a
/// generic reader could not call it).
macro_rules! le_readers {
    ($($t:ident),*) => {
        $(
            pub fn $t(&mut self, field: FieldName) -> Result<$t, GgufError> {
                Ok($t::from_le_bytes(self.array(field)?))
            }
        )*
    };
}

impl<'a> ByteReader<'a> {
    pub fn new(buf: &'a [u8], max_header: u64) -> Self {
        ByteReader {
            buf,
            pos: 0,
            max_header,
        }
    }

    pub fn pos(&self) -> u64 {
        self.pos as u64
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize, field: FieldName) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::truncated(
                field(),
                self.pos(),
                n as u64,
                self.remaining() as u64,
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: FieldName) -> Result<[u8; N], GgufError> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    le_readers!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

    pub fn bool(&mut self, field: FieldName) -> Result<bool, GgufError> {
        let at = self.pos();
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(GgufError::invalid(
                field(),
                at,
                format!("bool must be 0 or 1, found {v}"),
            )),
        }
    }

    /// Checks that `count` items of at least `min_item_bytes` each can follow, and returns `count`
    /// as a usize that is safe to pre-allocate with (it is bounded by the bytes actually present).
    pub fn count(&mut self, count: u64, min_item_bytes: u64, field: FieldName) -> Result<usize, GgufError> {
        let at = self.pos();
        match header_room(at, count, min_item_bytes, self.max_header) {
            Some(need) => {
                if need > self.remaining() as u64 {
                    Err(GgufError::truncated(field(), at, need, self.remaining() as u64))
                } else {
                    Ok(count as usize) // ≤ remaining bytes, so it fits in usize
                }
            }
            None => Err(self.oversized(count, count.checked_mul(min_item_bytes), field)),
        }
    }

    /// For `count` items of at least `min_item_bytes` each: `InvalidValue` if no header could hold them,
    /// else a safe pre-allocation size (bounded by the bytes present). Unlike `count`, a shortfall is not an
    /// error here, so the item reads that follow report exactly which item is truncated.
    pub fn capacity_for(&mut self, count: u64, min_item_bytes: u64, field: FieldName) -> Result<usize, GgufError> {
        match header_room(self.pos(), count, min_item_bytes, self.max_header) {
            Some(_) => Ok(count.min(self.remaining() as u64 / min_item_bytes.max(1)) as usize),
            None => Err(self.oversized(count, count.checked_mul(min_item_bytes), field)),
        }
    }

    /// `InvalidValue` for a `count` at the current position whose `need` (None: past 2^64) bytes no header could hold.
    fn oversized(&self, count: u64, need: Option<u64>, field: FieldName) -> GgufError {
        GgufError::invalid(
            field(),
            self.pos(),
            format!(
                "count {count} needs at least {} bytes, more than a header may span ({} bytes)",
                need.map_or_else(|| "2^64+".to_string(), |n| n.to_string()),
                self.max_header
            ),
        )
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).
    pub fn string(&mut self, field: FieldName) -> Result<&'a str, GgufError> {
        let len = self.u64(&|| format!("{}.len", field()))?;
        let at = self.pos();
        let n = self.count(len, 1, field)?;
        let bytes = self.take(n, field)?;
        std::str::from_utf8(bytes).map_err(|e| {
            GgufError::invalid(
                field(),
                at,
                format!("string is not valid UTF-8 (bad byte at +{})", e.valid_up_to()),
            )
        })
    }
}

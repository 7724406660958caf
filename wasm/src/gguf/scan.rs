//! How long a GGUF header is, from its length fields alone. The streaming loader walks the header as its bytes
//! arrive — each byte once, resuming where the previous chunk stopped — and parses it once, when the walk has
//! reached its end (parsing every prefix again from the start, as the bytes came, cost a cold start ~30 ms for a
//! 2 MB vocabulary). The walk follows the parser's layout and refuses where the parser's structure checks would
//! (magic, version, value types, nesting, counts and lengths no header could hold); everything else (UTF-8,
//! duplicate keys, tensor types and shapes) is the parser's to check once the header is in.

use super::header::{GGUF_MAGIC, MAX_DIMS, MIN_KV_BYTES, MIN_TENSOR_INFO_BYTES, SUPPORTED_VERSIONS};
use super::metadata::{min_encoded_bytes, type_id, MAX_ARRAY_DEPTH};
use super::reader::header_room;

/// Where a scan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// The header (magic to the last tensor info) ends at this offset: the parser has all it needs.
    Complete(u64),
    /// The scan needs at least this many bytes to go on.
    NeedMore(u64),
    /// A value the parser refuses (it names the error, parsing the bytes so far): the scan cannot go on.
    Refused,
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Magic, version and the two counts.
    Prefix,
    /// The next metadata key.
    Key,
    ValueType,
    Value(u32),
    /// Inside an array value (`arrays[..depth]`).
    Array,
    TensorInfo,
    Done,
}

/// An array being walked: its element type and how many elements are left.
#[derive(Clone, Copy, Debug, Default)]
struct ArrayLeft {
    elem: u32,
    left: u64,
}

/// A resumable walk over a header's length fields (no allocation: the array stack is fixed, as deep as the parser
/// allows).
pub(crate) struct HeaderScan {
    max_header: u64,
    pos: u64,
    stage: Stage,
    kv_left: u64,
    tensors_left: u64,
    arrays: [ArrayLeft; MAX_ARRAY_DEPTH as usize],
    depth: usize,
}

/// Little-endian reads at `at` of a buffer that holds `at + N` bytes (checked by the caller).
fn u32_at(b: &[u8], at: u64) -> u32 {
    let at = at as usize;
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: u64) -> u64 {
    let at = at as usize;
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// One step: the scan moved on, or stops with this outcome.
type Step = Result<(), Scanned>;

impl HeaderScan {
    pub fn new(max_header: u64) -> Self {
        HeaderScan {
            max_header,
            pos: 0,
            stage: Stage::Prefix,
            kv_left: 0,
            tensors_left: 0,
            arrays: [ArrayLeft::default(); MAX_ARRAY_DEPTH as usize],
            depth: 0,
        }
    }

    /// Walks on over `bytes` (the header's first bytes; each call passes the same bytes and more).
    pub fn advance(&mut self, bytes: &[u8]) -> Scanned {
        let have = bytes.len() as u64;
        loop {
            let step = match self.stage {
                Stage::Prefix => self.prefix(bytes, have),
                Stage::Key => self.string(bytes, have).map(|()| self.stage = Stage::ValueType),
                Stage::ValueType => self.value_type(bytes, have),
                Stage::Value(t) => self.value(t, bytes, have),
                Stage::Array => self.array(bytes, have),
                Stage::TensorInfo => self.tensor_info(bytes, have),
                Stage::Done => return Scanned::Complete(self.pos),
            };
            if let Err(outcome) = step {
                return outcome;
            }
        }
    }

    /// `n` more bytes from the current position must be present.
    fn need(&self, n: u64, have: u64) -> Step {
        match self.pos.checked_add(n) {
            Some(end) if end <= have => Ok(()),
            Some(end) => Err(Scanned::NeedMore(end)),
            None => Err(Scanned::Refused),
        }
    }

    /// The parser's bound on a count read just before `at`: `count` items of at least `min` bytes must fit in a header.
    fn bounded(&self, at: u64, count: u64, min: u64) -> Step {
        header_room(at, count, min, self.max_header).map(|_| ()).ok_or(Scanned::Refused)
    }

    fn prefix(&mut self, b: &[u8], have: u64) -> Step {
        self.need(24, have)?;
        let version = u32_at(b, 4);
        if &b[..4] != GGUF_MAGIC || !SUPPORTED_VERSIONS.contains(&version) {
            return Err(Scanned::Refused);
        }
        self.tensors_left = u64_at(b, 8);
        self.kv_left = u64_at(b, 16);
        self.pos = 24;
        self.bounded(24, self.kv_left, MIN_KV_BYTES)?;
        self.next_kv()
    }

    /// After a key/value (or the counts): the next key, else the tensor infos.
    fn next_kv(&mut self) -> Step {
        if self.kv_left > 0 {
            self.stage = Stage::Key;
            return Ok(());
        }
        self.bounded(self.pos, self.tensors_left, MIN_TENSOR_INFO_BYTES)?;
        self.stage = if self.tensors_left > 0 { Stage::TensorInfo } else { Stage::Done };
        Ok(())
    }

    fn value_done(&mut self) -> Step {
        self.kv_left -= 1;
        self.next_kv()
    }

    /// A string (u64 length, bytes) at the current position, skipped whole.
    fn string(&mut self, b: &[u8], have: u64) -> Step {
        self.need(8, have)?;
        let len = u64_at(b, self.pos);
        self.bounded(self.pos + 8, len, 1)?;
        self.need(8 + len, have)?;
        self.pos += 8 + len;
        Ok(())
    }

    fn value_type(&mut self, b: &[u8], have: u64) -> Step {
        self.need(4, have)?;
        let t = u32_at(b, self.pos);
        if t > type_id::F64 {
            return Err(Scanned::Refused);
        }
        self.pos += 4;
        self.stage = Stage::Value(t);
        Ok(())
    }

    fn value(&mut self, t: u32, b: &[u8], have: u64) -> Step {
        match t {
            type_id::STRING => self.string(b, have)?,
            type_id::ARRAY => return self.open_array(b, have),
            _ => {
                self.need(min_encoded_bytes(t), have)?;
                self.pos += min_encoded_bytes(t);
            }
        }
        self.value_done()
    }

    /// An array's element type and count; the array's level is `depth + 1` (the parser counts from 1).
    fn open_array(&mut self, b: &[u8], have: u64) -> Step {
        self.need(12, have)?;
        let elem = u32_at(b, self.pos);
        let count = u64_at(b, self.pos + 4);
        let level = self.depth as u32 + 1;
        if elem > type_id::F64 || (elem == type_id::ARRAY && level >= MAX_ARRAY_DEPTH) {
            return Err(Scanned::Refused);
        }
        self.bounded(self.pos + 12, count, min_encoded_bytes(elem))?;
        self.pos += 12;
        self.arrays[self.depth] = ArrayLeft { elem, left: count };
        self.depth += 1;
        self.stage = Stage::Array;
        Ok(())
    }

    /// The innermost open array: its remaining elements, one string or nested array at a time.
    fn array(&mut self, b: &[u8], have: u64) -> Step {
        let top = self.depth - 1;
        let ArrayLeft { elem, left } = self.arrays[top];
        if left == 0 {
            self.depth -= 1;
            return if self.depth == 0 { self.value_done() } else { Ok(()) };
        }
        match elem {
            type_id::STRING => {
                self.string(b, have)?;
                self.arrays[top].left -= 1;
            }
            type_id::ARRAY => {
                self.open_array(b, have)?;
                self.arrays[top].left -= 1;
            }
            _ => {
                // Counts were bounded by the header limit when the array opened: no overflow.
                let bytes = left * min_encoded_bytes(elem);
                self.need(bytes, have)?;
                self.pos += bytes;
                self.arrays[top].left = 0;
            }
        }
        Ok(())
    }

    /// One tensor info (name, n_dims, dims, type, offset), skipped whole.
    fn tensor_info(&mut self, b: &[u8], have: u64) -> Step {
        self.need(8, have)?;
        let name = u64_at(b, self.pos);
        self.bounded(self.pos + 8, name, 1)?;
        self.need(8 + name + 4, have)?;
        let n_dims = u32_at(b, self.pos + 8 + name);
        if n_dims as usize > MAX_DIMS {
            return Err(Scanned::Refused);
        }
        let len = 8 + name + 4 + 8 * n_dims as u64 + 4 + 8;
        self.need(len, have)?;
        self.pos += len;
        self.tensors_left -= 1;
        if self.tensors_left == 0 {
            self.stage = Stage::Done;
        }
        Ok(())
    }
}

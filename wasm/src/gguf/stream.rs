//! Streaming loader: the file arrives in network chunks and every tensor byte is written once, straight
//! into its final place in the 64-byte-aligned arena. The caller asks for a region (`next_region`), copies
//! the next bytes of the file into it, and reports how many it wrote (`commit`).
//!
//! Phases: header bytes collect in a buffer, walked by a length scan as they arrive (`scan`), and are parsed once,
//! when the scan has found the header's end; once parsed (and checked, `with_check`), the arena for the tensor data
//! is allocated, the tensor bytes that came with the header are moved into it and the header buffer is freed; then
//! regions point into the arena; padding before the data and anything after it go to a small discard buffer.

use super::aligned::AlignedBytes;
use super::error::{GgufError, GgufErrorKind};
use super::header::{parse_header_limited, GgufHeader, TensorInfo, DEFAULT_MAX_HEADER_BYTES};
use super::repack::{RepackPolicy, Repacker};
use super::scan::{HeaderScan, Scanned};
use crate::tensor::{DType, Layout, TensorView};

/// The least header region handed out (the scan's own need is often the next few bytes), and so at most how far
/// the header buffer reaches past the header.
const MIN_HEADER_STEP: usize = 64 << 10;
const DISCARD_LEN: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest file accepted (header + tensor data + trailing bytes).
    pub max_total_bytes: u64,
    /// Largest header accepted (metadata + tensor infos).
    pub max_header_bytes: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_total_bytes: u32::MAX as u64,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl LoadLimits {
    pub fn with_max_total(max_total_bytes: u64) -> Self {
        LoadLimits {
            max_total_bytes,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES.min(max_total_bytes),
        }
    }
}

/// A fully loaded file: the parsed header and the tensor data section (offset 0 = `header.data_offset`), with
/// each tensor's layout (`header.tensors()` order): repacked matrices are no longer in the file's byte order.
#[derive(Debug)]
pub struct LoadedGguf {
    pub header: GgufHeader,
    pub data: AlignedBytes,
    pub layouts: Vec<Layout>,
}

impl LoadedGguf {
    /// A zero-filled arena for `header` (one made in memory: the warm-up model), repacked as `repack` accepts.
    pub fn zeroed(header: GgufHeader, repack: Option<RepackPolicy>) -> Result<LoadedGguf, GgufError> {
        let mut data = allocate_arena(&header, &LoadLimits::default())?;
        let (mut repacker, layouts) = Repacker::plan(&header, repack);
        let len = data.len();
        repacker.advance(&mut data, len);
        Ok(LoadedGguf { header, data, layouts })
    }

    pub fn tensor(&self, name: &str) -> Option<(&TensorInfo, &[u8])> {
        let info = self.header.tensor_info(name)?;
        let start = usize::try_from(info.offset).ok()?;
        let len = usize::try_from(info.n_bytes).ok()?;
        Some((info, self.data.get(start..start.checked_add(len)?)?))
    }

    /// The tensor as a matrix: dims `[cols, rows, 1, 1]` (dims past the second fold into rows).
    pub fn tensor_view(&self, name: &str) -> Option<TensorView<'_>> {
        let (info, bytes) = self.tensor(name)?;
        let (rows, cols) = info.rows_cols();
        let view = TensorView::new(
            info.dtype,
            usize::try_from(rows).ok()?,
            usize::try_from(cols).ok()?,
            bytes,
        )?;
        Some(TensorView { layout: self.layout(name)?, ..view })
    }

    /// How the tensor's bytes are ordered (`Interleaved4` when the loader repacked it).
    pub fn layout(&self, name: &str) -> Option<Layout> {
        self.layouts.get(self.header.tensor_position(name)?).copied()
    }

    /// Dtype of a tensor, if present.
    pub fn dtype(&self, name: &str) -> Option<DType> {
        self.header.tensor_info(name).map(|t| t.dtype)
    }
}

enum Phase {
    /// Header bytes so far: `buf[..filled]`, scanned up to where `scan` stands; it needs `need` bytes to go on.
    Header {
        buf: Vec<u8>,
        filled: usize,
        scan: HeaderScan,
        need: u64,
    },
    Data {
        header: GgufHeader,
        arena: AlignedBytes,
        repacker: Repacker,
        layouts: Vec<Layout>,
    },
    Failed(GgufError),
    /// Transient while moving between phases.
    Empty,
}

/// A check of the parsed header that runs before the tensor arena is allocated (see `StreamLoader::with_check`).
pub type HeaderCheck = Box<dyn Fn(&GgufHeader) -> Result<(), GgufError>>;

pub struct StreamLoader {
    limits: LoadLimits,
    check: Option<HeaderCheck>,
    repack: Option<RepackPolicy>,
    phase: Phase,
    received: u64,
    /// Length of the region handed out by the last `next_region` (what `commit` may report).
    region_len: usize,
    discard: Vec<u8>,
}

impl StreamLoader {
    pub fn new(limits: LoadLimits) -> Self {
        StreamLoader {
            limits,
            check: None,
            repack: None,
            phase: Phase::Header {
                buf: Vec::new(),
                filled: 0,
                scan: HeaderScan::new(limits.max_header_bytes),
                need: 1,
            },
            received: 0,
            region_len: 0,
            discard: Vec::new(),
        }
    }

    /// Runs `check` on the header once it is parsed, before the arena for the tensor data is allocated: a refusal
    /// there (the tensors extend past the object, the model would not fit its budget) costs no memory.
    pub fn with_check(mut self, check: HeaderCheck) -> Self {
        self.check = Some(check);
        self
    }

    /// Repacks the matrices whose type `policy` accepts into `Layout::Interleaved4` as they arrive (see `repack`).
    pub fn with_repack(mut self, policy: RepackPolicy) -> Self {
        self.repack = Some(policy);
        self
    }

    /// Where the next bytes of the file go: a writable region of at most `want` bytes (fewer at phase
    /// boundaries; never 0 when `want > 0`). Only the newest region is valid, and a `commit` must follow.
    pub fn next_region(&mut self, want: usize) -> Result<&mut [u8], GgufError> {
        let received = self.received;
        let max_total = self.limits.max_total_bytes;
        let max_header = self.limits.max_header_bytes.min(usize::MAX as u64) as usize;
        match &mut self.phase {
            Phase::Failed(e) => Err(e.clone()),
            Phase::Empty => Err(inconsistent(received)),
            Phase::Header { buf, filled, need, .. } => {
                let step = (*need as usize).saturating_sub(*filled).max(MIN_HEADER_STEP);
                let n = want.min(step).min(max_header.saturating_sub(*filled));
                if n == 0 && want > 0 {
                    return Err(header_too_large(received, max_header as u64));
                }
                if buf.len() < *filled + n {
                    // Exactly what this region needs: Vec's doubling would hold up to twice the header, and WASM
                    // memory never gives the peak back.
                    buf.reserve_exact(*filled + n - buf.len());
                    buf.resize(*filled + n, 0);
                }
                self.region_len = n;
                Ok(&mut buf[*filled..*filled + n])
            }
            Phase::Data { header, arena, .. } => {
                let start = header.data_offset;
                let end = start + header.data_size;
                if received < start {
                    let n = want.min(DISCARD_LEN).min((start - received) as usize);
                    self.region_len = n;
                    Ok(discard(&mut self.discard, n))
                } else if received < end {
                    let at = (received - start) as usize;
                    let n = want.min(arena.len() - at);
                    self.region_len = n;
                    Ok(&mut arena[at..at + n])
                } else {
                    if received >= max_total {
                        return Err(GgufError::invalid(
                            "file size",
                            received,
                            format!("more than the limit of {max_total} bytes arrived"),
                        ));
                    }
                    let n = want
                        .min(DISCARD_LEN)
                        .min((max_total - received).min(usize::MAX as u64) as usize);
                    self.region_len = n;
                    Ok(discard(&mut self.discard, n))
                }
            }
        }
    }

    /// `n` bytes of the last region were filled.
    pub fn commit(&mut self, n: usize) -> Result<(), GgufError> {
        if let Phase::Failed(e) = &self.phase {
            return Err(e.clone());
        }
        if n > self.region_len {
            return Err(GgufError::invalid(
                "commit",
                self.received,
                format!("committed {n} bytes but the last region was {} bytes", self.region_len),
            ));
        }
        self.region_len = 0;
        self.received += n as u64;
        match &mut self.phase {
            Phase::Header { buf, filled, scan, need } => {
                *filled += n;
                if (*filled as u64) < *need {
                    return Ok(());
                }
                match scan.advance(&buf[..*filled]) {
                    Scanned::NeedMore(more) if more <= self.limits.max_header_bytes => *need = more,
                    // Complete, refused (the parser names why), or more than a header may span: parse now.
                    _ => return self.try_parse(false),
                }
            }
            Phase::Data { header, arena, repacker, .. } => {
                let filled = self.received.saturating_sub(header.data_offset).min(arena.len() as u64) as usize;
                repacker.advance(arena, filled);
            }
            _ => {}
        }
        Ok(())
    }

    pub fn header(&self) -> Option<&GgufHeader> {
        match &self.phase {
            Phase::Data { header, .. } => Some(header),
            _ => None,
        }
    }

    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// `data_offset + data_size` once the header is parsed: the bytes the loader still needs in total.
    pub fn expected_size(&self) -> Option<u64> {
        self.header().map(|h| h.file_size_needed())
    }

    /// The loaded file; an error if the header or any tensor byte is missing.
    pub fn finish(mut self) -> Result<LoadedGguf, GgufError> {
        if matches!(self.phase, Phase::Header { .. }) {
            self.try_parse(true)?;
        }
        match std::mem::replace(&mut self.phase, Phase::Empty) {
            Phase::Data { header, arena, repacker, layouts } => {
                let end = header.file_size_needed();
                if self.received < end {
                    return Err(missing_data(&header, self.received, "the stream ended"));
                }
                debug_assert!(repacker.is_done(), "every repacked group is complete once all data arrived");
                Ok(LoadedGguf { header, data: arena, layouts })
            }
            Phase::Failed(e) => Err(e),
            _ => Err(inconsistent(self.received)),
        }
    }

    /// Parses the buffered header (the scan found its end, or cannot go on, or the stream ended: `at_end`), checks
    /// it and switches to the data phase. Any error poisons the loader.
    fn try_parse(&mut self, at_end: bool) -> Result<(), GgufError> {
        let Phase::Header { buf, filled, need, .. } = &self.phase else {
            return Ok(());
        };
        let max_header = self.limits.max_header_bytes;
        let parsed = match parse_header_limited(&buf[..*filled], max_header) {
            // Mid-stream the parser runs only once the scan stopped: short of bytes here, the header needs more
            // than it may span.
            Err(e) if e.kind == GgufErrorKind::Truncated && !at_end && (*filled as u64 >= max_header || *need > max_header) => {
                Err(GgufError { field: e.field, ..header_too_large(e.offset, max_header) })
            }
            result => result,
        };
        let checked = parsed.and_then(|h| match &self.check {
            Some(check) => check(&h).map(|()| h),
            None => Ok(h),
        });
        let started = checked.and_then(|header| match &self.phase {
            Phase::Header { buf, filled, .. } => start_data_phase(header, &buf[..*filled], &self.limits, self.repack),
            _ => Err(inconsistent(self.received)),
        });
        match started {
            Ok(phase) => {
                self.phase = phase; // drops the header buffer
                Ok(())
            }
            Err(e) => {
                self.phase = Phase::Failed(e.clone());
                Err(e)
            }
        }
    }
}

fn inconsistent(received: u64) -> GgufError {
    GgufError::invalid("loader", received, "loader is in an inconsistent state")
}

fn header_too_large(offset: u64, max_header: u64) -> GgufError {
    GgufError::invalid("header", offset, format!("the header is larger than the limit of {max_header} bytes"))
}

fn discard(buf: &mut Vec<u8>, n: usize) -> &mut [u8] {
    if buf.len() < DISCARD_LEN {
        buf.resize(DISCARD_LEN, 0);
    }
    &mut buf[..n]
}

/// Allocates the arena and moves the tensor bytes that arrived with the header (`prefix` is the file start).
fn start_data_phase(
    header: GgufHeader,
    prefix: &[u8],
    limits: &LoadLimits,
    repack: Option<RepackPolicy>,
) -> Result<Phase, GgufError> {
    let mut arena = allocate_arena(&header, limits)?;
    let (mut repacker, layouts) = Repacker::plan(&header, repack);
    let start = header.data_offset as usize; // ≤ header size + alignment, both bounded
    if prefix.len() > start {
        let n = (prefix.len() - start).min(arena.len());
        arena[..n].copy_from_slice(&prefix[start..start + n]);
        repacker.advance(&mut arena, n);
    }
    Ok(Phase::Data { header, arena, repacker, layouts })
}

fn allocate_arena(header: &GgufHeader, limits: &LoadLimits) -> Result<AlignedBytes, GgufError> {
    let total = header.file_size_needed();
    if total > limits.max_total_bytes {
        return Err(GgufError::invalid(
            "tensor data",
            header.data_offset,
            format!(
                "the file needs {total} bytes, more than the limit of {} bytes",
                limits.max_total_bytes
            ),
        ));
    }
    let size = usize::try_from(header.data_size).map_err(|_| {
        GgufError::invalid(
            "tensor data",
            header.data_offset,
            format!("{} bytes do not fit in memory", header.data_size),
        )
    })?;
    AlignedBytes::zeroed(size).ok_or_else(|| {
        GgufError::invalid(
            "tensor data",
            header.data_offset,
            format!("could not allocate {size} bytes for tensor data"),
        )
    })
}

/// The error for a file that ends at `have` before the tensor data does: names the first incomplete tensor.
fn missing_data(header: &GgufHeader, have: u64, why: &str) -> GgufError {
    let rel = have.saturating_sub(header.data_offset);
    let culprit = header
        .tensors()
        .iter()
        .filter(|t| t.n_bytes > 0 && t.offset + t.n_bytes > rel)
        .min_by_key(|t| t.offset)
        .map(|t| {
            format!(
                "tensor '{}' (data bytes {}..{})",
                t.name,
                t.offset,
                t.offset + t.n_bytes
            )
        })
        .unwrap_or_else(|| "tensor data".to_string());
    let end = header.file_size_needed();
    let mut e = GgufError::truncated(culprit, have, end - have, 0);
    e.message = format!("{why} after {have} bytes; the tensors need {end} bytes ({})", e.message);
    e
}

/// Whole-buffer load (host tests, small files): parse, check every tensor lies inside `bytes`, copy once; no
/// repacking.
pub fn load_from_bytes(bytes: &[u8]) -> Result<LoadedGguf, GgufError> {
    load_from_bytes_with(bytes, None)
}

/// `load_from_bytes`, repacking the matrices `repack` accepts.
pub fn load_from_bytes_with(bytes: &[u8], repack: Option<RepackPolicy>) -> Result<LoadedGguf, GgufError> {
    let header = super::header::parse_header(bytes)?;
    let end = header.file_size_needed();
    if (bytes.len() as u64) < end {
        let mut e = missing_data(&header, bytes.len() as u64, "the file ends");
        e.kind = GgufErrorKind::InvalidValue;
        e.message = format!("tensor data past the end of the file: {}", e.message);
        return Err(e);
    }
    let limits = LoadLimits {
        max_total_bytes: u64::MAX,
        max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
    };
    let mut arena = allocate_arena(&header, &limits)?;
    let (mut repacker, layouts) = Repacker::plan(&header, repack);
    if !arena.is_empty() {
        let start = header.data_offset as usize; // ≤ bytes.len() - arena.len(), checked above
        let len = arena.len();
        arena.copy_from_slice(&bytes[start..start + len]);
        repacker.advance(&mut arena, len);
    }
    Ok(LoadedGguf { header, data: arena, layouts })
}

//! Tensor data types (ggml's block formats) and borrowed views of tensor bytes.
//! Shared vocabulary of the loader, the kernels and the model: nothing here computes.

/// A ggml tensor type. Discriminants are ggml's on-disk type ids (GGUF `ggml_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[allow(non_camel_case_types)]
pub enum DType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ4_NL = 20,
    IQ4_XS = 23,
    BF16 = 30,
}

impl DType {
    /// Every type id this crate can name, for error messages and lookups.
    pub const ALL: [DType; 17] = [
        DType::F32, DType::F16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q8_1,
        DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::IQ4_NL, DType::IQ4_XS,
        DType::BF16,
    ];

    /// The type with ggml id `id`, if this crate knows it.
    pub fn from_ggml(id: u32) -> Option<DType> {
        DType::ALL.iter().copied().find(|t| *t as u32 == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::Q4_0 => "Q4_0",
            DType::Q4_1 => "Q4_1",
            DType::Q5_0 => "Q5_0",
            DType::Q5_1 => "Q5_1",
            DType::Q8_0 => "Q8_0",
            DType::Q8_1 => "Q8_1",
            DType::Q2_K => "Q2_K",
            DType::Q3_K => "Q3_K",
            DType::Q4_K => "Q4_K",
            DType::Q5_K => "Q5_K",
            DType::Q6_K => "Q6_K",
            DType::Q8_K => "Q8_K",
            DType::IQ4_NL => "IQ4_NL",
            DType::IQ4_XS => "IQ4_XS",
            DType::BF16 => "BF16",
        }
    }

    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.iter().copied().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Elements per block (1 for plain float types).
    pub fn block_len(self) -> usize {
        match self {
            DType::F32 | DType::F16 | DType::BF16 => 1,
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 | DType::Q8_1 | DType::IQ4_NL => 32,
            DType::Q2_K | DType::Q3_K | DType::Q4_K | DType::Q5_K | DType::Q6_K | DType::Q8_K | DType::IQ4_XS => 256,
        }
    }

    /// Bytes per block, exactly as ggml lays it out.
    pub fn block_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::Q4_0 => 18,  // f16 d + 16 bytes of nibbles
            DType::Q4_1 => 20,  // f16 d, f16 m + 16
            DType::Q5_0 => 22,  // f16 d + u32 high bits + 16
            DType::Q5_1 => 24,  // f16 d, f16 m + u32 + 16
            DType::Q8_0 => 34,  // f16 d + 32 i8
            DType::Q8_1 => 36,  // f16 d, f16 s + 32 i8
            DType::Q2_K => 84,  // 16 scales + 64 qs + f16 d + f16 dmin
            DType::Q3_K => 110, // 32 hmask + 64 qs + 12 scales + f16 d
            DType::Q4_K => 144, // f16 d + f16 dmin + 12 scales + 128 qs
            DType::Q5_K => 176, // f16 d + f16 dmin + 12 scales + 32 qh + 128 qs
            DType::Q6_K => 210, // 128 ql + 64 qh + 16 scales + f16 d
            DType::Q8_K => 292, // f32 d + 256 i8 + 16 i16 bsums
            DType::IQ4_NL => 18, // f16 d + 16 bytes of nibbles (indices into a fixed table)
            DType::IQ4_XS => 136, // f16 d + u16 scales_h + 4 scales_l + 128 qs
        }
    }

    /// Bytes of one row of `cols` elements; `None` when `cols` is not a whole number of blocks.
    pub fn row_bytes(self, cols: usize) -> Option<usize> {
        let bl = self.block_len();
        if cols % bl != 0 {
            return None;
        }
        (cols / bl).checked_mul(self.block_bytes())
    }
}

/// How a matrix's blocks are ordered in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// As in the file: row after row, each row its blocks in order.
    #[default]
    RowMajor,
    /// Repacked at load for the SIMD tiles, which read 4 rows at a time: rows in groups of 4, and inside a group
    /// the four rows' block b side by side at `(4·b + i) · block_bytes`, so a tile reads one stream with the four
    /// rows' scales together. The 32-value formats also exchange quant codes among those four blocks (see
    /// `kernels::repack`). The last `rows % 4` rows stay row-major after the groups. Same size as row-major.
    Interleaved4,
}

/// Rows per group of `Layout::Interleaved4`.
pub const GROUP_ROWS: usize = 4;

/// Reorders one group of `GROUP_ROWS` row-major rows in place into `Layout::Interleaved4` (`buf`: scratch, grown
/// to one group once): one function per weight type, chosen by the kernels and run by the loader.
pub type GroupRepack = fn(group: &mut [u8], buf: &mut Vec<u8>);

/// Rewrites one group of `GROUP_ROWS` row-major rows (`group`, each row a whole number of `BB`-byte blocks) into
/// the `Interleaved4` block order, in place, through `buf` (a copy of the group). `BB` is a constant so each
/// block moves as a fixed-size copy, not a `memcpy` call: the loader runs this over whole models.
pub fn interleave_group<const BB: usize>(group: &mut [u8], buf: &mut Vec<u8>) {
    let row_bytes = group.len() / GROUP_ROWS;
    assert!(row_bytes * GROUP_ROWS == group.len() && row_bytes % BB == 0, "interleave_group: not whole blocks");
    buf.clear();
    buf.extend_from_slice(group);
    let n_blocks = row_bytes / BB;
    for (b, quad) in group.chunks_exact_mut(GROUP_ROWS * BB).enumerate() {
        for (i, dst) in quad.chunks_exact_mut(BB).enumerate() {
            let src: &[u8; BB] = buf[(i * n_blocks + b) * BB..][..BB].try_into().expect("one block");
            dst.copy_from_slice(src);
        }
    }
}

/// Where each row's blocks lie in a matrix of either layout.
#[derive(Clone, Copy, Debug)]
pub struct RowAddressing {
    pub row_bytes: usize,
    pub block_bytes: usize,
    /// Rows `0..grouped` are in interleaved groups, the rest row-major.
    pub grouped: usize,
}

impl RowAddressing {
    /// Where row `r`'s first block starts, and the bytes from one of its blocks to the next.
    #[inline(always)]
    pub fn row_blocks(&self, r: usize) -> (usize, usize) {
        if r < self.grouped {
            (r / GROUP_ROWS * GROUP_ROWS * self.row_bytes + r % GROUP_ROWS * self.block_bytes, GROUP_ROWS * self.block_bytes)
        } else {
            (r * self.row_bytes, self.block_bytes)
        }
    }
}

/// A 2-D tensor borrowed from the weight arena: `rows` rows of `cols` elements each, every row
/// `dtype.row_bytes(cols)` bytes, in `layout` order. (GGUF lists dims innermost first: `[cols, rows]`.)
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    pub dtype: DType,
    pub rows: usize,
    pub cols: usize,
    pub data: &'a [u8],
    pub layout: Layout,
}

impl<'a> TensorView<'a> {
    /// Checks that `data` holds exactly `rows` rows of `cols` elements of `dtype` (row-major).
    pub fn new(dtype: DType, rows: usize, cols: usize, data: &'a [u8]) -> Option<Self> {
        let need = dtype.row_bytes(cols)?.checked_mul(rows)?;
        (data.len() == need).then_some(TensorView { dtype, rows, cols, data, layout: Layout::RowMajor })
    }

    pub fn row_bytes(&self) -> usize {
        self.dtype.row_bytes(self.cols).expect("validated at construction")
    }

    /// The row addressing of this view, to compute once per sweep rather than once per row.
    pub fn addressing(&self) -> RowAddressing {
        let grouped = match self.layout {
            Layout::RowMajor => 0,
            Layout::Interleaved4 => self.rows / GROUP_ROWS * GROUP_ROWS,
        };
        RowAddressing { row_bytes: self.row_bytes(), block_bytes: self.dtype.block_bytes(), grouped }
    }
}

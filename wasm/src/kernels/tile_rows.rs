//! The weight rows one SIMD tile reads, as block addresses, so the tiles need not know the matrix's layout
//! (row-major, or repacked into interleaved 4-row groups at load: see `tensor::Layout`).

use crate::tensor::{RowAddressing, TensorView};

/// R rows of a matrix: block b of row i is `data[starts[i] + b · stride..][..block_bytes]`.
#[derive(Clone, Copy)]
pub struct TileRows<'a, const R: usize> {
    data: &'a [u8],
    starts: [usize; R],
    stride: usize,
    block_bytes: usize,
    pub n_blocks: usize,
}

impl<'a, const R: usize> TileRows<'a, R> {
    /// Rows `rows` of `w` (`addressing`: its `addressing()`); they must share one block stride (a tile inside one
    /// interleaved group, or row-major rows), which every tile of `kernels::matmul` does.
    #[inline(always)]
    pub fn of(w: &TensorView<'a>, addressing: &RowAddressing, rows: [usize; R]) -> Self {
        let block_bytes = addressing.block_bytes;
        let n_blocks = addressing.row_bytes / block_bytes;
        let at: [(usize, usize); R] = core::array::from_fn(|i| addressing.row_blocks(rows[i]));
        let stride = at[0].1;
        for &(start, s) in &at {
            assert!(s == stride, "TileRows: rows with different block strides");
            assert!(n_blocks == 0 || start + (n_blocks - 1) * stride + block_bytes <= w.data.len(), "TileRows: row out of bounds");
        }
        TileRows { data: w.data, starts: at.map(|a| a.0), stride, block_bytes, n_blocks }
    }

    /// Block `b` of row `i`.
    #[inline(always)]
    pub fn block(&self, i: usize, b: usize) -> &'a [u8] {
        debug_assert!(i < R && b < self.n_blocks);
        let at = self.starts[i] + b * self.stride;
        // SAFETY: b < n_blocks, and every row's last block lies inside `data` (checked in `of`).
        unsafe { self.data.get_unchecked(at..at + self.block_bytes) }
    }

    pub fn block_bytes(&self) -> usize {
        self.block_bytes
    }

    /// The rows as contiguous slices; panics unless the rows are row-major (float weights are never repacked).
    pub fn contiguous(&self) -> [&'a [u8]; R] {
        assert_eq!(self.stride, self.block_bytes, "TileRows::contiguous: rows are interleaved");
        let len = self.n_blocks * self.block_bytes;
        self.starts.map(|s| &self.data[s..s + len])
    }
}

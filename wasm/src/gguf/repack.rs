//! Load-time repacking: the matrices the SIMD tiles read four rows at a time are rewritten into
//! `Layout::Interleaved4` while the file streams in. The stream still writes each byte once, into its tensor's
//! place in the arena; as soon as a group of four rows is complete it is reordered in place through one small
//! buffer (four rows), while those bytes are still in cache. Nothing is copied whole, and the file's other
//! tensors stay as they are.

use super::header::GgufHeader;
use crate::tensor::{DType, GroupRepack, Layout, GROUP_ROWS};

/// How matrices of a weight type are repacked, if at all (the kernels decide: `kernels::repack::group_repack`).
pub type RepackPolicy = fn(DType) -> Option<GroupRepack>;

/// One matrix to repack: `groups` groups of four rows of `row_bytes` from arena offset `start`.
struct Target {
    start: usize,
    row_bytes: usize,
    repack: GroupRepack,
    groups: usize,
}

/// The repack plan of one file and how far it got.
pub struct Repacker {
    /// In data order, which is the order the stream fills them.
    targets: Vec<Target>,
    /// The first target with groups left, and its next group.
    next: usize,
    group: usize,
    /// One group's bytes (allocated at the first group).
    buf: Vec<u8>,
}

impl Repacker {
    /// The plan for `header` and the layout each tensor (in `header.tensors()` order) will have once loaded:
    /// every matrix of a type `policy` repacks, with at least one whole group of rows, is interleaved.
    pub fn plan(header: &GgufHeader, policy: Option<RepackPolicy>) -> (Repacker, Vec<Layout>) {
        let mut targets = Vec::new();
        let layouts = header
            .tensors()
            .iter()
            .map(|t| {
                let (rows, cols) = t.rows_cols();
                let row_bytes = usize::try_from(cols).ok().and_then(|c| t.dtype.row_bytes(c));
                let (Some(policy), Some(row_bytes), Ok(rows), Ok(start)) =
                    (policy, row_bytes, usize::try_from(rows), usize::try_from(t.offset))
                else {
                    return Layout::RowMajor;
                };
                let whole = row_bytes as u64 * rows as u64 == t.n_bytes;
                let repack = match policy(t.dtype) {
                    Some(repack) if whole && rows >= GROUP_ROWS && row_bytes > 0 => repack,
                    _ => return Layout::RowMajor,
                };
                targets.push(Target { start, row_bytes, repack, groups: rows / GROUP_ROWS });
                Layout::Interleaved4
            })
            .collect();
        targets.sort_by_key(|t| t.start);
        (Repacker { targets, next: 0, group: 0, buf: Vec::new() }, layouts)
    }

    /// Repacks every group that lies wholly inside `arena[..filled]` and was not repacked yet.
    pub fn advance(&mut self, arena: &mut [u8], filled: usize) {
        while let Some(t) = self.targets.get(self.next) {
            let len = GROUP_ROWS * t.row_bytes;
            let at = t.start + self.group * len;
            if at + len > filled.min(arena.len()) {
                return;
            }
            (t.repack)(&mut arena[at..at + len], &mut self.buf);
            self.group += 1;
            if self.group == t.groups {
                (self.next, self.group) = (self.next + 1, 0);
            }
        }
    }

    /// Whether every planned group was repacked.
    pub fn is_done(&self) -> bool {
        self.next == self.targets.len()
    }
}

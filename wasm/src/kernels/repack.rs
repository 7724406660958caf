//! Load-time repacking of weight matrices into `Layout::Interleaved4`, per format, and reading rows back.
//!
//! Every block format: rows in groups of four, and inside a group the four rows' blocks b side by side
//! (`tensor::interleave_group` for the K-quants), so a tile reads one stream and the four rows' scales sit together.
//!
//! The 32-value formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) go one step further, for `q8_tiles`: the four blocks
//! of a group exchange their quant codes so that each one, decoded by its format's own `WideWeights::widen`,
//! yields vectors whose lanes are *rows*: vector k of pseudo-block p holds columns 8p + 2k and 8p + 2k + 1 of the
//! four rows (lane L: row L / 2, column 8p + 2k + L % 2). A dot with the broadcast activation pair of those two
//! columns then sums straight into [row0, row1, row2, row3]: no per-block transpose, and four i32x4 sums per tile
//! instead of sixteen. Each pseudo-block keeps the scale (and minimum) of its own row index in its header, so the
//! scales of the four rows are still read at the four blocks' byte 0.

use super::matmul::is_q8_partnered;
use crate::tensor::{interleave_group, DType, GroupRepack, Layout, TensorView, GROUP_ROWS};

/// How the loader repacks matrices of `dtype`: on SIMD builds, every block format (their tiles read four rows at
/// a time); elsewhere nothing (the scalar kernels read row-major rows directly).
pub fn group_repack(dtype: DType) -> Option<GroupRepack> {
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        repacker(dtype)
    } else {
        None
    }
}

/// Repacks a whole row-major matrix of `rows` rows of `dtype` in place, as the loader does (whole groups only;
/// on any build, so host tests and the kernel checks can repack too).
pub fn pack_matrix(dtype: DType, data: &mut [u8], rows: usize) {
    let Some(repack) = repacker(dtype) else { return };
    let group = GROUP_ROWS * data.len() / rows.max(1);
    let mut buf = Vec::new();
    for g in data.chunks_exact_mut(group.max(1)).take(rows / GROUP_ROWS) {
        repack(g, &mut buf);
    }
}

/// How matrices of `dtype` are repacked, on any build (`group_repack` asks only on SIMD builds; host tests use
/// this to load repacked models too).
pub fn repacker(dtype: DType) -> Option<GroupRepack> {
    Some(match dtype {
        DType::Q4_0 => |g, buf| pack_group(DType::Q4_0, g, buf),
        DType::Q4_1 => |g, buf| pack_group(DType::Q4_1, g, buf),
        DType::Q5_0 => |g, buf| pack_group(DType::Q5_0, g, buf),
        DType::Q5_1 => |g, buf| pack_group(DType::Q5_1, g, buf),
        DType::Q8_0 => |g, buf| pack_group(DType::Q8_0, g, buf),
        DType::IQ4_NL => |g, buf| pack_group(DType::IQ4_NL, g, buf),
        DType::Q2_K => interleave_group::<84>,
        DType::Q3_K => interleave_group::<110>,
        DType::Q4_K => interleave_group::<144>,
        DType::Q5_K => interleave_group::<176>,
        DType::Q6_K => interleave_group::<210>,
        DType::IQ4_XS => interleave_group::<136>,
        _ => return None,
    })
}

/// Where a 32-value block keeps its quant codes: `head` bytes of scales first; with `fifth`, a u32 of fifth bits
/// (bit j for value j) right after the head; then 16 bytes of nibbles (value j < 16 the low nibble of byte j,
/// j + 16 its high nibble), or with `!nibbles` one byte per value.
#[derive(Clone, Copy)]
struct Codes {
    head: usize,
    fifth: bool,
    nibbles: bool,
    /// Unsigned codes that fit the relaxed dot's 7-bit operand (`WideWeights::SEVEN_BIT`).
    seven_bit: bool,
}

impl Codes {
    fn of(dtype: DType) -> Codes {
        match dtype {
            DType::Q4_0 => Codes { head: 2, fifth: false, nibbles: true, seven_bit: true },
            DType::IQ4_NL => Codes { head: 2, fifth: false, nibbles: true, seven_bit: false },
            DType::Q4_1 => Codes { head: 4, fifth: false, nibbles: true, seven_bit: true },
            DType::Q5_0 => Codes { head: 2, fifth: true, nibbles: true, seven_bit: true },
            DType::Q5_1 => Codes { head: 4, fifth: true, nibbles: true, seven_bit: true },
            DType::Q8_0 => Codes { head: 2, fifth: false, nibbles: false, seven_bit: false },
            other => unreachable!("{} has no 32-value codes", other.name()),
        }
    }

    fn qs(&self) -> usize {
        self.head + if self.fifth { 4 } else { 0 }
    }

    fn get(&self, block: &[u8], j: usize) -> u8 {
        let qs = &block[self.qs()..];
        if !self.nibbles {
            return qs[j];
        }
        let nibble = if j < 16 { qs[j] & 15 } else { qs[j - 16] >> 4 };
        if self.fifth {
            let qh = u32::from_le_bytes(block[self.head..self.head + 4].try_into().expect("4 bytes"));
            nibble | (((qh >> j) & 1) as u8) << 4
        } else {
            nibble
        }
    }

    fn set(&self, block: &mut [u8], j: usize, code: u8) {
        let at = self.qs();
        if !self.nibbles {
            block[at + j] = code;
            return;
        }
        let (byte, shift) = if j < 16 { (at + j, 0) } else { (at + j - 16, 4) };
        block[byte] = (block[byte] & !(15 << shift)) | ((code & 15) << shift);
        if self.fifth {
            let h = self.head + j / 8;
            block[h] = (block[h] & !(1 << (j % 8))) | (((code >> 4) & 1) << (j % 8));
        }
    }
}

/// Where value (row `i`, column `c`) of a group's block goes: (pseudo-block, value index).
///
/// For the i16 tiles (`bytes_in_order == false`) the value index is in the wide order `WideWeights::widen`
/// decodes (vector k < 4 holds values 16·(k / 2) + 2·L + k % 2, lane L < 8), so vector k, lane L is column
/// 8p + 2k + L % 2 of row L / 2. For the relaxed build's 7-bit formats (`bytes_in_order`), which dot the raw
/// bytes of `WideWeights::bytes` (values 0..16, 16..32) with four broadcast activation bytes, byte 4r + m of
/// each half is column 8p + 4h + m of row r.
const fn place(bytes_in_order: bool, i: usize, c: usize) -> (usize, usize) {
    let (p, c) = (c / 8, c % 8);
    if bytes_in_order {
        return (p, 16 * (c / 4) + 4 * i + c % 4);
    }
    let (k, lane) = (c / 2, 2 * i + c % 2);
    (p, 16 * (k / 2) + 2 * lane + k % 2)
}

/// Which order `place` uses for these codes on this build (the relaxed 7-bit dot or the i16 one).
const fn bytes_in_order(codes: &Codes) -> bool {
    cfg!(target_feature = "relaxed-simd") && codes.seven_bit
}

/// Repacks one row-major group of the 32-value format `dtype` (see the module comment); `q8_tiles` also uses it
/// for the rows that were not repacked at load.
pub(super) fn pack_group(dtype: DType, group: &mut [u8], buf: &mut Vec<u8>) {
    let bb = dtype.block_bytes();
    let row_bytes = group.len() / GROUP_ROWS;
    assert!(row_bytes * GROUP_ROWS == group.len() && row_bytes % bb == 0, "pack_group: not whole blocks");
    buf.clear();
    buf.extend_from_slice(group);
    let (codes, n_blocks) = (Codes::of(dtype), row_bytes / bb);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::pack_blocks(&codes, buf, group, n_blocks, bb);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    pack_blocks(&codes, buf, group, n_blocks, bb);
}

/// Block b of the four rows in `rows` (row-major) → the four pseudo-blocks of group block b in `out`, one value at
/// a time: the reference for `simd::pack_blocks`, and the host's.
#[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
fn pack_blocks(codes: &Codes, rows: &[u8], out: &mut [u8], n_blocks: usize, bb: usize) {
    let order = bytes_in_order(codes);
    for (b, quad) in out.chunks_exact_mut(GROUP_ROWS * bb).enumerate() {
        let block = |i: usize| &rows[(i * n_blocks + b) * bb..][..bb];
        for (p, pseudo) in quad.chunks_exact_mut(bb).enumerate() {
            pseudo[..codes.head].copy_from_slice(&block(p)[..codes.head]);
        }
        for i in 0..GROUP_ROWS {
            for c in 0..32 {
                let (p, j) = place(order, i, c);
                codes.set(&mut quad[p * bb..(p + 1) * bb], j, codes.get(block(i), c));
            }
        }
    }
}

/// The code exchange with SIMD: the loader runs it over every byte of a model (74 MB for SmolLM2 Q4_0), so it
/// must cost about as much as a copy. Each row's codes are unpacked to one byte per value; pseudo-block p takes
/// columns 8p..8p+8 of the four rows (8 bytes of each: two 64-bit lane shuffles) and two swizzles per half put
/// them where `place` says; then the bytes are packed back into the format.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::{place, Codes, GROUP_ROWS};
    use crate::kernels::q8_tiles::{ld, five_bit, Consts};
    use core::arch::wasm32::*;

    /// Swizzle indices: for value half h (0: values 0..16, 1: 16..32) and row pair q (rows 0–1, rows 2–3), where
    /// each value comes from in that pair's 16 bytes (row 2q's 8 columns, then row 2q + 1's), 0x80 (none) else.
    const fn tables(bytes_in_order: bool) -> [[u8; 16]; 4] {
        let mut t = [[0x80u8; 16]; 4];
        let mut i = 0;
        while i < GROUP_ROWS {
            let mut c = 0;
            while c < 8 {
                let (_, s) = place(bytes_in_order, i, c);
                t[(s / 16) * 2 + i / 2][s % 16] = ((i % 2) * 8 + c) as u8;
                c += 1;
            }
            i += 1;
        }
        t
    }
    const WIDE: [[u8; 16]; 4] = tables(false);
    const IN_ORDER: [[u8; 16]; 4] = tables(true);

    /// As `super::pack_blocks`.
    pub fn pack_blocks(codes: &Codes, rows: &[u8], out: &mut [u8], n_blocks: usize, bb: usize) {
        assert!(rows.len() == out.len() && out.len() == GROUP_ROWS * n_blocks * bb, "pack_blocks: sizes");
        let k = Consts::hoisted();
        let t = if super::bytes_in_order(codes) { &IN_ORDER } else { &WIDE };
        // SAFETY: each table is 16 bytes.
        let t: [v128; 4] = core::array::from_fn(|n| unsafe { ld(t[n].as_ptr()) });
        for b in 0..n_blocks {
            // SAFETY: block b of row i and group block b lie inside `rows` / `out` (sizes asserted above).
            unsafe { pack_quad(codes, rows.as_ptr(), out.as_mut_ptr().add(b * GROUP_ROWS * bb), b, n_blocks, bb, &t, &k) };
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn pack_quad(codes: &Codes, rows: *const u8, quad: *mut u8, b: usize, n_blocks: usize, bb: usize, t: &[v128; 4], k: &Consts) {
        let block = |i: usize| rows.add((i * n_blocks + b) * bb);
        let rows: [(v128, v128); GROUP_ROWS] = core::array::from_fn(|i| unpack(codes, block(i), k));
        for p in 0..GROUP_ROWS {
            // Pseudo-block p keeps row p's scale (and minimum): 2 or 4 header bytes, as one fixed-size copy.
            if codes.head == 2 {
                core::ptr::write_unaligned(quad.add(p * bb) as *mut u16, core::ptr::read_unaligned(block(p) as *const u16));
            } else {
                core::ptr::write_unaligned(quad.add(p * bb) as *mut u32, core::ptr::read_unaligned(block(p) as *const u32));
            }
            let pick = |a: (v128, v128), b: (v128, v128)| {
                let (x, y) = if p < 2 { (a.0, b.0) } else { (a.1, b.1) };
                if p % 2 == 0 { i64x2_shuffle::<0, 2>(x, y) } else { i64x2_shuffle::<1, 3>(x, y) }
            };
            let (r01, r23) = (pick(rows[0], rows[1]), pick(rows[2], rows[3]));
            let lo = v128_or(i8x16_swizzle(r01, t[0]), i8x16_swizzle(r23, t[1]));
            let hi = v128_or(i8x16_swizzle(r01, t[2]), i8x16_swizzle(r23, t[3]));
            pack(codes, quad.add(p * bb), lo, hi, k.low4);
        }
    }

    /// One block's codes as bytes: values 0..16, values 16..32.
    #[inline(always)]
    unsafe fn unpack(codes: &Codes, block: *const u8, k: &Consts) -> (v128, v128) {
        let qs = block.add(codes.qs());
        if !codes.nibbles {
            return (ld(qs), ld(qs.add(16)));
        }
        let q = ld(qs);
        if codes.fifth {
            let qh = core::ptr::read_unaligned(block.add(codes.head) as *const u32);
            return five_bit(q, u32::from_le(qh), k);
        }
        (v128_and(q, k.low4), v128_and(u16x8_shr(q, 4), k.low4))
    }

    /// Writes values 0..16 (`lo`) and 16..32 (`hi`) back as the block's codes (its header untouched).
    #[inline(always)]
    unsafe fn pack(codes: &Codes, block: *mut u8, lo: v128, hi: v128, low4: v128) {
        let qs = block.add(codes.qs()) as *mut v128;
        if !codes.nibbles {
            core::ptr::write_unaligned(qs, lo);
            core::ptr::write_unaligned(qs.add(1) as *mut v128, hi);
            return;
        }
        if codes.fifth {
            // Bit 4 of each value, moved to the sign bit for bitmask.
            let qh = i8x16_bitmask(i8x16_shl(lo, 3)) as u32 | (i8x16_bitmask(i8x16_shl(hi, 3)) as u32) << 16;
            core::ptr::write_unaligned(block.add(codes.head) as *mut u32, qh.to_le());
        }
        core::ptr::write_unaligned(qs, v128_or(v128_and(lo, low4), i8x16_shl(v128_and(hi, low4), 4)));
    }
}

/// Row `r` of `w` in the file's byte order, whatever the layout: borrowed when it lies contiguous, else rebuilt
/// into `buf`.
pub fn row_bytes_of<'b>(w: &TensorView<'b>, r: usize, buf: &'b mut Vec<u8>) -> &'b [u8] {
    let at = w.addressing();
    let (start, stride) = at.row_blocks(r);
    let bb = at.block_bytes;
    if stride == bb {
        return &w.data[start..start + at.row_bytes];
    }
    debug_assert_eq!(w.layout, Layout::Interleaved4);
    buf.clear();
    let i = r % GROUP_ROWS;
    let quad_start = start - i * bb;
    // The 32-value formats' codes were exchanged among the group's blocks; the others only moved whole.
    let codes = is_q8_partnered(w.dtype).then(|| Codes::of(w.dtype));
    for b in 0..at.row_bytes / bb {
        let quad = &w.data[quad_start + b * stride..][..GROUP_ROWS * bb];
        let own = &quad[i * bb..(i + 1) * bb];
        let Some(codes) = &codes else {
            buf.extend_from_slice(own);
            continue;
        };
        let mut block = [0u8; 34];
        let block = &mut block[..bb];
        block[..codes.head].copy_from_slice(&own[..codes.head]);
        let order = bytes_in_order(codes);
        for c in 0..32 {
            let (p, j) = place(order, i, c);
            codes.set(block, c, codes.get(&quad[p * bb..(p + 1) * bb], j));
        }
        buf.extend_from_slice(block);
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_has_one_place() {
        for order in [false, true] {
            let mut seen = [[false; 32]; 4];
            for i in 0..4 {
                for c in 0..32 {
                    let (p, j) = place(order, i, c);
                    assert!(!seen[p][j], "({i}, {c}) collides");
                    seen[p][j] = true;
                }
            }
        }
    }

    #[test]
    fn rows_read_back_in_file_order_for_every_format() {
        for dtype in [DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::IQ4_NL, DType::Q4_K, DType::Q6_K] {
            let rows = 7; // one group and three row-major rows after it
            let row_bytes = dtype.row_bytes(512).unwrap();
            let file: Vec<u8> = (0..rows * row_bytes).map(|i| (i * 131 + i / 7) as u8).collect();
            let mut packed = file.clone();
            pack_matrix(dtype, &mut packed, rows);
            assert_ne!(packed, file, "{}: the group moved", dtype.name());
            let w = TensorView { layout: Layout::Interleaved4, ..TensorView::new(dtype, rows, 512, &packed).unwrap() };
            for r in 0..rows {
                let mut buf = Vec::new();
                assert_eq!(row_bytes_of(&w, r, &mut buf), &file[r * row_bytes..(r + 1) * row_bytes], "{} row {r}", dtype.name());
            }
        }
    }
}

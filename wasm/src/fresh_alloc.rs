//! The global allocator on wasm32: the standard one (dlmalloc), except that zeroed allocations skip the pages that
//! memory.grow added for them. WebAssembly gives grown pages zero-filled, yet dlmalloc's calloc clears every block
//! it hands out; for the 72 MB weight arena and the KV cache that is a full extra pass over fresh memory at load
//! (and for the KV cache the only touch of pages most requests never reach).

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
use std::alloc::{GlobalAlloc, Layout, System};

pub struct FreshZeroAlloc;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: FreshZeroAlloc = FreshZeroAlloc;

/// Bytes of `start..start + len` that lie below `fresh_from` (where memory stood before the allocation grew it),
/// and so may hold old data.
pub fn stale_prefix(start: usize, len: usize, fresh_from: usize) -> usize {
    fresh_from.saturating_sub(start).min(len)
}

#[cfg(target_arch = "wasm32")]
fn memory_end() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

// SAFETY: every method forwards to `System`; `alloc_zeroed` returns a block whose bytes are all zero: those below the
// memory end measured before the call are cleared here, and those above it lie in pages memory.grow added during
// the call, which WebAssembly zero-fills and dlmalloc writes no bytes of inside a block it returns (its chunk headers
// lie outside). One thread: nothing else can grow or write memory between the two measurements.
#[cfg(target_arch = "wasm32")]
unsafe impl GlobalAlloc for FreshZeroAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let fresh_from = memory_end();
        let p = System.alloc(layout);
        if !p.is_null() {
            core::ptr::write_bytes(p, 0, stale_prefix(p as usize, layout.size(), fresh_from));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        System.realloc(ptr, layout, new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::stale_prefix;

    #[test]
    fn only_bytes_below_the_old_memory_end_are_stale() {
        assert_eq!(stale_prefix(100, 50, 0), 0); // memory started empty
        assert_eq!(stale_prefix(100, 50, 100), 0); // the block starts at the old end
        assert_eq!(stale_prefix(100, 50, 120), 20); // it straddles the old end
        assert_eq!(stale_prefix(100, 50, 150), 50); // wholly recycled
        assert_eq!(stale_prefix(100, 50, 1 << 20), 50);
    }
}

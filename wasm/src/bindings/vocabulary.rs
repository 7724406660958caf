//! The tokenizer's two large string arrays for JavaScript in a compact form. Handed over string by string (as
//! `readGgufHeader` does), SmolLM2's 49,152 tokens and 48,900 merges cost ~60 ms of a cold start, and building the
//! merge table from the strings in JS as much again. Here the tokens cross as one string, and the merges as the
//! token ids the BPE merge loop looks up: `{tokens?, merges?}`.
//!
//! - `tokens` (when `tokenizer.ggml.tokens` is a non-empty array of strings none of which holds a NUL): the pieces
//!   joined by NULs, for one native `split` in JS.
//! - `merges` (when `tokenizer.ggml.merges` is one): an Int32Array of (left, right, merged) token ids per merge, in
//!   rank order, each the first id of its piece (as the JS vocabulary map keeps it). Should a merge not be
//!   "left right" or name a piece missing from the vocabulary, `merges` is left out and `badMerge: {index, text}`
//!   names the first such merge, for the tokenizer to report in its own words.

use js_sys::{Int32Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::gguf::{GgufHeader, MetaArray, MetaValue, StrArray};

pub(crate) const TOKENS_KEY: &str = "tokenizer.ggml.tokens";
pub(crate) const MERGES_KEY: &str = "tokenizer.ggml.merges";

/// Whether `key`'s value crosses in the compact form (so `header_to_js` may leave it out): the tokens when they
/// are strings, at least one and none holding a NUL (so that splitting on NULs gives them back), the merges when they are strings and the tokens cross compactly too.
pub(crate) fn is_compact(h: &GgufHeader, key: &str) -> bool {
    let strings = |key: &str| match h.get(key) {
        Some(MetaValue::Array(MetaArray::Str(a))) => Some(a),
        _ => None,
    };
    match key {
        TOKENS_KEY => strings(TOKENS_KEY).is_some_and(|a| !a.is_empty() && !a.any_holds(0)),
        MERGES_KEY => strings(MERGES_KEY).is_some() && is_compact(h, TOKENS_KEY),
        _ => false,
    }
}

/// `key`'s string array when it crosses in the compact form.
fn compact<'a>(h: &'a GgufHeader, key: &str) -> Option<&'a StrArray> {
    match h.get(key) {
        Some(MetaValue::Array(MetaArray::Str(a))) if is_compact(h, key) => Some(a),
        _ => None,
    }
}

pub(crate) fn vocabulary_to_js(h: &GgufHeader) -> JsValue {
    let out = Object::new();
    let Some(tokens) = compact(h, TOKENS_KEY) else { return out.into() };
    set(&out, "tokens", JsValue::from_str(&joined(tokens)));
    if let Some(merges) = compact(h, MERGES_KEY) {
        // Written into the JS array a block at a time: no copy of them all in WASM memory.
        let ids = Int32Array::new_with_length(3 * merges.len() as u32);
        let mut block = Vec::with_capacity(3 * 4096);
        let mut at = 0u32;
        let mut flush = |block: &mut Vec<i32>| {
            let end = at + block.len() as u32;
            ids.subarray(at, end).copy_from(block);
            at = end;
            block.clear();
        };
        let resolved = resolve_merges(tokens, merges, |triple| {
            block.extend_from_slice(&triple);
            if block.len() == block.capacity() {
                flush(&mut block);
            }
        });
        match resolved {
            Ok(()) => {
                flush(&mut block);
                set(&out, "merges", ids.into());
            }
            Err(index) => {
                let bad = Object::new();
                set(&bad, "index", (index as u32).into());
                set(&bad, "text", merges.get(index).unwrap_or("").into());
                set(&out, "badMerge", bad.into());
            }
        }
    }
    out.into()
}

fn set(o: &Object, key: &str, value: JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

/// The strings joined by NULs (none of them holds one: `is_compact`), in one allocation of the exact size. WASM
/// memory never shrinks, so the load's temporaries are kept small: they should fit the holes earlier frees left.
fn joined(strings: &StrArray) -> String {
    let bytes = strings.iter().map(|s| s.len() + 1).sum::<usize>();
    let mut text = String::with_capacity(bytes);
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            text.push('\0');
        }
        text.push_str(s);
    }
    text
}

/// Hands `emit` the (left, right, merged) ids of each merge in rank order; or the index of the first merge that is
/// not "left right" (else of the first that names a piece missing from the vocabulary).
fn resolve_merges(tokens: &StrArray, merges: &StrArray, mut emit: impl FnMut([i32; 3])) -> Result<(), usize> {
    // Malformed merges are reported before missing pieces, wherever they are (as the JS tokenizer checks them).
    let split = |merge: &'_ str| merge.find(' ').filter(|&sp| sp > 0 && sp + 1 < merge.len());
    if let Some(i) = merges.iter().position(|m| split(m).is_none()) {
        return Err(i);
    }
    let ids = PieceIds::new(tokens);
    let mut both = String::new();
    for (i, merge) in merges.iter().enumerate() {
        let sp = split(merge).ok_or(i)?;
        let (left, right) = (&merge[..sp], &merge[sp + 1..]);
        both.clear();
        both.push_str(left);
        both.push_str(right);
        match (ids.get(left), ids.get(right), ids.get(&both)) {
            (Some(l), Some(r), Some(m)) => emit([l as i32, r as i32, m as i32]),
            _ => return Err(i),
        }
    }
    Ok(())
}

/// Piece → first id, as an open-addressing table of ids (4 bytes a slot, a quarter of a HashMap<&str, i32>'s
/// footprint), the pieces themselves read from the vocabulary.
struct PieceIds<'a> {
    tokens: &'a StrArray,
    slots: Vec<u32>,
}

impl<'a> PieceIds<'a> {
    const EMPTY: u32 = u32::MAX;

    fn new(tokens: &'a StrArray) -> Self {
        let size = (tokens.len() * 4 / 3 + 1).next_power_of_two().max(16);
        let mut table = PieceIds { tokens, slots: vec![Self::EMPTY; size] };
        for (id, piece) in tokens.iter().enumerate() {
            let slot = table.slot(piece);
            if table.slots[slot] == Self::EMPTY {
                table.slots[slot] = id as u32; // a repeated piece keeps its first id
            }
        }
        table
    }

    /// The slot holding `piece`, or the empty one where it would go.
    fn slot(&self, piece: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash(piece.as_bytes()) as usize & mask;
        loop {
            let id = self.slots[i];
            if id == Self::EMPTY || self.tokens.get(id as usize) == Some(piece) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn get(&self, piece: &str) -> Option<u32> {
        Some(self.slots[self.slot(piece)]).filter(|&id| id != Self::EMPTY)
    }
}

/// FNV-1a: byte at a time, plenty for a vocabulary's short pieces (not DoS-resistant, which one file's vocabulary
/// does not need: the worst case is a slower load, bounded by the header size).
fn hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> StrArray {
        v.iter().copied().collect()
    }

    #[test]
    fn tokens_join_on_nul_unless_one_holds_it() {
        assert_eq!(joined(&strs(&["a", "Ġb", "", "😀x"])), "a\0Ġb\0\0😀x");
        assert_eq!(joined(&strs(&[])), "");
        assert!(strs(&["a", "b\0c", "d"]).any_holds(0) && !strs(&["a", "bc", ""]).any_holds(0));
    }

    fn resolve(tokens: &StrArray, merges: &StrArray) -> Result<Vec<i32>, usize> {
        let mut out = vec![];
        resolve_merges(tokens, merges, |t| out.extend_from_slice(&t)).map(|()| out)
    }

    #[test]
    fn merges_resolve_to_first_ids() {
        let tokens = strs(&["a", "b", "ab", "a", "abb", "c d"]);
        let merges = strs(&["a b", "ab b"]);
        assert_eq!(resolve(&tokens, &merges), Ok(vec![0, 1, 2, 2, 1, 4]));
    }

    #[test]
    fn bad_merges_name_the_first_offender() {
        let tokens = strs(&["a", "b", "ab"]);
        assert_eq!(resolve(&tokens, &strs(&["a b", "ab"])), Err(1));
        assert_eq!(resolve(&tokens, &strs(&[" b"])), Err(0));
        assert_eq!(resolve(&tokens, &strs(&["a "])), Err(0));
        assert_eq!(resolve(&tokens, &strs(&["a b", "b a"])), Err(1)); // "ba" is not a piece
        assert_eq!(resolve(&tokens, &strs(&["b a", "ab"])), Err(1)); // a malformed one comes first
        assert_eq!(resolve(&tokens, &strs(&[])), Ok(vec![]));
    }
}

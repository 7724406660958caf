//! Grammar-constrained decoding for eLLM Edge: wraps llguidance (the engine llama.cpp, vLLM and SGLang use) so the
//! TypeScript sampler can ask, before every token, which tokens the grammar allows, and tell it which one was picked.
//!
//! - `GrammarVocab`: the model's token table (bytes per token id, special tokens marked), built once per model load.
//! - `GrammarMatcher`: one generation's grammar state (JSON Schema, Lark or regex).
//!
//! A separate WASM module from the engine: generations without a grammar never instantiate it.

mod vocab;
mod matcher;
pub mod heap;
pub mod bindings;

#[global_allocator]
static ALLOC: heap::Counting = heap::Counting;

pub use matcher::{check_json_schema, Grammar, Matcher};
pub use vocab::Vocab;

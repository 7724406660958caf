//! The wasm-bindgen layer: the only code that speaks JavaScript. Errors cross as JS `Error`s with the message.

use wasm_bindgen::prelude::*;

use crate::matcher::{self, Grammar, Matcher};
use crate::vocab::Vocab;

fn js_err(e: anyhow::Error) -> JsError {
    JsError::new(&format!("{e:#}"))
}

#[wasm_bindgen]
pub struct GrammarVocab(Vocab);

#[wasm_bindgen]
impl GrammarVocab {
    /// See `Vocab::new`: token bytes back to back, each token's end offset, the end-of-generation ids.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], ends: &[u32], eos: &[u32]) -> Result<GrammarVocab, JsError> {
        Vocab::new(bytes, ends, eos).map(GrammarVocab).map_err(js_err)
    }

    #[wasm_bindgen(getter, js_name = vocabSize)]
    pub fn vocab_size(&self) -> usize {
        self.0.vocab_size()
    }

    /// `kind`: "json_schema" (JSON text of the schema), "lark" or "regex".
    pub fn matcher(&self, kind: &str, source: &str) -> Result<GrammarMatcher, JsError> {
        let grammar = match kind {
            "json_schema" => Grammar::JsonSchema(source),
            "lark" => Grammar::Lark(source),
            "regex" => Grammar::Regex(source),
            other => return Err(JsError::new(&format!("unknown grammar kind {other:?}"))),
        };
        Matcher::new(&self.0, grammar).map(GrammarMatcher).map_err(js_err)
    }
}

#[wasm_bindgen]
pub struct GrammarMatcher(Matcher);

#[wasm_bindgen]
impl GrammarMatcher {
    #[wasm_bindgen(js_name = fillMask)]
    pub fn fill_mask(&mut self, out: &mut [u32]) -> Result<(), JsError> {
        self.0.fill_mask(out).map_err(js_err)
    }

    pub fn consume(&mut self, token: u32) -> Result<(), JsError> {
        self.0.consume(token).map_err(js_err)
    }

    #[wasm_bindgen(js_name = isAccepting)]
    pub fn is_accepting(&mut self) -> bool {
        self.0.is_accepting()
    }

    #[wasm_bindgen(js_name = isStopped)]
    pub fn is_stopped(&self) -> bool {
        self.0.is_stopped()
    }

    pub fn error(&self) -> Option<String> {
        self.0.error()
    }
}

/// Throws (with llguidance's message, e.g. "Unimplemented keys: [\"not\"]") when the schema cannot be compiled.
#[wasm_bindgen(js_name = checkJsonSchema)]
pub fn check_json_schema(schema: &str) -> Result<(), JsError> {
    matcher::check_json_schema(schema).map_err(js_err)
}

/// `[bytes live, most bytes ever live]` on the grammar module's heap.
#[wasm_bindgen(js_name = heapStats)]
pub fn heap_stats() -> Vec<u32> {
    let (live, peak) = crate::heap::stats();
    vec![live as u32, peak as u32]
}

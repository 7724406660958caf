//! One generation's grammar state: which tokens may come next, and advancing by the token the sampler picked.

use anyhow::{anyhow, bail, Result};
use llguidance::api::TopLevelGrammar;
use serde_json::{json, Value};

use crate::vocab::Vocab;

pub enum Grammar<'a> {
    /// A JSON Schema (as JSON text). Output is compact JSON: no whitespace between tokens, `,` and `:` separators,
    /// so a small model cannot wander off into endless indentation.
    JsonSchema(&'a str),
    /// A Lark grammar (llguidance's dialect, with `%json` etc.).
    Lark(&'a str),
    /// A regular expression the whole output must match.
    Regex(&'a str),
}

impl Grammar<'_> {
    fn to_top_level(&self) -> Result<TopLevelGrammar> {
        Ok(match self {
            Grammar::JsonSchema(text) => {
                let mut schema: Value = serde_json::from_str(text).map_err(|e| anyhow!("schema is not valid JSON: {e}"))?;
                if let Value::Object(obj) = &mut schema {
                    if obj.contains_key("x-guidance") {
                        bail!("x-guidance is not accepted in a schema");
                    }
                    obj.insert(
                        "x-guidance".into(),
                        json!({ "whitespace_flexible": false, "item_separator": ",", "key_separator": ":" }),
                    );
                }
                TopLevelGrammar::from_json_schema(schema)
            }
            Grammar::Lark(text) => TopLevelGrammar::from_lark(text.to_string()),
            Grammar::Regex(rx) => TopLevelGrammar::from_regex(rx),
        })
    }
}

pub struct Matcher {
    inner: llguidance::Matcher,
    words: usize,
}

impl Matcher {
    /// Compiles `grammar` against `vocab`; an unsupported or malformed grammar is an error naming the problem.
    pub fn new(vocab: &Vocab, grammar: Grammar) -> Result<Matcher> {
        let parser = vocab.factory().create_parser(grammar.to_top_level()?)?;
        let inner = llguidance::Matcher::new(Ok(parser));
        if let Some(e) = inner.get_error() {
            bail!(e);
        }
        Ok(Matcher { inner, words: vocab.vocab_size().div_ceil(32) })
    }

    /// Writes the allowed-token bitmask (bit `id % 32` of word `id / 32`) into `out` (at least ⌈vocab/32⌉ words).
    /// End-of-generation tokens are allowed exactly when the grammar is complete.
    pub fn fill_mask(&mut self, out: &mut [u32]) -> Result<()> {
        if out.len() < self.words {
            bail!("mask buffer has {} words, the vocabulary needs {}", out.len(), self.words);
        }
        let mask = self.inner.compute_mask_or_eos()?;
        let src = mask.as_slice();
        let n = src.len().min(self.words);
        out[..n].copy_from_slice(&src[..n]);
        out[n..].fill(0);
        Ok(())
    }

    /// Advances by the token the sampler picked (it must be one the last mask allowed).
    pub fn consume(&mut self, token: u32) -> Result<()> {
        self.inner.consume_token(token)
    }

    /// The grammar is complete here: it may end now (it may also go on, e.g. more digits of a number).
    pub fn is_accepting(&mut self) -> bool {
        self.inner.is_accepting().unwrap_or(false)
    }

    /// Nothing but end-of-generation can follow (or the matcher failed: see `error`).
    pub fn is_stopped(&self) -> bool {
        self.inner.is_stopped()
    }

    pub fn error(&self) -> Option<String> {
        self.inner.get_error()
    }
}

/// Compiles a JSON Schema without a model, to refuse an unsupported one before any weights are loaded.
pub fn check_json_schema(schema: &str) -> Result<()> {
    thread_local! {
        static BYTES: Vocab = Vocab::bytes_only().expect("single-byte vocabulary");
    }
    BYTES.with(|vocab| Matcher::new(vocab, Grammar::JsonSchema(schema)).map(|_| ()))
}

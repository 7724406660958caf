//! The model's token table as llguidance sees it: a byte trie over every token, built once per model load.

use std::sync::Arc;

use anyhow::{bail, ensure, Result};
use llguidance::ParserFactory;
use toktrie::{ApproximateTokEnv, InferenceCapabilities, TokEnv, TokRxInfo, TokTrie};

pub struct Vocab {
    factory: Arc<ParserFactory>,
}

impl Vocab {
    /// `bytes` holds every token's bytes back to back; token `i` is `bytes[ends[i-1]..ends[i]]`. Special (control)
    /// tokens start with 0xFF, llguidance's marker, so no grammar ever produces them as text. `eos` lists the ids
    /// that end a generation: the grammar allows them exactly when it is complete.
    pub fn new(bytes: &[u8], ends: &[u32], eos: &[u32]) -> Result<Vocab> {
        ensure!(!ends.is_empty(), "empty vocabulary");
        ensure!(!eos.is_empty(), "no end-of-generation token");
        let mut words = Vec::with_capacity(ends.len());
        let mut start = 0usize;
        for &end in ends {
            let end = end as usize;
            if end < start || end > bytes.len() {
                bail!("token offsets are not increasing within the byte table");
            }
            words.push(bytes[start..end].to_vec());
            start = end;
        }
        let vocab_size = ends.len() as u32;
        if let Some(&bad) = eos.iter().find(|&&t| t >= vocab_size) {
            bail!("end-of-generation token {bad} is outside the vocabulary of {vocab_size}");
        }
        let info = TokRxInfo::new(vocab_size, eos[0]);
        let trie = TokTrie::from(&info, &words).with_eos_tokens(eos);
        // The per-token copies are done with: freed before the factory copies the trie (lower peak heap, and so
        // less linear memory, which never shrinks).
        drop(words);
        let env: TokEnv = Arc::new(ApproximateTokEnv::new(trie));
        // No "slices" (llguidance's extra sub-tries for JSON strings): on SmolLM2's 49k vocabulary they cost 16 MiB
        // more grammar memory (27.6 vs 11.8) for the same 0.75 ms per token (npm run bench:grammar).
        let mut factory = ParserFactory::new(&env, InferenceCapabilities::default(), &[])?;
        factory.quiet();
        Ok(Vocab { factory: Arc::new(factory) })
    }

    /// A vocabulary of the 256 single bytes: enough to compile (and so check) a grammar without a model.
    pub fn bytes_only() -> Result<Vocab> {
        let mut factory = ParserFactory::new_simple(&ApproximateTokEnv::single_byte_env())?;
        factory.quiet();
        Ok(Vocab { factory: Arc::new(factory) })
    }

    pub fn factory(&self) -> &ParserFactory {
        &self.factory
    }

    pub fn vocab_size(&self) -> usize {
        self.factory.tok_env().tok_trie().vocab_size()
    }
}

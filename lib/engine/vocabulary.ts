/**
 * The GGUF vocabulary as the engine hands it over compactly (wasm/src/bindings/vocabulary.rs): the tokens as one
 * NUL-separated string (one native split here, instead of one boundary crossing per token), the merges already
 * resolved to token ids.
 */
import type { GgufVocabulary } from "../tokenizer/from-gguf.js";

interface CompactVocabulary {
  tokens?: string;
  merges?: Int32Array;
  badMerge?: { index: number; text: string };
}

/**
 * V8 cuts a piece of 13 or more characters out of the joined string as a view that keeps the whole string alive
 * (~0.6 MB for a 49k vocabulary, for as long as the tokenizer lives); concatenating and cutting again copies it.
 */
const detached = (piece: string): string => (piece.length < 13 ? piece : (piece + "\0").slice(0, -1));

export function unpackVocabulary(raw: unknown): GgufVocabulary {
  const { tokens, merges, badMerge } = raw as CompactVocabulary;
  const out: GgufVocabulary = {};
  if (tokens !== undefined) out.tokens = tokens.split("\0").map(detached);
  if (merges) out.mergeIds = merges;
  if (badMerge) out.badMerge = badMerge;
  return out;
}

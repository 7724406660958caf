/**
 * Builds a tokenizer from GGUF metadata (the `metadata` object of the engine's `readGgufHeader`, numeric arrays typed): `llama` =
 * SentencePiece BPE with scores and `<0xNN>` byte fallback, `gpt2` = byte-level BPE with merges and the
 * pre-tokenizer named by `tokenizer.ggml.pre`. The tokens and merges may instead come in the compact form the
 * engine's loader hands over (`GgufVocabulary`: lib/engine/vocabulary.ts).
 */
import { ModelFormatError, UnsupportedModelError } from "../errors.js";
import { textToByteLevel } from "./byte-level.js";
import { ggufPreTokenizer, runSteps } from "./pretokenizer.js";
import { canCutBeforeSpaces, sentencePieceWords } from "./sentencepiece-words.js";
import { TextTokenizer } from "./text-tokenizer.js";
import { TokenType } from "./types.js";
import type { AddedToken } from "./special-tokens.js";
import { findByteTokens, missingMergePiece, WordEncoder, type MergeRanking } from "./word-encoder.js";

export type GgufMetadata = Readonly<Record<string, unknown>>;

/** `tokenizer.ggml.tokens` and `tokenizer.ggml.merges` as the engine's loader hands them over, in place of metadata's. */
export interface GgufVocabulary {
  tokens?: string[];
  /** The merges as (left, right, merged) token ids per merge, in rank order. */
  mergeIds?: Int32Array;
  /** Instead of mergeIds: the first merge that is not "left right" over pieces of the vocabulary. */
  badMerge?: { index: number; text: string };
}

function stringArray(meta: GgufMetadata, key: string): string[] {
  const v = meta[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new ModelFormatError(`GGUF metadata ${key} must be an array of strings`);
  return v as string[];
}

/** A numeric array as the engine hands it out (a typed array), or a plain array of numbers. */
function numberArray(meta: GgufMetadata, key: string, length: number): ArrayLike<number> | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  const numeric = ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array || v instanceof BigUint64Array);
  const list = numeric ? (v as unknown as ArrayLike<number>) : Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : undefined;
  if (list === undefined || list.length !== length) {
    throw new ModelFormatError(`GGUF metadata ${key} must be an array of ${length} numbers (one per token)`);
  }
  return list;
}

function optionalId(meta: GgufMetadata, key: string, vocabSize: number): number | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ModelFormatError(`GGUF metadata ${key} must be an integer, got ${String(v)}`);
  // llama.cpp writes -1 / out-of-range ids for "none"; treat them as absent rather than failing the load.
  return n >= 0 && n < vocabSize ? n : undefined;
}

function optionalBool(meta: GgufMetadata, key: string): boolean | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new ModelFormatError(`GGUF metadata ${key} must be a boolean`);
  return v;
}

/** `merge` ("left right", the `index`th of tokenizer.ggml.merges) as its two pieces. */
function splitMerge(merge: string, index: number): [string, string] {
  const sp = merge.indexOf(" ");
  if (sp <= 0 || sp === merge.length - 1) throw new ModelFormatError(`GGUF metadata tokenizer.ggml.merges[${index}] = ${JSON.stringify(merge)} is not "left right"`);
  return [merge.slice(0, sp), merge.slice(sp + 1)];
}

/** The merge ranking: ids from the loader, else the metadata's strings (an unusable merge is reported as there). */
function mergeRanking(meta: GgufMetadata, vocabulary: GgufVocabulary): MergeRanking {
  if (vocabulary.mergeIds) return { kind: "merge-ids", ids: vocabulary.mergeIds };
  if (vocabulary.badMerge) {
    const { index, text } = vocabulary.badMerge;
    throw missingMergePiece(index, ...splitMerge(text, index));
  }
  return { kind: "merges", merges: stringArray(meta, "tokenizer.ggml.merges").map(splitMerge) };
}

export function tokenizerFromGguf(meta: GgufMetadata, vocabulary: GgufVocabulary = {}): TextTokenizer {
  const model = meta["tokenizer.ggml.model"];
  if (typeof model !== "string") throw new ModelFormatError("GGUF metadata has no tokenizer.ggml.model");
  if (model !== "llama" && model !== "gpt2") {
    throw new UnsupportedModelError(`unsupported GGUF tokenizer model tokenizer.ggml.model="${model}" (supported: llama, gpt2)`);
  }
  const pieces = vocabulary.tokens ?? stringArray(meta, "tokenizer.ggml.tokens");
  const n = pieces.length;
  if (n === 0) throw new ModelFormatError("GGUF metadata tokenizer.ggml.tokens is empty");
  const rawTypes = numberArray(meta, "tokenizer.ggml.token_type", n);
  const types = new Uint8Array(n).fill(TokenType.Normal);
  for (let i = 0; rawTypes && i < n; i++) {
    const t = rawTypes[i]!;
    if (!(t >= 1 && t <= 6)) throw new ModelFormatError(`GGUF metadata tokenizer.ggml.token_type[${i}] = ${t} is not a token type (1..6)`);
    types[i] = t;
  }
  const vocab = new Map<string, number>();
  for (let id = 0; id < n; id++) if (!vocab.has(pieces[id]!)) vocab.set(pieces[id]!, id);
  const ids = {
    bosId: optionalId(meta, "tokenizer.ggml.bos_token_id", n),
    eosId: optionalId(meta, "tokenizer.ggml.eos_token_id", n),
    eotId: optionalId(meta, "tokenizer.ggml.eot_token_id", n),
    padId: optionalId(meta, "tokenizer.ggml.padding_token_id", n),
    unkId: optionalId(meta, "tokenizer.ggml.unknown_token_id", n),
  };
  const template = meta["tokenizer.chat_template"];
  const chatTemplate = typeof template === "string" ? template : undefined;
  const added: AddedToken[] = [];
  for (let id = 0; id < n; id++) {
    if (types[id] === TokenType.Control || types[id] === TokenType.UserDefined) added.push({ text: pieces[id]!, id, special: types[id] === TokenType.Control });
  }

  if (model === "llama") {
    const scores = numberArray(meta, "tokenizer.ggml.scores", n);
    if (scores === undefined) throw new ModelFormatError("GGUF metadata tokenizer.ggml.scores is required for a llama (SentencePiece) tokenizer");
    const addDummyPrefix = optionalBool(meta, "tokenizer.ggml.add_space_prefix") ?? true;
    const mergeable = (id: number): boolean => types[id] === TokenType.Normal || types[id] === TokenType.UserDefined;
    const wordEncoder = new WordEncoder({
      vocab,
      ranking: { kind: "scores", scores: scores instanceof Float32Array ? scores : Float32Array.from(scores), mergeable },
      byteTokenIds: findByteTokens(vocab),
      unkId: ids.unkId ?? (types.indexOf(TokenType.Unknown) >= 0 ? types.indexOf(TokenType.Unknown) : undefined),
    });
    return new TextTokenizer({
      pieces,
      types,
      vocab,
      wordEncoder,
      alphabet: "sentencepiece",
      toWords: sentencePieceWords({
        addDummyPrefix,
        removeExtraWhitespace: optionalBool(meta, "tokenizer.ggml.remove_extra_whitespaces") ?? false,
        cutBeforeSpaces: canCutBeforeSpaces(pieces, mergeable),
      }),
      added,
      leadingSpace: addDummyPrefix ? "strip-first-token" : "keep", // as llama.cpp detokenizes
      ...ids,
      addBos: optionalBool(meta, "tokenizer.ggml.add_bos_token") ?? true,
      addEos: optionalBool(meta, "tokenizer.ggml.add_eos_token") ?? false,
      chatTemplate,
    });
  }

  const ranking = mergeRanking(meta, vocabulary);
  const pre = meta["tokenizer.ggml.pre"];
  const { steps, nfc } = ggufPreTokenizer(typeof pre === "string" ? pre : "default");
  const wordEncoder = new WordEncoder({
    vocab,
    ranking,
    // llama.cpp's llama3 path (and HF's tokenizer.json for it) take a whole in-vocabulary word as one token.
    ignoreMerges: pre === "llama3" || pre === "llama-bpe" || pre === "llama-v3",
    unkId: ids.unkId,
    spell: textToByteLevel,
  });
  return new TextTokenizer({
    pieces,
    types,
    vocab,
    wordEncoder,
    alphabet: "byte-level",
    toWords: (text) => runSteps(steps, nfc ? text.normalize("NFC") : text),
    added,
    leadingSpace: "keep",
    ...ids,
    addBos: optionalBool(meta, "tokenizer.ggml.add_bos_token") ?? false,
    addEos: optionalBool(meta, "tokenizer.ggml.add_eos_token") ?? false,
    chatTemplate,
  });
}

/**
 * Builds a tokenizer from GGUF metadata (the `metadata` object of the engine's `readGgufHeader`, numeric arrays typed): `llama` =
 * SentencePiece BPE with scores and `<0xNN>` byte fallback, `gpt2` = byte-level BPE with merges and the
 * pre-tokenizer named by `tokenizer.ggml.pre`.
 */
import { ModelFormatError, UnsupportedModelError } from "../errors.js";
import { textToByteLevel } from "./byte-level.js";
import { ggufPreTokenizer, runSteps } from "./pretokenizer.js";
import { canCutBeforeSpaces, sentencePieceWords } from "./sentencepiece-words.js";
import { TextTokenizer } from "./text-tokenizer.js";
import { TokenType } from "./types.js";
import { findByteTokens, WordEncoder } from "./word-encoder.js";

export type GgufMetadata = Readonly<Record<string, unknown>>;

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

export function tokenizerFromGguf(meta: GgufMetadata): TextTokenizer {
  const model = meta["tokenizer.ggml.model"];
  if (typeof model !== "string") throw new ModelFormatError("GGUF metadata has no tokenizer.ggml.model");
  if (model !== "llama" && model !== "gpt2") {
    throw new UnsupportedModelError(`unsupported GGUF tokenizer model tokenizer.ggml.model="${model}" (supported: llama, gpt2)`);
  }
  const pieces = stringArray(meta, "tokenizer.ggml.tokens");
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
  pieces.forEach((p, id) => {
    if (!vocab.has(p)) vocab.set(p, id);
  });
  const ids = {
    bosId: optionalId(meta, "tokenizer.ggml.bos_token_id", n),
    eosId: optionalId(meta, "tokenizer.ggml.eos_token_id", n),
    eotId: optionalId(meta, "tokenizer.ggml.eot_token_id", n),
    padId: optionalId(meta, "tokenizer.ggml.padding_token_id", n),
    unkId: optionalId(meta, "tokenizer.ggml.unknown_token_id", n),
  };
  const template = meta["tokenizer.chat_template"];
  const chatTemplate = typeof template === "string" ? template : undefined;
  const added = pieces.flatMap((text, id) =>
    types[id] === TokenType.Control || types[id] === TokenType.UserDefined ? [{ text, id, special: types[id] === TokenType.Control }] : [],
  );

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

  const mergeStrings = stringArray(meta, "tokenizer.ggml.merges");
  const merges = mergeStrings.map((m, i): [string, string] => {
    const sp = m.indexOf(" ");
    if (sp <= 0 || sp === m.length - 1) throw new ModelFormatError(`GGUF metadata tokenizer.ggml.merges[${i}] = ${JSON.stringify(m)} is not "left right"`);
    return [m.slice(0, sp), m.slice(sp + 1)];
  });
  const pre = meta["tokenizer.ggml.pre"];
  const { steps, nfc } = ggufPreTokenizer(typeof pre === "string" ? pre : "default");
  const wordEncoder = new WordEncoder({
    vocab,
    ranking: { kind: "merges", merges },
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

/** Loads a SentencePiece BPE `.model` (ModelProto) — the source format of tok512 and the Llama 2 tokenizer. */
import { ModelFormatError, UnsupportedModelError } from "../errors.js";
import { float32Of, readFields, stringOf, varintOf } from "./protobuf.js";
import { canCutBeforeSpaces, sentencePieceWords } from "./sentencepiece-words.js";
import { TextTokenizer } from "./text-tokenizer.js";
import { TokenType } from "./types.js";
import { findByteTokens, WordEncoder } from "./word-encoder.js";

const WHAT = "SentencePiece model";

/** The parts of a SentencePiece ModelProto this library uses. */
export interface SentencePieceModel {
  pieces: string[];
  scores: number[];
  /** TokenType numbering (the proto's Type enum). */
  types: number[];
  /** 1 = unigram, 2 = BPE, 3 = word, 4 = char. */
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  addDummyPrefix: boolean;
  removeExtraWhitespace: boolean;
  normalizerName: string;
  /** Size of the precompiled normalization map (0 for the "identity" normalizer). */
  charsmapBytes: number;
}

export function readSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  let modelType = 1; // UNIGRAM is the proto default
  let byteFallback = false;
  let unkId = 0;
  let bosId = 1;
  let eosId = 2;
  let padId = -1;
  let addDummyPrefix = true;
  let removeExtraWhitespace = true;
  let normalizerName = "";
  let charsmapBytes = 0;

  for (const f of readFields(bytes, WHAT)) {
    if (f.field === 1 && f.bytes) {
      let piece = "";
      let score = 0;
      let type: number = TokenType.Normal;
      for (const p of readFields(f.bytes, `${WHAT} piece #${pieces.length}`)) {
        if (p.field === 1) piece = stringOf(p, WHAT);
        else if (p.field === 2) score = float32Of(p, WHAT);
        else if (p.field === 3) type = varintOf(p, WHAT);
      }
      if (type < 1 || type > 6) throw new ModelFormatError(`${WHAT}: piece #${pieces.length} has unknown type ${type}`);
      pieces.push(piece);
      scores.push(score);
      types.push(type);
    } else if (f.field === 2 && f.bytes) {
      for (const t of readFields(f.bytes, `${WHAT} trainer_spec`)) {
        if (t.wire !== 0) continue;
        if (t.field === 3) modelType = varintOf(t, WHAT);
        else if (t.field === 35) byteFallback = varintOf(t, WHAT) !== 0;
        else if (t.field === 40) unkId = varintOf(t, WHAT);
        else if (t.field === 41) bosId = varintOf(t, WHAT);
        else if (t.field === 42) eosId = varintOf(t, WHAT);
        else if (t.field === 43) padId = varintOf(t, WHAT);
      }
    } else if (f.field === 3 && f.bytes) {
      for (const n of readFields(f.bytes, `${WHAT} normalizer_spec`)) {
        if (n.field === 1) normalizerName = stringOf(n, WHAT);
        else if (n.field === 2) charsmapBytes = n.bytes?.length ?? 0;
        else if (n.field === 3) addDummyPrefix = varintOf(n, WHAT) !== 0;
        else if (n.field === 4) removeExtraWhitespace = varintOf(n, WHAT) !== 0;
      }
    }
  }
  if (pieces.length === 0) throw new ModelFormatError(`${WHAT}: no pieces`);
  return {
    pieces,
    scores,
    types,
    modelType,
    byteFallback,
    unkId,
    bosId,
    eosId,
    padId,
    addDummyPrefix,
    removeExtraWhitespace,
    normalizerName,
    charsmapBytes,
  };
}

export function tokenizerFromSentencePieceModel(bytes: Uint8Array): TextTokenizer {
  const { pieces, scores, types, modelType, byteFallback, unkId, bosId, eosId, padId, addDummyPrefix, removeExtraWhitespace, normalizerName, charsmapBytes } =
    readSentencePieceModel(bytes);
  if (modelType !== 2) throw new UnsupportedModelError(`${WHAT}: model_type ${modelType} is not BPE (2); only BPE SentencePiece models are supported`);
  if (charsmapBytes > 0) {
    throw new UnsupportedModelError(`${WHAT}: normalizer "${normalizerName}" uses a precompiled character map, which is not supported`);
  }
  // Fix padId -1 / out-of-range specials to "absent".
  const inRange = (id: number): number | undefined => (id >= 0 && id < pieces.length ? id : undefined);

  const vocab = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (!vocab.has(p)) vocab.set(p, id);
  });
  const typeArr = Uint8Array.from(types);
  const mergeable = (id: number): boolean => typeArr[id] === TokenType.Normal || typeArr[id] === TokenType.UserDefined;
  const wordEncoder = new WordEncoder({
    vocab,
    ranking: { kind: "scores", scores: Float32Array.from(scores), mergeable },
    byteTokenIds: byteFallback ? findByteTokens(vocab) : undefined,
    unkId: inRange(unkId),
  });
  return new TextTokenizer({
    pieces,
    types: typeArr,
    vocab,
    wordEncoder,
    alphabet: "sentencepiece",
    toWords: sentencePieceWords({ addDummyPrefix, removeExtraWhitespace, cutBeforeSpaces: canCutBeforeSpaces(pieces, mergeable) }),
    added: pieces.flatMap((text, id) =>
      typeArr[id] === TokenType.Control || typeArr[id] === TokenType.UserDefined ? [{ text, id, special: typeArr[id] === TokenType.Control }] : [],
    ),
    // SentencePiece decodes as its own decoder does (see LeadingSpaceRule).
    leadingSpace: removeExtraWhitespace ? "sentencepiece-while-empty" : addDummyPrefix ? "sentencepiece" : "keep",
    bosId: inRange(bosId),
    eosId: inRange(eosId),
    padId: inRange(padId),
    unkId: inRange(unkId),
    addBos: true,
    addEos: false,
  });
}

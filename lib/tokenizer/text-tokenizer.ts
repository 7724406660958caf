/**
 * The one `Tokenizer` implementation. Loaders (GGUF metadata, tokenizer.json, SentencePiece .model) differ only in how
 * they build its parts: the vocabulary, the word encoder (merge ranking), how a text fragment becomes words, and the
 * added tokens to match.
 */
import { InvalidArgumentError, ModelFormatError } from "../errors.js";
import { byteLevelToBytes } from "./byte-level.js";
import { SpecialTokenMatcher, type AddedToken } from "./special-tokens.js";
import {
  TokenType,
  type DecodeOptions,
  type EncodeOptions,
  type StreamDecoder,
  type Tokenizer,
} from "./types.js";
import { Utf8Accumulator, utf8Encode } from "./utf8.js";
import type { WordEncoder } from "./word-encoder.js";

/** How vocabulary pieces spell bytes: GPT-2's byte-level alphabet, or SentencePiece's `▁` + `<0xNN>` pieces. */
export type PieceAlphabet = "byte-level" | "sentencepiece";

export type LeadingSpaceRule = "keep" | "strip-first-token" | "sentencepiece" | "sentencepiece-while-empty";

export interface TokenizerParts {
  /** Piece string per id ("" for ids the vocabulary leaves empty). */
  pieces: readonly string[];
  /** TokenType per id. */
  types: Uint8Array;
  /** piece → id (first id when a piece repeats). */
  vocab: ReadonlyMap<string, number>;
  wordEncoder: WordEncoder;
  alphabet: PieceAlphabet;
  /**
   * Cuts a fragment of plain text (special tokens already removed) into raw words (the word encoder spells them in
   * the model's alphabet).
   * `atStart` is true for the first fragment and for one right after a special token (SentencePiece adds its dummy
   * prefix space there, as llama.cpp does).
   */
  toWords: (text: string, atStart: boolean) => string[];
  added: readonly AddedToken[];
  /**
   * How decoding removes the space the encoder's dummy prefix added: not at all; from the first token only
   * (llama.cpp, Hugging Face's Strip decoder); or as SentencePiece's own decoder does, which skips control tokens
   * and never strips a byte piece: one `▁` from the first text piece ("sentencepiece", so Llama 2's `▁ ▁Hello`
   * decodes to " Hello"), or, when the model removes extra whitespace, one `▁` from every piece while the output is
   * still empty ("sentencepiece-while-empty", so tok512's `▁ ▁ ▁s` decodes to "s").
   */
  leadingSpace: LeadingSpaceRule;
  bosId?: number | undefined;
  eosId?: number | undefined;
  eotId?: number | undefined;
  padId?: number | undefined;
  unkId?: number | undefined;
  addBos: boolean;
  addEos: boolean;
  chatTemplate?: string | undefined;
}

/** Texts that end a turn or the whole generation in common chat formats. */
const END_OF_GENERATION_TEXTS = [
  "<|im_end|>",
  "<|eot_id|>",
  "<|eom_id|>",
  "<|end_of_text|>",
  "<|endoftext|>",
  "<end_of_turn>",
  "<|end|>",
  "<|eot|>",
  "</s>",
];
const END_OF_TURN_TEXTS = ["<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|eot|>"];

export class TextTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly eotId: number | undefined;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;
  readonly addBosByDefault: boolean;
  readonly addEosByDefault: boolean;
  readonly chatTemplate: string | undefined;

  private readonly parts: TokenizerParts;
  private readonly matcher: SpecialTokenMatcher;
  private readonly endIds: Set<number>;
  private readonly bytesCache: (Uint8Array | undefined)[];

  constructor(parts: TokenizerParts) {
    this.parts = parts;
    this.vocabSize = parts.pieces.length;
    const check = (id: number | undefined, name: string): number | undefined => {
      if (id === undefined) return undefined;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new ModelFormatError(`${name} token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      }
      return id;
    };
    this.bosId = check(parts.bosId, "bos");
    this.eosId = check(parts.eosId, "eos");
    this.padId = check(parts.padId, "pad");
    this.unkId = check(parts.unkId, "unk");
    this.eotId =
      check(parts.eotId, "eot") ??
      END_OF_TURN_TEXTS.map((t) => parts.vocab.get(t)).find((id) => id !== undefined && parts.types[id] === TokenType.Control);
    this.addBosByDefault = parts.addBos && this.bosId !== undefined;
    this.addEosByDefault = parts.addEos && this.eosId !== undefined;
    this.chatTemplate = parts.chatTemplate;
    this.matcher = new SpecialTokenMatcher(parts.added);
    this.endIds = new Set<number>();
    if (this.eosId !== undefined) this.endIds.add(this.eosId);
    if (this.eotId !== undefined) this.endIds.add(this.eotId);
    for (const t of END_OF_GENERATION_TEXTS) {
      const id = parts.vocab.get(t);
      if (id !== undefined && parts.types[id] === TokenType.Control) this.endIds.add(id);
    }
    this.bytesCache = new Array(this.vocabSize);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new InvalidArgumentError("text to encode must be a string", "text");
    const addBos = opts.addBos ?? this.addBosByDefault;
    const addEos = opts.addEos ?? this.addEosByDefault;
    const out: number[] = [];
    if (addBos) {
      if (this.bosId === undefined) throw new InvalidArgumentError("addBos: this tokenizer has no BOS token", "addBos");
      out.push(this.bosId);
    }
    let atStart = true;
    for (const fragment of this.matcher.split(text, opts.parseSpecial ?? true)) {
      if (typeof fragment === "number") {
        out.push(fragment);
        atStart = true;
        continue;
      }
      for (const word of this.parts.toWords(fragment, atStart)) this.parts.wordEncoder.encode(word, out);
      atStart = false;
    }
    if (addEos) {
      if (this.eosId === undefined) throw new InvalidArgumentError("addEos: this tokenizer has no EOS token", "addEos");
      out.push(this.eosId);
    }
    return out;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const dec = this.createStreamDecoder(opts);
    let out = "";
    for (const id of ids) out += dec.push(id);
    return out + dec.flush();
  }

  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    const acc = new Utf8Accumulator();
    const skip = opts.skipSpecialTokens ?? false;
    const rule = this.parts.leadingSpace;
    let stripping = rule !== "keep";
    return {
      push: (id: number): string => {
        if (skip && this.isSpecial(id)) return "";
        let bytes = this.tokenToBytes(id);
        if (stripping) {
          if (rule === "strip-first-token") {
            if (bytes[0] === 0x20 && !this.isSpecial(id)) bytes = bytes.subarray(1);
            stripping = false;
          } else if (!this.isSpecial(id)) {
            // SentencePiece: control tokens leave the start state as it is; byte pieces keep their bytes.
            const text = this.parts.types[id] !== TokenType.Byte;
            const stripped = text && bytes[0] === 0x20;
            if (stripped) bytes = bytes.subarray(1);
            if (bytes.length > 0 || (stripped && rule === "sentencepiece")) stripping = false;
          }
        }
        return bytes.length === 0 ? "" : acc.push(bytes);
      },
      flush: (): string => acc.flush(),
    };
  }

  tokenToPiece(id: number): string {
    this.checkId(id);
    return this.parts.pieces[id]!;
  }

  tokenToBytes(id: number): Uint8Array {
    this.checkId(id);
    let bytes = this.bytesCache[id];
    if (bytes === undefined) {
      bytes = this.pieceBytes(id);
      this.bytesCache[id] = bytes;
    }
    return bytes;
  }

  pieceToId(piece: string): number | undefined {
    return this.parts.vocab.get(piece);
  }

  tokenType(id: number): TokenType {
    this.checkId(id);
    return this.parts.types[id] as TokenType;
  }

  isSpecial(id: number): boolean {
    return this.parts.types[id] === TokenType.Control;
  }

  isEndOfGeneration(id: number): boolean {
    return this.endIds.has(id);
  }

  /** Every id that ends generation (EOS, EOT and the model's other end markers). */
  endOfGenerationIds(): number[] {
    return [...this.endIds].sort((a, b) => a - b);
  }

  private pieceBytes(id: number): Uint8Array {
    const piece = this.parts.pieces[id]!;
    const type = this.parts.types[id];
    if (type === TokenType.Byte) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      if (m) return Uint8Array.of(parseInt(m[1]!, 16));
    }
    if (type === TokenType.Control) return utf8Encode(piece);
    if (this.parts.alphabet === "byte-level") return byteLevelToBytes(piece) ?? utf8Encode(piece);
    return utf8Encode(piece.replaceAll("\u2581", " "));
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InvalidArgumentError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`, "id");
    }
  }
}

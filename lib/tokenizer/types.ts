/** Public shapes of the tokenizer layer. Every tokenizer (GGUF, tokenizer.json, SentencePiece .model) implements `Tokenizer`. */

/** Token kinds, numbered as GGUF `tokenizer.ggml.token_type` and SentencePiece `ModelProto.SentencePiece.Type` number them. */
export const TokenType = {
  Normal: 1,
  Unknown: 2,
  Control: 3,
  UserDefined: 4,
  Unused: 5,
  Byte: 6,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

export interface EncodeOptions {
  /** Prepend the BOS token. Default: the model's own setting (`add_bos_token`). */
  addBos?: boolean;
  /** Append the EOS token. Default: the model's own setting (`add_eos_token`, usually false). */
  addEos?: boolean;
  /**
   * Match control/special token texts (`<|im_start|>`, `<s>` …) in the input as single tokens. Default true, which is what
   * chat prompts need; pass false for untrusted user text that must never produce control tokens. User-defined
   * (non-special) added tokens are always matched, as Hugging Face and llama.cpp do.
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop control/special tokens from the output instead of rendering their text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Turns generated ids into text chunk by chunk, never splitting a multi-byte UTF-8 character across chunks. */
export interface StreamDecoder {
  /** Feed one id; returns the text that is now complete (possibly ""). */
  push(id: number): string;
  /** End of stream: returns what is still held back (incomplete bytes become U+FFFD). */
  flush(): string;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** End-of-turn token (`<|im_end|>`, `<|eot_id|>`), when the model has one. */
  readonly eotId: number | undefined;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;
  /** Whether `encode` adds BOS when `addBos` is not given. */
  readonly addBosByDefault: boolean;
  /** The model's own Jinja chat template, when it ships one. */
  readonly chatTemplate: string | undefined;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** The raw vocabulary string of a token (`▁Hello`, `Ġworld`, `<0x0A>`, `<|im_end|>`). */
  tokenToPiece(id: number): string;
  /** The bytes the token stands for in decoded text (a control token gives its own text's UTF-8). */
  tokenToBytes(id: number): Uint8Array;
  /** Id of an exact vocabulary piece, or undefined. */
  pieceToId(piece: string): number | undefined;
  tokenType(id: number): TokenType;
  /** Control/special token (rendered as text only when asked). */
  isSpecial(id: number): boolean;
  /** True for EOS, EOT and the other end-of-generation markers of the model. */
  isEndOfGeneration(id: number): boolean;
  /** Every id for which isEndOfGeneration is true, ascending. */
  endOfGenerationIds(): number[];
  createStreamDecoder(opts?: DecodeOptions): StreamDecoder;
}

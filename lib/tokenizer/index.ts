export type { Tokenizer, EncodeOptions, DecodeOptions, StreamDecoder } from "./types.js";
export { TokenType } from "./types.js";
export { TextTokenizer } from "./text-tokenizer.js";
export { tokenizerFromGguf, type GgufMetadata } from "./from-gguf.js";
export { tokenizerFromHfJson } from "./from-hf.js";
export { tokenizerFromSentencePieceModel, readSentencePieceModel, type SentencePieceModel } from "./from-sentencepiece.js";

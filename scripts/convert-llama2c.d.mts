import type { GgufWriter } from "../lib/gguf/writer.js";
export interface Llama2cConfig {
  dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number;
  shared: boolean; headSize: number; kvDim: number;
}
export interface Llama2cCheckpoint { cfg: Llama2cConfig; weights: Record<string, Float32Array | Float32Array[]> }
export interface VocabEntry { piece: string; score: number; type?: number }
export declare function readLlama2cCheckpoint(buf: Uint8Array): Llama2cCheckpoint;
export declare function readLlama2cTokenizer(buf: Uint8Array, vocabSize: number): VocabEntry[];
export declare function readSentencePieceModel(buf: Uint8Array): VocabEntry[];
export declare function readVocabulary(path: string, vocabSize: number): VocabEntry[];
export declare function buildLlama2cGguf(checkpoint: Llama2cCheckpoint, vocab: VocabEntry[], typeName?: string, log?: (m: string) => void): GgufWriter;
export declare function convertLlama2c(modelPath: string, tokenizerPath: string, outPath: string, typeName?: string, log?: (m: string) => void): Promise<{ bytes: number; cfg: Llama2cConfig }>;

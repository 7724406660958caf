/**
 * EngineModel: one loaded GGUF model inside the WASM engine. Feeds weight bytes straight into their final place
 * in WASM memory, runs forward passes, and hands logits out as zero-copy views.
 */
import { InvalidArgumentError } from "../errors.js";
import type { GgufVocabulary } from "../tokenizer/from-gguf.js";
import type { KvType, MemoryReport } from "../types.js";
import { engineCall } from "./errors.js";
import { streamIntoLoader, toEngineOptions, type GgufLoader, type StreamLoadOptions } from "./loader.js";
import { unpackVocabulary } from "./vocabulary.js";
import { engineMemory, plain, type EngineBindings, type Plain } from "./wasm.js";

type Engine = InstanceType<EngineBindings["Engine"]>;

export interface EngineOptions {
  contextLength?: number;
  kvType?: KvType;
  /** Bytes for weights + KV + scratch: an f16 cache that would exceed it is stored q8_0 (see LoadOptions). */
  memoryBudget?: number;
  sequences?: number;
  maxBatch?: number;
  /** Kernel implementation (default: SIMD); the tests compare the two. */
  kernelPath?: "scalar" | "simd";
}

/** The hyper-parameters the engine parsed from the GGUF header (architecture, dim, nLayers, …, vocabSize). */
export type HyperParams = Plain<EngineBindings["ModelHyperParams"]["prototype"]>;

/** What loading a header with given options would allocate: `{config, contextLength, kvType, memory}`. */
export type LoadPlan = Plain<EngineBindings["LoadPlan"]["prototype"]>;

/** The hyper-parameters plus this instance's settings. */
export interface EngineConfig extends HyperParams {
  /** KV cache positions per sequence. */
  contextLength: number;
  /** The KV cache type in use (chosen under the memory budget when not given). */
  kvType: KvType;
  sequences: number;
  maxBatch: number;
  kernelPath: "scalar" | "simd";
}

/** A GGUF header as the engine hands it out (`readGgufHeader`): numeric arrays are typed arrays. */
export interface GgufHeaderObject {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: Record<string, unknown>;
  /** Each metadata value's GGUF type as lib/gguf/writer.ts spells it ("u32", "array<f32>", …). */
  types: Record<string, string>;
  tensors?: Array<{ name: string; type: string; dims: number[]; offset: number; bytes: number }>;
}

/** The header as `EngineModel.load` hands it to `onHeader`: the metadata without the vocabulary, and the vocabulary. */
export interface LoadedHeader {
  /** The metadata, less `tokenizer.ggml.tokens` / `merges` when they are string arrays (they are in `vocabulary`). */
  metadata: Record<string, unknown>;
  vocabulary: GgufVocabulary;
}

export interface ModelLoadOptions extends EngineOptions, Omit<StreamLoadOptions, "engine" | "onHeader"> {
  /** Called as soon as the header has arrived, the weights still streaming (after the whole file for tiny files). */
  onHeader?: (header: LoadedHeader) => void;
}

export class EngineModel {
  readonly config: EngineConfig;
  readonly metadata: Record<string, unknown>;
  #engine: Engine | undefined;
  /** Reused for single-token decode steps so the hot loop allocates nothing on the JS side. */
  readonly #one = new Uint32Array(1);

  private constructor(engine: Engine, metadata?: Record<string, unknown>) {
    this.#engine = engine;
    this.config = {
      ...plain(engine.hyperParams()),
      contextLength: engine.contextLength(),
      kvType: engine.kvType(),
      sequences: engine.sequences(),
      maxBatch: engine.maxBatch(),
      kernelPath: engine.kernelPath(),
    };
    this.metadata = metadata ?? (engine.header(false) as GgufHeaderObject).metadata;
  }

  /** Builds the model from a loader that has received the whole file (consumes the loader). */
  static fromLoader(bindings: EngineBindings, loader: GgufLoader, options: EngineOptions = {}, metadata?: Record<string, unknown>): EngineModel {
    return new EngineModel(engineCall(() => new bindings.Engine(loader, toEngineOptions(bindings, options))), metadata);
  }

  static async load(bindings: EngineBindings, chunks: AsyncIterable<Uint8Array>, options: ModelLoadOptions = {}): Promise<EngineModel> {
    const { contextLength, kvType, memoryBudget, sequences, maxBatch, kernelPath, onHeader, ...stream } = options;
    const engine: EngineOptions = { contextLength, kvType, memoryBudget, sequences, maxBatch, kernelPath };
    let metadata: Record<string, unknown> | undefined;
    const headerArrived = (loader: GgufLoader): void => {
      metadata = (loader.readHeader(false, false) as GgufHeaderObject).metadata;
      onHeader!({ metadata, vocabulary: unpackVocabulary(loader.vocabulary()) });
    };
    // The header is checked with these options before the weights' memory is allocated.
    const loader = await streamIntoLoader(bindings, chunks, { ...stream, engine, ...(onHeader ? { onHeader: headerArrived } : {}) });
    const model = EngineModel.fromLoader(bindings, loader, engine, metadata);
    if (onHeader && metadata === undefined) {
      try {
        onHeader({ metadata: model.metadata, vocabulary: unpackVocabulary(model.#live().vocabulary()) });
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    return model;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /**
   * Forgets the metadata keys `drop` selects (the JS copy only). Llama drops `tokenizer.ggml.*` once its tokenizer is
   * built (the tokens and merges never reach it; the scores and token types of a 49k-token vocabulary are ~400 KB).
   */
  releaseMetadata(drop: (key: string) => boolean): void {
    for (const key of Object.keys(this.metadata)) if (drop(key)) delete this.metadata[key];
  }

  get contextLength(): number {
    return this.config.contextLength;
  }

  /**
   * Runs `tokens` of sequence `seq` starting at `startPos` (must equal the cached length: the cache is truncated
   * first when it is longer). Returns the logits of the last position — or of every position when `allLogits` — as a
   * view into WASM memory that is valid only until the next engine call: copy it to keep it.
   */
  forward(seq: number, tokens: ArrayLike<number>, startPos: number, allLogits = false): Float32Array {
    const engine = this.#live();
    if (tokens.length === 0) throw new InvalidArgumentError("forward needs at least one token", "tokens");
    let ids: Uint32Array;
    if (tokens.length === 1) {
      this.#one[0] = tokens[0]!;
      ids = this.#one;
    } else {
      ids = tokens instanceof Uint32Array ? tokens : Uint32Array.from(tokens);
    }
    const ptr = engineCall(() => engine.forward(seq, ids, startPos, allLogits));
    return new Float32Array(engineMemory().buffer, ptr, engine.logitsLen());
  }

  sequenceLength(seq: number): number {
    const engine = this.#live();
    return engineCall(() => engine.sequenceLength(seq));
  }

  resetSequence(seq: number): void {
    const engine = this.#live();
    engineCall(() => engine.resetSequence(seq));
  }

  truncate(seq: number, length: number): void {
    const engine = this.#live();
    engineCall(() => engine.truncate(seq, length));
  }

  memory(): MemoryReport {
    const engine = this.#live();
    return { ...plain(engine.memory()), wasmMemory: engineMemory().buffer.byteLength };
  }

  /** Frees the weights, KV cache and scratch. The object is unusable afterwards. */
  dispose(): void {
    this.#engine?.free();
    this.#engine = undefined;
  }

  #live(): Engine {
    if (!this.#engine) throw new InvalidArgumentError("model was disposed", "model");
    return this.#engine;
  }
}

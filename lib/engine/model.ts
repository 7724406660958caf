/**
 * EngineModel: one loaded GGUF model inside the WASM engine. Feeds weight bytes straight into their final place
 * in WASM memory, runs forward passes, and hands logits out as zero-copy views.
 */
import { AbortError, InvalidArgumentError } from "../errors.js";
import type { KvType, LoadProgress, MemoryReport } from "../types.js";
import { engineCall, engineError } from "./errors.js";
import { engineMemory, plain, type EngineBindings, type Plain } from "./wasm.js";

type Engine = InstanceType<EngineBindings["Engine"]>;
type GgufLoader = InstanceType<EngineBindings["GgufLoader"]>;

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

/** The engine's typed options object for `o` (consumed by the engine call it is passed to). */
export function toEngineOptions(bindings: EngineBindings, o: EngineOptions): InstanceType<EngineBindings["EngineOptions"]> {
  const w = new bindings.EngineOptions();
  w.contextLength = o.contextLength;
  w.kvType = o.kvType;
  w.memoryBudget = o.memoryBudget;
  w.sequences = o.sequences;
  w.maxBatch = o.maxBatch;
  w.kernelPath = o.kernelPath;
  return w;
}

export interface StreamLoadOptions {
  /** Refuse files larger than this (bytes). */
  maxBytes?: number;
  /**
   * Source length when known up front: progress before the header is parsed, and a header whose tensors extend
   * past it is refused before the tensor arena is allocated.
   */
  sizeHint?: number;
  /**
   * The options the model will be built with: the header is planned with them (types, shapes, KV type and the
   * memoryBudget) before anything is allocated.
   */
  engine?: EngineOptions;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** Streams a GGUF into a fresh engine loader: each chunk is copied once, into the region the loader points at. */
export async function streamIntoLoader(
  bindings: EngineBindings,
  chunks: AsyncIterable<Uint8Array>,
  options: StreamLoadOptions = {},
): Promise<GgufLoader> {
  const engineOptions = options.engine;
  const loader = engineCall(
    () => new bindings.GgufLoader(options.maxBytes ?? Number.MAX_SAFE_INTEGER, options.sizeHint, engineOptions && toEngineOptions(bindings, engineOptions)),
  );
  try {
    for await (const chunk of chunks) {
      if (options.signal?.aborted) throw new AbortError("model load aborted", { cause: options.signal.reason });
      let offset = 0;
      while (offset < chunk.byteLength) {
        const ptr = loader.nextRegion(chunk.byteLength - offset);
        const len = loader.regionLen();
        // Take the buffer after nextRegion: reserving may have grown (and so detached) the old one.
        new Uint8Array(engineMemory().buffer, ptr, len).set(chunk.subarray(offset, offset + len));
        loader.commit(len);
        offset += len;
      }
      if (options.onProgress) {
        const expected = loader.expectedSize();
        const total = Number.isFinite(expected) ? expected : options.sizeHint;
        options.onProgress(total === undefined ? { loaded: loader.bytesReceived() } : { loaded: loader.bytesReceived(), total });
      }
    }
    return loader;
  } catch (e) {
    loader.free();
    throw engineError(e);
  }
}

export class EngineModel {
  readonly config: EngineConfig;
  readonly metadata: Record<string, unknown>;
  #engine: Engine | undefined;
  /** Reused for single-token decode steps so the hot loop allocates nothing on the JS side. */
  readonly #one = new Uint32Array(1);

  private constructor(engine: Engine) {
    this.#engine = engine;
    this.config = {
      ...plain(engine.hyperParams()),
      contextLength: engine.contextLength(),
      kvType: engine.kvType(),
      sequences: engine.sequences(),
      maxBatch: engine.maxBatch(),
      kernelPath: engine.kernelPath(),
    };
    this.metadata = (engine.header() as GgufHeaderObject).metadata;
  }

  /** Builds the model from a loader that has received the whole file (consumes the loader). */
  static fromLoader(bindings: EngineBindings, loader: GgufLoader, options: EngineOptions = {}): EngineModel {
    return new EngineModel(engineCall(() => new bindings.Engine(loader, toEngineOptions(bindings, options))));
  }

  static async load(
    bindings: EngineBindings,
    chunks: AsyncIterable<Uint8Array>,
    options: EngineOptions & StreamLoadOptions = {},
  ): Promise<EngineModel> {
    const { contextLength, kvType, memoryBudget, sequences, maxBatch, kernelPath } = options;
    const engine: EngineOptions = { contextLength, kvType, memoryBudget, sequences, maxBatch, kernelPath };
    // The header is checked with these options before the weights' memory is allocated.
    const loader = await streamIntoLoader(bindings, chunks, { ...options, engine });
    return EngineModel.fromLoader(bindings, loader, engine);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /**
   * Forgets the metadata keys `drop` selects (the JS copy only). Llama drops `tokenizer.ggml.*` once its tokenizer is
   * built: for a 49k-token vocabulary those arrays are ~2 MB of an isolate's 128 MB.
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

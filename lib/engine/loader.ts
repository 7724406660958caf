/**
 * The streaming side of a load: chunks of a GGUF go straight into the region of WASM memory the engine's loader
 * points at, and the caller hears when the header has been parsed (the weights still streaming).
 */
import { AbortError } from "../errors.js";
import type { LoadProgress } from "../types.js";
import { EngineError } from "../../wasm/pkg/ellm_engine.js";
import { engineCall, engineError } from "./errors.js";
import type { EngineOptions } from "./model.js";
import { engineMemory, type EngineBindings } from "./wasm.js";

export type GgufLoader = InstanceType<EngineBindings["GgufLoader"]>;

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
  /**
   * Called once, right after the chunk that completed the header, while the tensor data still streams (the loader's
   * `readHeader`/`vocabulary` work from then on). Not called when the header only completes with the whole file.
   */
  onHeader?: (loader: GgufLoader) => void | Promise<void>;
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
  let awaitingHeader = options.onHeader !== undefined;
  let warmed = false;
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
      if (!warmed && loader.headerReady()) {
        warmed = true;
        // Nothing left to overlap once the whole file is in (a small file's header completes with its last chunk).
        if (loader.bytesReceived() < loader.expectedSize()) warmUp(loader);
      }
      if (awaitingHeader && loader.headerReady()) {
        awaitingHeader = false;
        await options.onHeader!(loader);
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

/**
 * Runs a tiny model of the file's kind as soon as its header is parsed (the engine's warm-up, model/warm_up.rs): V8
 * then compiles the kernels the first forward pass needs with its optimising tier in the background while the weights
 * still stream, instead of running that first prefill in its baseline tier (~150 ms more for a 27-token prompt).
 * Only an optimisation: an error it returns leaves the model's own construction, after the stream, to report what is
 * wrong; a trap still fails the load (the instance is unusable).
 */
function warmUp(loader: GgufLoader): void {
  try {
    loader.warmUp();
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    e.free();
  }
}

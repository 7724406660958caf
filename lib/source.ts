/** Turns every accepted model source into one shape: a stream of byte chunks (plus a size when known). */
import { InvalidArgumentError } from "./errors.js";
import { initEngine, isEngineInitialised, type EngineBindings } from "./engine/wasm.js";
import * as bindings from "../wasm/pkg/ellm_engine.js";
import { platform, streamChunks } from "./platform.js";
import type { ModelSource } from "./types.js";

export interface OpenedSource {
  size: number | undefined;
  chunks: AsyncIterable<Uint8Array>;
}

/** Largest slice handed to the engine at once when the caller gave one big buffer. */
const SLICE = 1 << 20;

export async function openModelSource(source: ModelSource): Promise<OpenedSource> {
  if (typeof source === "string" || source instanceof URL) return platform.open(source);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    return { size: bytes.byteLength, chunks: slices(bytes) };
  }
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) {
    return { size: undefined, chunks: streamChunks(source) };
  }
  if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    return { size: undefined, chunks: source as AsyncIterable<Uint8Array> };
  }
  throw new InvalidArgumentError(
    "model must be a path, URL, Uint8Array, ArrayBuffer, ReadableStream or async iterable of Uint8Array",
    "model",
  );
}

async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.byteLength; off += SLICE) yield bytes.subarray(off, off + SLICE);
}

/** The engine bindings: already initialised, or instantiated by the platform (Node), or an error saying how. */
export async function resolveEngine(): Promise<EngineBindings> {
  if (isEngineInitialised()) return bindings;
  if (platform.loadEngine) return platform.loadEngine();
  throw new InvalidArgumentError(
    "the WASM engine is not initialised: call initEngine(await WebAssembly.compile(...)) first, or import \"ellm-edge/node\" in Node",
    "engine",
  );
}

export { initEngine };

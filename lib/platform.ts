/**
 * Platform seams of the runtime-neutral core. The core never imports Node built-ins; the Node entry point
 * (`lib/node`) installs file-system readers here, and everything else falls back to `fetch` for URLs.
 */
import { InvalidArgumentError } from "./errors.js";
import type { EngineBindings } from "./engine/wasm.js";

export interface FileAccess {
  readText(path: string): Promise<string>;
  /** Streams a file in chunks and reports its size, so weights never sit twice in memory. */
  open(path: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> }>;
}

interface PlatformState {
  files: FileAccess | undefined;
  /** Instantiates the engine when nobody called `initEngine(module)` (Node compiles the .wasm from disk). */
  loadEngine: (() => Promise<EngineBindings>) | undefined;
  /** Compiles the grammar module when nobody called `initGrammar(module)` (Node reads it from disk). */
  loadGrammarModule: (() => Promise<WebAssembly.Module>) | undefined;
}

const state: PlatformState = { files: undefined, loadEngine: undefined, loadGrammarModule: undefined };

export const platform = {
  install(parts: Partial<PlatformState>): void {
    Object.assign(state, parts);
  },
  get loadEngine() {
    return state.loadEngine;
  },
  get loadGrammarModule() {
    return state.loadGrammarModule;
  },
  async readText(pathOrUrl: string | URL): Promise<string> {
    if (isHttpUrl(pathOrUrl)) {
      const res = await fetchOrThrow(pathOrUrl, "path");
      if (!res.ok) throw new InvalidArgumentError(`GET ${String(pathOrUrl)} failed: HTTP ${res.status}`, "path");
      return res.text();
    }
    return requireFiles(pathOrUrl).readText(String(pathOrUrl instanceof URL ? pathOrUrl.pathname : pathOrUrl));
  },
  async open(pathOrUrl: string | URL): Promise<{ size: number | undefined; chunks: AsyncIterable<Uint8Array> }> {
    if (isHttpUrl(pathOrUrl)) {
      const res = await fetchOrThrow(pathOrUrl, "model");
      if (!res.ok || !res.body) throw new InvalidArgumentError(`GET ${String(pathOrUrl)} failed: HTTP ${res.status}`, "model");
      const length = Number(res.headers.get("content-length") ?? NaN);
      return { size: Number.isFinite(length) ? length : undefined, chunks: streamChunks(res.body) };
    }
    return requireFiles(pathOrUrl).open(String(pathOrUrl instanceof URL ? pathOrUrl.pathname : pathOrUrl));
  },
};

/** fetch, with a network failure (bad host, refused connection) as the caller's argument error. */
async function fetchOrThrow(url: string | URL, param: string): Promise<Response> {
  try {
    return await fetch(url);
  } catch (e) {
    throw new InvalidArgumentError(`GET ${String(url)} failed: ${(e as Error)?.message ?? e}`, param, { cause: e });
  }
}

function isHttpUrl(p: string | URL): boolean {
  const s = String(p);
  return s.startsWith("http://") || s.startsWith("https://");
}

function requireFiles(p: string | URL): FileAccess {
  if (!state.files) {
    throw new InvalidArgumentError(
      `cannot read "${String(p)}": no file system here. In Node import "ellm-edge/node"; elsewhere pass bytes, a stream or an http(s) URL`,
      "path",
    );
  }
  return state.files;
}

/** A ReadableStream as an async iterable (not every runtime implements ReadableStream[Symbol.asyncIterator]). */
export async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      if (value && value.byteLength > 0) yield value;
    }
  } finally {
    // Stopped early (error, abort): cancel so the producer (an R2 body, a fetch) stops sending.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * `ellm serve`: the Worker's own Hono app — the same OpenAI routes, validation, queue, errors and playground — in Node
 * on @hono/node-server, serving local GGUF files. Only what is Workers-specific gets a Node stand-in:
 * - the R2 binding: a read-only bucket over the files (`get` → size + a byte stream), so the model store loads,
 *   verifies and swaps them exactly as it does from R2;
 * - `crypto.DigestStream` (the store hashes while loading): node:crypto behind the same interface;
 * - the imports only a bundler understands (the engine's .wasm as a compiled module, models/*.json without import
 *   attributes): a module loader hook for files of this package;
 * - the bundled catalog: replaced by the served files' entries.
 */
import { once } from "node:events";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { register } from "node:module";
import type { AddressInfo } from "node:net";
import { basename } from "node:path";
import { Readable } from "node:stream";
import type { CatalogEntry } from "../../worker/catalog/schema.js";
import type { Env } from "../../worker/env.js";
import { describeGguf, modelIdFromFile, readGgufHeader, sha256File } from "./gguf-file.js";

export interface ServeOptions {
  /** GGUF file paths; the first is loaded before the server listens. */
  models: string[];
  port?: number;
  host?: string;
  /** KV cache positions to allocate (the Worker's CONTEXT_LENGTH; default: the model's, capped at 2048). */
  contextLength?: number;
  /** Worker variables (API_KEYS, CORS_ORIGINS, MAX_QUEUE, MAX_BODY_BYTES, PLAYGROUND, METRICS_PUBLIC); default: process.env. */
  vars?: Partial<Record<(typeof VARS)[number], string>>;
  /** Bytes hashed / loaded so far, per phase, for progress bars. */
  onProgress?: (phase: "hashing" | "loading", model: string, loaded: number, total: number) => void;
}

export interface RunningServer {
  url: string;
  models: CatalogEntry[];
  close(): Promise<void>;
}

const VARS = ["API_KEYS", "CORS_ORIGINS", "MAX_QUEUE", "MAX_BODY_BYTES", "CONTEXT_LENGTH", "PLAYGROUND", "METRICS_PUBLIC"] as const;
const PACKAGE_ROOT = new URL("../../", import.meta.url).href;

// Runs in Node's loader thread: the Worker's .wasm import becomes a compiled WebAssembly.Module (what wrangler's
// CompiledWasm rule gives it) — undefined for one this Node cannot compile (the relaxed-SIMD build on Node 20) —,
// a JSON import without attributes becomes its default export (what esbuild does).
const LOADER_HOOK = `
const ROOT = ${JSON.stringify(PACKAGE_ROOT)};
export async function load(url, context, nextLoad) {
  if (url.startsWith(ROOT) && url.endsWith(".wasm")) {
    return { format: "module", shortCircuit: true, source:
      "import { readFile } from 'node:fs/promises'; const bytes = await readFile(new URL(" + JSON.stringify(url) + "));" +
      " export default WebAssembly.validate(bytes) ? await WebAssembly.compile(bytes) : undefined;" };
  }
  const attributes = context.importAttributes || context.importAssertions || {};
  if (url.startsWith(ROOT) && url.endsWith(".json") && !attributes.type) {
    const { readFile } = await import("node:fs/promises");
    return { format: "module", shortCircuit: true, source: "export default " + (await readFile(new URL(url), "utf8")) + ";" };
  }
  return nextLoad(url, context);
}`;

let hooked = false;

function installWorkerShims(): void {
  if (!hooked) {
    register(`data:text/javascript,${encodeURIComponent(LOADER_HOOK)}`);
    hooked = true;
  }
  const c = globalThis.crypto as Crypto & { DigestStream?: unknown };
  if (!c.DigestStream) Object.defineProperty(c, "DigestStream", { value: NodeDigestStream, configurable: true });
}

/** Workers' crypto.DigestStream: a WritableStream whose `digest` resolves to the hash of what was written. */
class NodeDigestStream extends WritableStream<ArrayBufferView | ArrayBuffer> {
  readonly digest: Promise<ArrayBuffer>;

  constructor(algorithm: string | { name: string }) {
    const name = (typeof algorithm === "string" ? algorithm : algorithm.name).replace(/-/g, "").toLowerCase();
    const hash = createHash(name);
    let resolve!: (d: ArrayBuffer) => void;
    let reject!: (e: unknown) => void;
    const digest = new Promise<ArrayBuffer>((res, rej) => ((resolve = res), (reject = rej)));
    digest.catch(() => undefined); // an aborted load that nobody awaits
    super({
      write(chunk) {
        hash.update(ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : new Uint8Array(chunk));
      },
      close() {
        const d = hash.digest();
        resolve(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) as ArrayBuffer);
      },
      abort(reason) {
        reject(reason);
      },
    });
    this.digest = digest;
  }
}

/** The R2 binding over local files: `get(key)` → `{size, body}` for the keys of the served entries. */
function localBucket(files: Map<string, string>, onRead?: (key: string, loaded: number, total: number) => void): R2Bucket {
  const bucket = {
    async get(key: string) {
      const path = files.get(key);
      if (!path) return null;
      const { size } = await stat(path);
      let loaded = 0;
      const stream = createReadStream(path).on("data", (c) => onRead?.(key, (loaded += c.length), size));
      return { key, size, body: Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array> };
    },
    async head(key: string) {
      const path = files.get(key);
      return path ? { key, size: (await stat(path)).size } : null;
    },
  };
  return bucket as unknown as R2Bucket;
}

/**
 * Node's HTTP adapter pulls a response stream back to back on microtasks while the socket takes the bytes, so a
 * client's disconnect (a socket event) would only be seen after the whole generation. One event-loop turn before each
 * chunk of a stream lets it through between tokens, and the generation stops as it does in workerd.
 */
function withTurns(res: Response): Response {
  if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await new Promise((resolve) => setImmediate(resolve));
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** Catalog entries for the files, from their headers (ids from file names, made unique). */
async function entriesFor(paths: string[], onProgress: ServeOptions["onProgress"]): Promise<{ entries: CatalogEntry[]; files: Map<string, string> }> {
  const entries: CatalogEntry[] = [];
  const files = new Map<string, string>();
  for (const [i, path] of paths.entries()) {
    const info = describeGguf(await readGgufHeader(path));
    const { size } = await stat(path);
    const sha256 = await sha256File(path, (done) => onProgress?.("hashing", basename(path), done, size));
    let id = modelIdFromFile(path);
    if (entries.some((e) => e.id === id)) id = `${id}-${i + 1}`;
    const r2Key = `local/${i}/${basename(path)}`;
    files.set(r2Key, path);
    entries.push({
      id, r2Key, bytes: size, sha256, format: "gguf", quantization: info.quantization, contextLength: info.contextLength,
      backend: "edge", architecture: info.architecture, description: info.name ? `${info.name} (${basename(path)})` : basename(path),
    });
  }
  return { entries, files };
}

/** Starts the server; resolves once the first model is loaded and the port listens. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  if (options.models.length === 0) throw new Error("serve: give at least one GGUF file");
  installWorkerShims();
  const { entries, files } = await entriesFor(options.models, options.onProgress);

  const [{ app }, { replaceBundledCatalog }, { models, turn }, { edgeContextLength }, { serve: listen }] = await Promise.all([
    import("../../worker/app.js"),
    import("../../worker/catalog/catalog.js"),
    import("../../worker/runtime/isolate.js"),
    import("../../worker/backend/edge.js"),
    import("@hono/node-server"),
  ]);
  replaceBundledCatalog(entries);

  const vars: Record<string, string> = {};
  for (const name of VARS) {
    const value = options.vars ? options.vars[name] : process.env[name];
    if (value !== undefined) vars[name] = value;
  }
  if (options.contextLength !== undefined) vars.CONTEXT_LENGTH = String(options.contextLength);
  const byKey = new Map(entries.map((e) => [e.r2Key!, e.id]));
  const env = {
    ...vars,
    MODELS: localBucket(files, (key, loaded, total) => options.onProgress?.("loading", byKey.get(key)!, loaded, total)),
  } as Env;

  // The first model loads now, not on the first request: a bad file fails here, and the first reply is quick.
  const first = entries[0]!;
  const lease = await turn.acquire();
  try {
    await models.acquire(first, { bucket: env.MODELS, maxContext: edgeContextLength(first, env), lease, turn });
  } finally {
    lease.release();
  }

  const fetch = async (req: Request) => withTurns(await app.fetch(req, env));
  const server = listen({ fetch, port: options.port ?? 8787, hostname: options.host ?? "127.0.0.1" });
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    models: entries,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

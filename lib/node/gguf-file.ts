/**
 * A GGUF file on disk as a catalog sees it: its header (parsed by the engine from a growing prefix), architecture,
 * quantization, trained context, KV bytes per position, and its SHA-256. Used by `ellm serve` and models-add.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { engineCall, engineError } from "../engine/errors.js";
import { toEngineOptions } from "../engine/loader.js";
import type { EngineOptions, GgufHeaderObject, HyperParams, LoadPlan } from "../engine/model.js";
import { plain } from "../engine/wasm.js";
import { EllmError } from "../errors.js";
import { LLAMA_FILE_TYPES } from "../gguf/writer.js";
import { ModelArgs } from "../model-args.js";
import { loadEngineNode } from "./engine.js";

const FILE_TYPES: Record<number, string> = Object.fromEntries(Object.entries(LLAMA_FILE_TYPES).map(([name, id]) => [id, name]));

export interface GgufHeader extends GgufHeaderObject {
  /** The hyper-parameters as the engine parses them (undefined for a file without weights, e.g. a vocabulary). */
  hyperParams: HyperParams | undefined;
  /** The engine's load plan (with `readGgufHeader(path, options)`): config, context, KV type, memory by part. */
  plan?: LoadPlan;
}

export interface GgufDescription {
  architecture: string;
  quantization: string;
  contextLength: number;
  /** f16 K and V bytes per context position (undefined when the shapes are unreadable). */
  kvBytesPerToken: number | undefined;
  name: string | undefined;
}

/** Hex SHA-256 of a file, streamed; `onProgress` gets the bytes hashed so far. */
export async function sha256File(path: string, onProgress?: (done: number) => void): Promise<string> {
  const h = createHash("sha256");
  let done = 0;
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
    h.update(c);
    done += c.byteLength;
    onProgress?.(done);
  }
  return h.digest("hex");
}

/**
 * Parses the GGUF header with the engine, reading a growing prefix until the whole header fits. With `plan`
 * (engine options, e.g. `{}`), also runs the checks the engine's loader makes before allocating — tensor types and
 * shapes, tensors inside the file, the memory budget — and returns the plan: a file the engine cannot serve is
 * refused with the engine's own message.
 */
export async function readGgufHeader(path: string, plan?: EngineOptions): Promise<GgufHeader> {
  const engine = await loadEngineNode();
  const { size } = await stat(path);
  let want = Math.min(size, 1 << 20);
  const handle = await open(path, "r");
  try {
    for (;;) {
      const buf = new Uint8Array(want);
      await handle.read(buf, 0, want, 0);
      let header: GgufHeaderObject;
      try {
        header = engine.readGgufHeader(buf, true) as GgufHeaderObject;
      } catch (e) {
        // A prefix that ends inside the header says how long it must be.
        const needed = e instanceof engine.EngineError ? e.neededBytes : undefined;
        const message = engineError(e).message;
        if (needed === undefined || want >= size) throw new Error(`${path}: not a readable GGUF: ${message}`);
        want = Math.min(size, Math.max(needed, want * 2));
        continue;
      }
      let hyperParams: HyperParams | undefined;
      try {
        hyperParams = plain(engine.readHyperParams(buf));
      } catch (e) {
        engineError(e); // frees the engine's error: a vocabulary-only file has no hyper-parameters
      }
      if (plan === undefined) return { ...header, hyperParams };
      try {
        return { ...header, hyperParams, plan: plain(engineCall(() => engine.planModel(buf, toEngineOptions(engine, plan), size))) };
      } catch (e) {
        const why = e instanceof EllmError ? `${e.code}: ${e.message}` : String(e);
        throw new Error(`${path}: the engine cannot serve this file: ${why}`, { cause: e });
      }
    }
  } finally {
    await handle.close();
  }
}

/** Architecture, quantization and context length as the catalog records them. */
export function describeGguf(header: GgufHeader): GgufDescription {
  const m = header.metadata;
  const arch = m["general.architecture"];
  if (typeof arch !== "string") throw new Error("GGUF has no general.architecture");
  const ctx = m[`${arch}.context_length`];
  if (!Number.isInteger(ctx) || (ctx as number) <= 0) throw new Error(`GGUF has no ${arch}.context_length`);
  let quantization = FILE_TYPES[m["general.file_type"] as number];
  if (!quantization) {
    // No file_type: the type holding most of the weight bytes.
    const byType = new Map<string, number>();
    for (const t of header.tensors ?? []) byType.set(t.type, (byType.get(t.type) ?? 0) + t.bytes);
    quantization = [...byType.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "unknown";
  }
  let kvBytesPerToken: number | undefined;
  try {
    kvBytesPerToken = header.hyperParams && ModelArgs.fromGGUF(header.hyperParams).kvCacheBytes(1);
  } catch {
    kvBytesPerToken = undefined;
  }
  const name = m["general.name"];
  return { architecture: arch, quantization, contextLength: ctx as number, kvBytesPerToken, name: typeof name === "string" ? name : undefined };
}

/** Catalog ids become file names: keep them safe for both. */
export function modelIdFromFile(file: string): string {
  return basename(file).replace(/\.gguf$/i, "").replace(/[^A-Za-z0-9._-]+/g, "-").toLowerCase();
}

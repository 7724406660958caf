/**
 * Models given as http(s) URLs, downloaded once into a cache folder (ELLM_CACHE_DIR, else ~/.cache/ellm-edge) so a
 * server can hash and reload them; a partial download never stands in for the file.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError } from "../errors.js";

export const isUrl = (s: string) => /^https?:\/\//i.test(s);

export function cacheDir(): string {
  return process.env.ELLM_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ellm-edge");
}

/** The cached file for `url`, downloading it first when absent; `onProgress(bytes, total?)` while it does. */
export async function downloadModel(url: string, onProgress?: (loaded: number, total?: number) => void): Promise<string> {
  const dir = cacheDir();
  const name = basename(new URL(url).pathname) || "model.gguf";
  const path = join(dir, `${createHash("sha256").update(url).digest("hex").slice(0, 12)}-${name}`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new InvalidArgumentError(`GET ${url} failed: HTTP ${res.status}`, "model");
  const length = Number(res.headers.get("content-length") ?? NaN);
  const total = Number.isFinite(length) ? length : undefined;
  let loaded = 0;
  const counted = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>).on("data", (c: Buffer) => {
    loaded += c.byteLength;
    onProgress?.(loaded, total);
  });
  const part = `${path}.part`;
  try {
    await pipeline(counted, createWriteStream(part));
  } catch (e) {
    rmSync(part, { force: true });
    throw e;
  }
  renameSync(part, path);
  return path;
}

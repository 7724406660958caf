/** Node file access for the platform seam: text files and chunked reads of weight files. */
import { open, readFile, stat } from "node:fs/promises";
import { InvalidArgumentError } from "../errors.js";
import type { FileAccess } from "../platform.js";

const CHUNK = 4 << 20;

export const nodeFiles: FileAccess = {
  async readText(path) {
    try {
      return await readFile(path, "utf8");
    } catch (e) {
      throw fileError(path, e, "path");
    }
  },
  async open(path) {
    let info;
    try {
      info = await stat(path);
    } catch (e) {
      throw fileError(path, e, "model");
    }
    if (!info.isFile()) throw new InvalidArgumentError(`model file "${path}" is not a regular file`, "model");
    return { size: info.size, chunks: readChunks(path) };
  },
};

/** A missing or unreadable file is the caller's argument error, naming the path and why (ENOENT → "does not exist"). */
function fileError(path: string, e: unknown, param: string): InvalidArgumentError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable" : `cannot be read (${(e as Error)?.message ?? e})`;
  return new InvalidArgumentError(`${param === "model" ? "model file" : "file"} "${path}" ${why}`, param, { cause: e });
}

async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path);
  try {
    // One reusable buffer: the engine copies each chunk into WASM memory before asking for the next.
    const buffer = new Uint8Array(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

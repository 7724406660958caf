/** Node file access for the platform seam: text files and chunked reads of weight files. */
import { open, readFile, stat } from "node:fs/promises";
import type { FileAccess } from "../platform.js";

const CHUNK = 4 << 20;

export const nodeFiles: FileAccess = {
  readText: (path) => readFile(path, "utf8"),
  async open(path) {
    const { size } = await stat(path);
    return { size, chunks: readChunks(path) };
  },
};

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

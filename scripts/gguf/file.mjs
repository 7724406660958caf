// Writes a GGUF (lib/gguf/writer.ts) to disk: streamed chunk by chunk, through a temporary file of its own, renamed
// when complete, so a large model never exists as one buffer and an interrupted write leaves no partial file. The
// temporary name is unique per call: vitest loads several project configs in one process, and each may build the
// same missing fixture at once (the last complete rename wins; both files are the same).
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/** Streams `writer` (a GgufWriter) to `path`; returns the byte count. */
export async function writeGgufFile(writer, path) {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, "w");
  let total = 0;
  try {
    for await (const c of writer.chunks()) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off, c.length - off);
      total += c.length;
    }
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return total;
}

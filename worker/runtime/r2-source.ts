/**
 * An R2 object body as the chunk stream the engine's loader consumes, hashed with SHA-256 on the way
 * (crypto.DigestStream, so the weights are never buffered a second time).
 */
export interface HashedChunks {
  /** Each chunk is valid only until the next one is asked for: its buffer is refilled by the next read. */
  chunks: AsyncIterable<Uint8Array>;
  /** Hex SHA-256 and byte count of everything the loader consumed; rejects if the stream was not read to the end. */
  result(): Promise<{ sha256: string; bytes: number }>;
}

/**
 * Bytes per read. workerd hands an R2 body out in 4 KiB pieces (18,930 for a 74 MiB model); reading each through a
 * default reader, the digest and the loader cost ~15 µs apiece — 0.4 s of a 0.9 s load. A BYOB reader filling one
 * 1 MiB buffer per read (workerd's readAtLeast) makes it 75 reads.
 */
const READ_BYTES = 1 << 20;

type BodyReader = { read(): Promise<ReadableStreamReadResult<Uint8Array>>; cancel(): Promise<void>; releaseLock(): void };
/** workerd's BYOB reader (workers-types has readAtLeast; the DOM lib, also in tsconfig, does not). */
type ByobReader = ReadableStreamBYOBReader & { readAtLeast(min: number, view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>> };

/** Large reads into one reused buffer where the body is a byte stream (R2's is), else its own chunks. */
function largeReads(body: ReadableStream<Uint8Array>): BodyReader {
  let byob: ByobReader;
  try {
    byob = body.getReader({ mode: "byob" }) as ByobReader;
  } catch {
    return body.getReader(); // not a byte stream
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  return {
    async read() {
      // The read transfers the buffer; it comes back as the result's, to be refilled by the next read.
      const r = await byob.readAtLeast(READ_BYTES, new Uint8Array(buffer));
      if (r.value) buffer = r.value.buffer as ArrayBuffer;
      // A last partial read may come with done = false and the end with an empty done read, or both at once.
      return r.value && r.value.byteLength > 0 ? { done: false, value: r.value } : { done: true, value: undefined };
    },
    cancel: () => byob.cancel(),
    releaseLock: () => byob.releaseLock(),
  };
}

export function hashedChunks(body: ReadableStream<Uint8Array>): HashedChunks {
  // Typed through workers-types' global class: the DOM lib's Crypto type (also in tsconfig) lacks the Workers extension.
  const Digest = (crypto as unknown as { DigestStream: typeof DigestStream }).DigestStream;
  const digest = new Digest("SHA-256");
  const writer = digest.getWriter();
  let bytes = 0;
  let complete = false;

  async function* chunks(): AsyncGenerator<Uint8Array> {
    const reader = largeReads(body);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.byteLength === 0) continue;
        await writer.write(value);
        bytes += value.byteLength;
        yield value;
      }
      complete = true;
      await writer.close();
    } finally {
      // The loader stopped early (bad header, abort): stop the R2 transfer too.
      if (!complete) {
        await reader.cancel().catch(() => undefined);
        await writer.abort().catch(() => undefined);
      }
      reader.releaseLock();
    }
  }

  return {
    chunks: chunks(),
    async result() {
      if (!complete) throw new Error(`the loader stopped after ${bytes} bytes, before the end of the object`);
      const hex = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return { sha256: hex, bytes };
    },
  };
}

/**
 * An R2 object body as the chunk stream the engine's loader consumes, hashed with SHA-256 on the way
 * (crypto.DigestStream, so the weights are never buffered a second time).
 */
export interface HashedChunks {
  chunks: AsyncIterable<Uint8Array>;
  /** Hex SHA-256 and byte count of everything the loader consumed; rejects if the stream was not read to the end. */
  result(): Promise<{ sha256: string; bytes: number }>;
}

export function hashedChunks(body: ReadableStream<Uint8Array>): HashedChunks {
  // Typed through workers-types' global class: the DOM lib's Crypto type (also in tsconfig) lacks the Workers extension.
  const Digest = (crypto as unknown as { DigestStream: typeof DigestStream }).DigestStream;
  const digest = new Digest("SHA-256");
  const writer = digest.getWriter();
  let bytes = 0;
  let complete = false;

  async function* chunks(): AsyncGenerator<Uint8Array> {
    const reader = body.getReader();
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

/** The R2 body reader: large reads from a byte stream (R2's), any stream's own chunks otherwise, hashed on the way. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashedChunks } from "../../worker/runtime/r2-source.js";

const MiB = 1 << 20;

/** Bytes that differ from block to block (a misplaced or repeated read changes the hash). */
function patterned(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < 4096 && i < n; i++) bytes[i] = (i * 7) & 0xff;
  for (let at = 4096; at < n; at *= 2) bytes.copyWithin(at, 0, Math.min(at, n - at));
  const view = new DataView(bytes.buffer);
  for (let at = 0; at + 4 <= n; at += 1000) view.setUint32(at, at);
  return bytes;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A byte stream handing `bytes` out in `piece`-sized chunks, as workerd hands out an R2 body (4 KiB pieces). */
function byteStream(bytes: Uint8Array, piece: number, onCancel?: () => void): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
    cancel: onCancel,
  });
}

/** Each chunk's length and a copy of its bytes, taken before the next chunk is asked for (its buffer is reused). */
async function consume(chunks: AsyncIterable<Uint8Array>): Promise<{ sizes: number[]; joined: Uint8Array<ArrayBuffer> }> {
  const sizes: number[] = [];
  const parts: Uint8Array[] = [];
  for await (const c of chunks) {
    sizes.push(c.byteLength);
    parts.push(c.slice());
  }
  const joined = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let off = 0;
  for (const p of parts) joined.set(p, (off += p.byteLength) - p.byteLength);
  return { sizes, joined };
}

describe("hashedChunks", () => {
  it("reads a byte stream of small pieces in 1 MiB reads, every byte once, and hashes them", async () => {
    const bytes = patterned(3 * MiB + 12_345);
    const source = hashedChunks(byteStream(bytes, 4096));
    const { sizes, joined } = await consume(source.chunks);
    expect(sizes).toEqual([MiB, MiB, MiB, 12_345]);
    expect(await sha256(joined)).toBe(await sha256(bytes));
    expect(await source.result()).toEqual({ sha256: await sha256(bytes), bytes: bytes.byteLength });
  });

  it("reads an R2 object body the same way", async () => {
    const bytes = patterned(2 * MiB + 1);
    await env.MODELS.put("test/r2-source.bin", bytes);
    try {
      const object = await env.MODELS.get("test/r2-source.bin");
      const source = hashedChunks(object!.body);
      const { sizes, joined } = await consume(source.chunks);
      expect(sizes).toEqual([MiB, MiB, 1]);
      expect(await sha256(joined)).toBe(await sha256(bytes));
      expect((await source.result()).sha256).toBe(await sha256(bytes));
    } finally {
      await env.MODELS.delete("test/r2-source.bin");
    }
  });

  it("takes a stream that is not a byte stream chunk by chunk", async () => {
    const bytes = patterned(10_000);
    const pieces = [bytes.subarray(0, 3000), bytes.subarray(3000, 3000), bytes.subarray(3000)];
    const source = hashedChunks(new ReadableStream({ start: (c) => { for (const p of pieces) c.enqueue(p); c.close(); } }));
    const { sizes, joined } = await consume(source.chunks);
    expect(sizes).toEqual([3000, 7000]); // the empty chunk is skipped
    expect(await sha256(joined)).toBe(await sha256(bytes));
    expect((await source.result()).sha256).toBe(await sha256(bytes));
  });

  it("cancels the body when the loader stops early, and has no hash to give", async () => {
    let cancelled = false;
    const source = hashedChunks(byteStream(patterned(4 * MiB), 4096, () => (cancelled = true)));
    for await (const c of source.chunks) {
      expect(c.byteLength).toBe(MiB);
      break;
    }
    expect(cancelled).toBe(true);
    await expect(source.result()).rejects.toThrow(/stopped after 1048576 bytes/);
  });
});

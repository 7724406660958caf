/**
 * The GGUF layer through the real wasm: `readGgufHeader` on the shared files and on writer output (every metadata
 * type round-trips), and the `GgufLoader` region/commit protocol with odd chunk sizes, checking the tensor bytes
 * land in place in WASM memory.
 */
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { GgufWriter } from "../../lib/gguf/writer.js";
import { engineCall } from "../../lib/engine/errors.js";
import { ModelFormatError, UnsupportedModelError } from "../../lib/errors.js";
import { engineMemory, loadEngine } from "../helpers/engine.js";

type Engine = Awaited<ReturnType<typeof loadEngine>>;
interface HeaderJson {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: Record<string, any>;
  types: Record<string, string>;
  tensors?: { name: string; type: string; dims: number[]; offset: number; bytes: number }[];
}

const MODELS = new URL("../../../shared/models/", import.meta.url);
const shared = (name: string): Uint8Array | undefined => {
  const url = new URL(name, MODELS);
  return existsSync(url) ? new Uint8Array(readFileSync(url)) : undefined;
};

let e: Engine;
const header = (bytes: Uint8Array, tensors = true): HeaderJson => e.readGgufHeader(bytes, tensors) as HeaderJson;
/** An engine call whose EngineError becomes the library's typed error. */
const call = (fn: () => unknown) => () => engineCall(fn);

beforeAll(async () => {
  e = await loadEngine();
});

describe("readGgufHeader on the shared files", () => {
  it.skipIf(!shared("stories260K.gguf"))("stories260K.gguf", () => {
    const h = header(shared("stories260K.gguf")!);
    expect([h.version, h.alignment, h.dataOffset % 32]).toEqual([3, 32, 0]);
    expect(h.metadata["general.architecture"]).toBe("llama");
    expect(h.metadata["llama.embedding_length"]).toBe(64);
    expect(Math.fround(h.metadata["llama.attention.layer_norm_rms_epsilon"])).toBe(Math.fround(1e-5));
    expect(h.metadata["tokenizer.ggml.tokens"]).toHaveLength(512);
    expect(h.metadata["tokenizer.ggml.tokens"].slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(h.metadata["tokenizer.ggml.token_type"]).toBeInstanceOf(Int32Array); // typed arrays, not JSON
    expect(h.metadata["tokenizer.ggml.scores"]).toBeInstanceOf(Float32Array);
    expect([...h.metadata["tokenizer.ggml.token_type"].slice(0, 4)]).toEqual([2, 3, 3, 6]);
    expect(Object.keys(h.metadata)[0]).toBe("tokenizer.ggml.tokens"); // file order
    expect(h.tensors).toHaveLength(48);
    expect(h.tensors![0]).toEqual({ name: "token_embd.weight", type: "F32", dims: [64, 512], offset: 0, bytes: 131072 });
    expect(header(shared("stories260K.gguf")!, false).tensors).toBeUndefined();
  });

  it.skipIf(!shared("ggml-vocab-gpt-2.gguf"))("vocabulary-only files", () => {
    const g = header(shared("ggml-vocab-gpt-2.gguf")!);
    expect(g.tensors).toEqual([]);
    expect(g.metadata["tokenizer.ggml.model"]).toBe("gpt2");
    expect(g.metadata["tokenizer.ggml.tokens"]).toHaveLength(50257);
    expect(g.metadata["tokenizer.ggml.merges"]).toHaveLength(50000);
    expect(g.metadata["tokenizer.ggml.merges"][0]).toBe("Ġ t");
    const s = header(shared("ggml-vocab-llama-spm.gguf")!);
    expect(s.metadata["tokenizer.ggml.tokens"][29871]).toBe("▁");
    expect(s.metadata["tokenizer.ggml.add_bos_token"]).toBe(true);
  });

  it("reports malformed input as a GGUF error naming the field", async () => {
    expect(call(() => e.readGgufHeader(new TextEncoder().encode("GGML\x03\0\0\0"), false))).toThrow(ModelFormatError);
    expect(call(() => e.readGgufHeader(new TextEncoder().encode("GGML\x03\0\0\0"), false))).toThrow(/GGUF: bad magic in magic at offset 0/);
    const v1 = new Uint8Array([0x47, 0x47, 0x55, 0x46, 1, 0, 0, 0]);
    expect(call(() => e.readGgufHeader(v1, false))).toThrow(UnsupportedModelError);
    expect(call(() => e.readGgufHeader(v1, false))).toThrow(/unsupported version.*v1/);
    const cut = (await new GgufWriter().addMetadata("general.name", "x").toBytes()).subarray(0, 30);
    expect(call(() => e.readGgufHeader(cut, false))).toThrow(/truncated while reading metadata\[0\]\.key.*need/);
    try {
      e.readGgufHeader(cut, false);
    } catch (err) {
      expect(err).toBeInstanceOf(e.EngineError);
      expect((err as (typeof e.EngineError)["prototype"]).neededBytes).toBeGreaterThan(30); // how much a reader must have
      (err as (typeof e.EngineError)["prototype"]).free();
    }
  });
});

describe("GGUF writer → readGgufHeader round trip", () => {
  it("keeps every metadata type, typed and nested arrays, and tensor layout", async () => {
    const w = new GgufWriter({ alignment: 64 });
    w.addMetadata("t.u8", 255, "u8")
      .addMetadata("t.i8", -128, "i8")
      .addMetadata("t.u16", 65535, "u16")
      .addMetadata("t.i16", -32768, "i16")
      .addMetadata("t.u32", 4294967295, "u32")
      .addMetadata("t.i32", -2147483648, "i32")
      .addMetadata("t.f32", 0.1, "f32")
      .addMetadata("t.bool", false)
      .addMetadata("t.string", 'quote " backslash \\ newline \n tab \t ctrl \u0001 ▁ 日本 🦙')
      .addMetadata("t.u64", 2n ** 53n - 1n, "u64")
      .addMetadata("t.i64", -(2n ** 40n), "i64")
      .addMetadata("t.f64", Math.PI, "f64")
      .addMetadata("t.arr.u8", new Uint8Array([0, 1, 255]))
      .addMetadata("t.arr.i8", [-1, 2], "array<i8>")
      .addMetadata("t.arr.u16", new Uint16Array([1, 65535]))
      .addMetadata("t.arr.i16", new Int16Array([-2, 3]))
      .addMetadata("t.arr.u32", new Uint32Array([7, 4294967295]))
      .addMetadata("t.arr.i32", new Int32Array([-5, 6]))
      .addMetadata("t.arr.f32", new Float32Array([1.5, -0.25, NaN]))
      .addMetadata("t.arr.bool", [true, false])
      .addMetadata("t.arr.str", ["a", "", "▁b", "<0x0A>"])
      .addMetadata("t.arr.u64", new BigUint64Array([1n, 2n ** 40n]))
      .addMetadata("t.arr.i64", new BigInt64Array([-1n]))
      .addMetadata("t.arr.f64", new Float64Array([1e300, -1e-300]))
      .addMetadata("t.arr.nested", [[1, 2], [3]], "array<array<u16>>")
      .addMetadata("t.arr.empty", [], "array<string>");
    const a = new Uint8Array(12).fill(7);
    const b = new Uint8Array(34 * 2).fill(9);
    w.addTensor("a", [3], "F32", a).addTensor("b", [32, 2], "Q8_0", () => [b.subarray(0, 10), b.subarray(10)]);
    const bytes = await w.toBytes();
    const h = header(bytes);
    expect(h.alignment).toBe(64);
    expect(h.dataOffset % 64).toBe(0);
    const m = h.metadata;
    expect(Object.keys(m)).toEqual(["general.alignment", ...Object.keys(m).filter((k) => k.startsWith("t."))]);
    const list = (k: string): unknown[] => Array.from(m[k] as ArrayLike<unknown>);
    expect([m["t.u8"], m["t.i8"], m["t.u16"], m["t.i16"], m["t.u32"], m["t.i32"]]).toEqual([255, -128, 65535, -32768, 4294967295, -2147483648]);
    expect(Math.fround(m["t.f32"])).toBe(Math.fround(0.1));
    expect(m["t.bool"]).toBe(false);
    expect(m["t.string"]).toBe('quote " backslash \\ newline \n tab \t ctrl \u0001 ▁ 日本 🦙');
    expect(m["t.u64"]).toBe(2 ** 53 - 1);
    expect(m["t.i64"]).toBe(-(2 ** 40));
    expect(m["t.f64"]).toBe(Math.PI);
    expect(m["t.arr.u8"]).toEqual(new Uint8Array([0, 1, 255]));
    expect(m["t.arr.i8"]).toEqual(new Int8Array([-1, 2]));
    expect(m["t.arr.u16"]).toEqual(new Uint16Array([1, 65535]));
    expect(m["t.arr.i16"]).toEqual(new Int16Array([-2, 3]));
    expect(m["t.arr.u32"]).toEqual(new Uint32Array([7, 4294967295]));
    expect(m["t.arr.i32"]).toEqual(new Int32Array([-5, 6]));
    expect(m["t.arr.f32"]).toEqual(new Float32Array([1.5, -0.25, NaN]));
    expect(m["t.arr.bool"]).toEqual([true, false]);
    expect(m["t.arr.str"]).toEqual(["a", "", "▁b", "<0x0A>"]);
    expect(list("t.arr.u64")).toEqual([1, 2 ** 40]);
    expect(list("t.arr.i64")).toEqual([-1]);
    expect(m["t.arr.f64"]).toEqual(new Float64Array([1e300, -1e-300]));
    expect(m["t.arr.nested"]).toEqual([new Uint16Array([1, 2]), new Uint16Array([3])]);
    expect(m["t.arr.empty"]).toEqual([]);
    // Each value's GGUF type, spelled as the writer takes it (scripts/requantize.mjs rewrites files with them).
    expect(h.types).toMatchObject({ "t.u8": "u8", "t.i64": "i64", "t.f32": "f32", "t.bool": "bool", "t.string": "string" });
    expect(h.types).toMatchObject({ "t.arr.u64": "array<u64>", "t.arr.str": "array<string>", "t.arr.nested": "array<array<u16>>" });
    expect(h.tensors).toEqual([
      { name: "a", type: "F32", dims: [3], offset: 0, bytes: 12 },
      { name: "b", type: "Q8_0", dims: [32, 2], offset: 64, bytes: 68 },
    ]);
    expect(bytes.length).toBe(h.dataOffset + 64 + 128);
    expect(bytes.subarray(h.dataOffset, h.dataOffset + 12)).toEqual(a);
    expect(bytes.subarray(h.dataOffset + 64, h.dataOffset + 64 + 68)).toEqual(b);
  });

  it("refuses values that do not fit their type and tensors of the wrong size", async () => {
    await expect(new GgufWriter().addMetadata("x", 256, "u8").toBytes()).rejects.toThrow(/256 is not a valid u8/);
    expect(() => new GgufWriter().addMetadata("x", 1, "array<q>")).toThrow(/unknown value type/);
    expect(() => new GgufWriter().addTensor("t", [33], "Q4_0", new Uint8Array(18))).toThrow(/multiple of the Q4_0 block size/);
    expect(() => new GgufWriter().addTensor("t", [4], "F32", new Uint8Array(15))).toThrow(/needs 16 bytes, got 15/);
    await expect(new GgufWriter().addTensor("t", [4], "F32", () => new Uint8Array(8)).toBytes()).rejects.toThrow(/producer gave 8/);
  });
});

/** Feeds `bytes` through a GgufLoader in chunks of `chunk(i)` bytes; returns the loader and where the tensor
 *  data section starts in WASM memory (derived from the first region that points into it). */
function stream(bytes: Uint8Array, chunk: (i: number) => number) {
  const loader = new e.GgufLoader(0);
  let pos = 0, i = 0, dataOffset: number | undefined, arenaBase: number | undefined, headerSeenAt: number | undefined;
  let expectedPtr: number | undefined;
  const problems: string[] = []; // collected, not asserted per chunk: expect() in a 170k-iteration loop is slow
  while (pos < bytes.length) {
    const want = Math.min(chunk(i++), bytes.length - pos);
    const ptr = loader.nextRegion(want);
    const len = loader.regionLen();
    if (len <= 0 || len > want) problems.push(`region of ${len} bytes for ${want} wanted at ${pos}`);
    if (dataOffset !== undefined && pos >= dataOffset) {
      // In the data phase consecutive regions are consecutive bytes of one arena: the data is written in place.
      if (expectedPtr !== undefined && ptr !== expectedPtr) problems.push(`region at ${ptr}, expected ${expectedPtr} (file offset ${pos})`);
      arenaBase ??= ptr - (pos - dataOffset);
      expectedPtr = ptr + len;
    }
    new Uint8Array(engineMemory().buffer, ptr, len).set(bytes.subarray(pos, pos + len));
    loader.commit(len);
    pos += len;
    if (dataOffset === undefined && loader.headerReady()) {
      headerSeenAt = pos;
      dataOffset = (loader.readHeader(false) as HeaderJson).dataOffset;
    }
  }
  expect(problems.slice(0, 5)).toEqual([]);
  expect(loader.bytesReceived()).toBe(bytes.length);
  return { loader, arenaBase, headerSeenAt };
}

describe("GgufLoader region/commit protocol", () => {
  const file = () => shared("stories260K.gguf");

  it.skipIf(!file())("puts every tensor byte in place, whatever the chunk sizes", () => {
    const bytes = file()!;
    const h = header(bytes);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 9973) + 1;
    for (const [label, chunk] of [["7 bytes", () => 7], ["64 KiB", () => 65536], ["random", random], ["1 byte then 1 MiB", (i: number) => (i < 3000 ? 1 : 1 << 20)]] as const) {
      const { loader, arenaBase, headerSeenAt } = stream(bytes, chunk);
      expect(loader.headerReady(), label).toBe(true);
      expect(headerSeenAt!, label).toBeLessThan(200_000);
      expect(loader.expectedSize(), label).toBe(bytes.length);
      expect(loader.readHeader(true), label).toEqual(h);
      expect(arenaBase! % 64, label).toBe(0);
      const inMemory = new Uint8Array(engineMemory().buffer, arenaBase!, bytes.length - h.dataOffset);
      expect(Buffer.compare(inMemory, bytes.subarray(h.dataOffset)), label).toBe(0);
      loader.free();
    }
  });

  it.skipIf(!file())("reports state before the header and refuses bad input", () => {
    const loader = new e.GgufLoader(0);
    expect(loader.headerReady()).toBe(false);
    expect(loader.expectedSize()).toBeNaN();
    expect(call(() => loader.readHeader(false))).toThrow(/not been received/);
    loader.nextRegion(10);
    expect(call(() => loader.commit(11))).toThrow(/committed 11 bytes but the last region was 10/);
    loader.free();

    const junk = new Uint8Array(70_000).fill(0x41);
    const bad = new e.GgufLoader(0);
    expect(call(() => {
      for (let pos = 0; pos < junk.length; ) {
        bad.nextRegion(junk.length - pos);
        const n = bad.regionLen();
        bad.commit(n);
        pos += n;
      }
    })).toThrow(/GGUF: bad magic/);
    bad.free();

    // A file larger than maxBytes is refused once its header says so.
    const small = new e.GgufLoader(100_000);
    expect(call(() => {
      const bytes = file()!;
      for (let pos = 0; pos < bytes.length; ) {
        const ptr = small.nextRegion(bytes.length - pos);
        const n = small.regionLen();
        new Uint8Array(engineMemory().buffer, ptr, n).set(bytes.subarray(pos, pos + n));
        small.commit(n);
        pos += n;
      }
    })).toThrow(/more than the limit of 100000 bytes/);
    small.free();
  });
});

/**
 * GGUF v3 writer, runtime-neutral: the file comes out as a stream of byte chunks (header, then each tensor's data and
 * padding), so a model can be written to disk, uploaded, or fed straight into the engine's loader without ever
 * existing as one buffer. Tensor data is given as bytes or as a (possibly async) producer called once, in order.
 *
 *   const w = new GgufWriter();
 *   w.addMetadata("general.architecture", "llama");
 *   w.addMetadata("llama.block_count", 30, "u32");
 *   w.addMetadata("tokenizer.ggml.scores", scores, "array<f32>");
 *   w.addTensor("token_embd.weight", [dim, vocab], "Q8_0", bytes | (() => bytes | Iterable | AsyncIterable));
 *   for await (const chunk of w.chunks()) …    // or w.toBytes() for small files
 */

/** GGUF metadata value type ids. */
export const GGUF_VALUE_TYPE = Object.freeze({
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
});
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, "array">;

/** ggml tensor types: id, elements per block, bytes per block (ggml's layouts; wasm/src/tensor.rs mirrors these). */
export const GGML_TYPES = Object.freeze({
  F32: { id: 0, blockLen: 1, blockBytes: 4 },
  F16: { id: 1, blockLen: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockLen: 32, blockBytes: 18 },
  Q4_1: { id: 3, blockLen: 32, blockBytes: 20 },
  Q5_0: { id: 6, blockLen: 32, blockBytes: 22 },
  Q5_1: { id: 7, blockLen: 32, blockBytes: 24 },
  Q8_0: { id: 8, blockLen: 32, blockBytes: 34 },
  Q8_1: { id: 9, blockLen: 32, blockBytes: 36 },
  Q2_K: { id: 10, blockLen: 256, blockBytes: 84 },
  Q3_K: { id: 11, blockLen: 256, blockBytes: 110 },
  Q4_K: { id: 12, blockLen: 256, blockBytes: 144 },
  Q5_K: { id: 13, blockLen: 256, blockBytes: 176 },
  Q6_K: { id: 14, blockLen: 256, blockBytes: 210 },
  Q8_K: { id: 15, blockLen: 256, blockBytes: 292 },
  IQ4_NL: { id: 20, blockLen: 32, blockBytes: 18 },
  IQ4_XS: { id: 23, blockLen: 256, blockBytes: 136 },
  BF16: { id: 30, blockLen: 1, blockBytes: 2 },
});
export type GgmlTypeName = keyof typeof GGML_TYPES;

/** llama.cpp's `general.file_type` (`llama_ftype`): the weights' main format. One table for the catalog, the
 *  converters and the fixture generator. */
export const LLAMA_FILE_TYPES = Object.freeze({
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_S: 11, Q3_K_M: 12, Q3_K_L: 13,
  Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18, IQ4_NL: 25, IQ4_XS: 30, BF16: 32,
});
export type LlamaFileTypeName = keyof typeof LLAMA_FILE_TYPES;

const SCALAR_BYTES: Record<GgufScalarType, number> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, string: 0, u64: 8, i64: 8, f64: 8,
};

type TypedArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigUint64Array | BigInt64Array;

const TYPED_ARRAY_TYPE = new Map<unknown, GgufScalarType>([
  [Uint8Array, "u8"], [Int8Array, "i8"], [Uint16Array, "u16"], [Int16Array, "i16"], [Uint32Array, "u32"],
  [Int32Array, "i32"], [Float32Array, "f32"], [Float64Array, "f64"], [BigUint64Array, "u64"], [BigInt64Array, "i64"],
]);

export type MetadataValue = string | number | boolean | bigint | TypedArray | readonly MetadataValue[];
type TypeSpec = { type: GgufScalarType } | { type: "array"; elem: TypeSpec };

export type TensorChunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
export type TensorSource = Uint8Array | (() => TensorChunks | Promise<TensorChunks>);

interface TensorEntry {
  name: string;
  dims: number[];
  typeName: GgmlTypeName;
  size: number;
  source: TensorSource;
  offset: number;
}

export class GgufWriterError extends Error {}
const fail = (message: string): never => {
  throw new GgufWriterError(`GGUF writer: ${message}`);
};

/** Byte size of a tensor of `dims` (innermost first) of ggml type `typeName`. */
export function tensorByteSize(dims: readonly number[], typeName: string): number {
  const t = GGML_TYPES[typeName as GgmlTypeName] ?? fail(`unknown ggml type ${typeName}`);
  if (dims.length < 1 || dims.length > 4 || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`dims must be 1 to 4 non-negative integers, got ${JSON.stringify(dims)}`);
  }
  if (dims[0]! % t.blockLen !== 0) fail(`row length ${dims[0]} is not a multiple of the ${typeName} block size ${t.blockLen}`);
  const n = dims.reduce((a, b) => a * b, 1);
  return (n / t.blockLen) * t.blockBytes;
}

/** Parses a type spec: "u32", "string", "array<f32>", "array<array<u8>>". */
function parseTypeSpec(spec: string): TypeSpec {
  const m = /^array<(.+)>$/.exec(spec);
  if (m) return { type: "array", elem: parseTypeSpec(m[1]!) };
  if (!(spec in GGUF_VALUE_TYPE) || spec === "array") fail(`unknown value type "${spec}"`);
  return { type: spec as GgufScalarType };
}

/** The type a JS value gets when none is given. */
function inferType(value: MetadataValue): TypeSpec {
  if (typeof value === "string") return { type: "string" };
  if (typeof value === "boolean") return { type: "bool" };
  if (typeof value === "bigint") return { type: value < 0n ? "i64" : "u64" };
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return { type: "f32" };
    if (value >= 0 && value <= 0xffffffff) return { type: "u32" };
    if (value >= -0x80000000 && value < 0) return { type: "i32" };
    return { type: "f64" }; // integers beyond 32 bits: pass "u64"/"i64" explicitly to keep them integral
  }
  const typed = TYPED_ARRAY_TYPE.get((value as object).constructor);
  if (typed) return { type: "array", elem: { type: typed } };
  if (Array.isArray(value)) {
    if (value.length === 0) fail("give the type of an empty array explicitly");
    if (value.every((v) => typeof v === "string")) return { type: "array", elem: { type: "string" } };
    if (value.every((v) => typeof v === "boolean")) return { type: "array", elem: { type: "bool" } };
    if (value.every((v) => typeof v === "number")) {
      if (!value.every((v) => Number.isInteger(v))) return { type: "array", elem: { type: "f32" } };
      return { type: "array", elem: { type: value.some((v) => (v as number) < 0) ? "i32" : "u32" } };
    }
    if (value.every((v) => Array.isArray(v) || ArrayBuffer.isView(v))) return { type: "array", elem: inferType(value[0] as MetadataValue) };
  }
  return fail(`cannot infer the GGUF type of ${Object.prototype.toString.call(value)}`);
}

const utf8 = new TextEncoder();

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  len = 0;

  #reserve(n: number): void {
    if (this.len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.len);
    this.len += b.length;
  }

  scalar(type: GgufScalarType, v: unknown, what: string): void {
    this.#reserve(8);
    const d = this.#view;
    const o = this.len;
    const int = (lo: number, hi: number): number => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) fail(`${what}: ${String(v)} is not a valid ${type}`);
      return v as number;
    };
    switch (type) {
      case "u8": d.setUint8(o, int(0, 0xff)); break;
      case "i8": d.setInt8(o, int(-0x80, 0x7f)); break;
      case "u16": d.setUint16(o, int(0, 0xffff), true); break;
      case "i16": d.setInt16(o, int(-0x8000, 0x7fff), true); break;
      case "u32": d.setUint32(o, int(0, 0xffffffff), true); break;
      case "i32": d.setInt32(o, int(-0x80000000, 0x7fffffff), true); break;
      case "f32": d.setFloat32(o, Number(v), true); break;
      case "f64": d.setFloat64(o, Number(v), true); break;
      case "bool":
        if (typeof v !== "boolean") fail(`${what}: ${String(v)} is not a boolean`);
        d.setUint8(o, v ? 1 : 0);
        break;
      case "u64": d.setBigUint64(o, BigInt(v as number | bigint), true); break;
      case "i64": d.setBigInt64(o, BigInt(v as number | bigint), true); break;
      default: fail(`${what}: bad scalar type ${type}`);
    }
    this.len += SCALAR_BYTES[type];
  }

  string(s: string): void {
    const b = utf8.encode(s);
    this.scalar("u64", b.length, "string length");
    this.bytes(b);
  }

  value(spec: TypeSpec, v: unknown, what: string): void {
    if (spec.type === "string") {
      if (typeof v !== "string") fail(`${what}: expected a string`);
      this.string(v as string);
    } else if (spec.type === "array") {
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) fail(`${what}: expected an array`);
      const arr = v as ArrayLike<unknown>;
      this.scalar("u32", GGUF_VALUE_TYPE[spec.elem.type], what);
      this.scalar("u64", arr.length, what);
      const typed = TYPED_ARRAY_TYPE.get((v as object).constructor);
      if (typed !== undefined && typed === spec.elem.type) {
        // Same element type: copy the little-endian bytes in one go (every supported host is little-endian).
        const t = v as TypedArray;
        this.bytes(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
      } else {
        for (let i = 0; i < arr.length; i++) this.value(spec.elem, arr[i], `${what}[${i}]`);
      }
    } else {
      this.scalar(spec.type, v, what);
    }
  }

  take(): Uint8Array {
    return this.#buf.subarray(0, this.len);
  }
}

export class GgufWriter {
  readonly alignment: number;
  readonly #metadata: Array<{ key: string; spec: TypeSpec; value: MetadataValue }> = [];
  readonly #tensors: TensorEntry[] = [];
  #dataSize = 0;

  constructor({ alignment = 32 }: { alignment?: number } = {}) {
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
      fail(`alignment must be a power of two, got ${alignment}`);
    }
    this.alignment = alignment;
    if (alignment !== 32) this.addMetadata("general.alignment", alignment, "u32");
  }

  /** `type`: "u8".."f64", "bool", "string", "array<T>" (nested allowed); inferred from the value when omitted. */
  addMetadata(key: string, value: MetadataValue, type?: string): this {
    if (typeof key !== "string" || key.length === 0) fail("metadata key must be a non-empty string");
    if (this.#metadata.some((m) => m.key === key)) fail(`duplicate metadata key ${key}`);
    const spec = type === undefined ? inferType(value) : parseTypeSpec(type);
    this.#metadata.push({ key, spec, value });
    return this;
  }

  /** `dims` innermost first (`[cols, rows]`); `source`: the bytes, or a producer called once while writing. */
  addTensor(name: string, dims: readonly number[], typeName: GgmlTypeName, source: TensorSource): this {
    if (this.#tensors.some((t) => t.name === name)) fail(`duplicate tensor ${name}`);
    const size = tensorByteSize(dims, typeName);
    if (source instanceof Uint8Array && source.length !== size) {
      fail(`tensor ${name} ${typeName}${JSON.stringify(dims)} needs ${size} bytes, got ${source.length}`);
    }
    if (!(source instanceof Uint8Array) && typeof source !== "function") fail(`tensor ${name}: source must be a Uint8Array or a function`);
    const offset = this.#dataSize;
    this.#tensors.push({ name, dims: [...dims], typeName, size, source, offset });
    this.#dataSize = this.#align(offset + size);
    return this;
  }

  #align(n: number): number {
    return Math.ceil(n / this.alignment) * this.alignment;
  }

  /** The header, padded to the alignment (the data section starts right after it). */
  headerBytes(): Uint8Array {
    const s = new ByteSink();
    s.bytes(utf8.encode("GGUF"));
    s.scalar("u32", 3, "version");
    s.scalar("u64", this.#tensors.length, "tensor count");
    s.scalar("u64", this.#metadata.length, "metadata count");
    for (const { key, spec, value } of this.#metadata) {
      s.string(key);
      s.scalar("u32", GGUF_VALUE_TYPE[spec.type], key);
      s.value(spec, value, key);
    }
    for (const t of this.#tensors) {
      s.string(t.name);
      s.scalar("u32", t.dims.length, t.name);
      for (const d of t.dims) s.scalar("u64", d, t.name);
      s.scalar("u32", GGML_TYPES[t.typeName].id, t.name);
      s.scalar("u64", t.offset, t.name);
    }
    s.bytes(new Uint8Array(this.#align(s.len) - s.len));
    return s.take();
  }

  /** Bytes of tensor data (after the header). */
  get dataSize(): number {
    return this.#dataSize;
  }

  /** The whole file as chunks: header, then every tensor's data and padding, checking each producer's byte count. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    yield this.headerBytes();
    for (const t of this.#tensors) {
      const out = typeof t.source === "function" ? await t.source() : t.source;
      const parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = out instanceof Uint8Array ? [out] : out;
      let n = 0;
      for await (const c of parts) {
        if (!(c instanceof Uint8Array)) fail(`tensor ${t.name}: producer yielded a non-Uint8Array`);
        n += c.length;
        if (n > t.size) break;
        yield c;
      }
      if (n !== t.size) fail(`tensor ${t.name} ${t.typeName}${JSON.stringify(t.dims)} needs ${t.size} bytes, producer gave ${n}`);
      const pad = this.#align(t.size) - t.size;
      if (pad) yield new Uint8Array(pad);
    }
  }

  /** The whole file in memory (small files, tests). */
  async toBytes(): Promise<Uint8Array> {
    const header = this.headerBytes();
    const out = new Uint8Array(header.length + this.#dataSize);
    let at = 0;
    for await (const c of this.chunks()) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

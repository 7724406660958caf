// GGUF v3 writer (little-endian). Metadata of every GGUF value type (incl. typed and nested arrays), tensors
// given as bytes or as a producer called only while writing, so a large model streams to disk tensor by tensor.
//
//   const w = new GgufWriter();                     // { alignment: 32 } by default
//   w.addMetadata("general.architecture", "llama");
//   w.addMetadata("llama.block_count", 30, "u32");
//   w.addMetadata("tokenizer.ggml.token_type", Int32Array.from(types));          // array<i32> inferred
//   w.addMetadata("tokenizer.ggml.scores", scores, "array<f32>");
//   w.addTensor("token_embd.weight", [dim, vocab], "Q8_0", bytes | (() => bytes | Iterable<Uint8Array>));
//   await w.write(path)  /  w.toBytes()
import { openSync, writeSync, closeSync, renameSync, rmSync } from "node:fs";

/** GGUF metadata value type ids. */
export const GGUF_VALUE_TYPE = Object.freeze({
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
});
const VALUE_TYPE_NAME = Object.fromEntries(Object.entries(GGUF_VALUE_TYPE).map(([k, v]) => [v, k]));

/** ggml tensor types: id, elements per block, bytes per block. */
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
  BF16: { id: 30, blockLen: 1, blockBytes: 2 },
});

const SCALAR_BYTES = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8 };
const TYPED_ARRAY_TYPE = new Map([
  [Uint8Array, "u8"], [Int8Array, "i8"], [Uint16Array, "u16"], [Int16Array, "i16"], [Uint32Array, "u32"],
  [Int32Array, "i32"], [Float32Array, "f32"], [Float64Array, "f64"], [BigUint64Array, "u64"], [BigInt64Array, "i64"],
]);

/** Byte size of a tensor of `dims` (innermost first) of ggml type `typeName`. */
export function tensorByteSize(dims, typeName) {
  const t = GGML_TYPES[typeName];
  if (!t) throw new Error(`GGUF writer: unknown ggml type ${typeName}`);
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 4 || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`GGUF writer: dims must be 1 to 4 non-negative integers, got ${JSON.stringify(dims)}`);
  }
  if (dims[0] % t.blockLen !== 0) {
    throw new Error(`GGUF writer: row length ${dims[0]} is not a multiple of the ${typeName} block size ${t.blockLen}`);
  }
  const n = dims.reduce((a, b) => a * b, 1);
  return (n / t.blockLen) * t.blockBytes;
}

/** Parses a type spec: "u32", "string", "array<f32>", "array<array<u8>>" → { type, elem? }. */
function parseTypeSpec(spec) {
  const m = /^array<(.+)>$/.exec(spec);
  if (m) return { type: "array", elem: parseTypeSpec(m[1]) };
  if (!(spec in GGUF_VALUE_TYPE) || spec === "array") throw new Error(`GGUF writer: unknown value type "${spec}"`);
  return { type: spec };
}

/** The type a JS value gets when none is given. */
function inferType(value) {
  if (typeof value === "string") return { type: "string" };
  if (typeof value === "boolean") return { type: "bool" };
  if (typeof value === "bigint") return { type: value < 0n ? "i64" : "u64" };
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return { type: "f32" };
    if (value >= 0 && value <= 0xffffffff) return { type: "u32" };
    if (value >= -0x80000000 && value < 0) return { type: "i32" };
    return { type: "f64" }; // integers beyond 32 bits: pass "u64"/"i64" explicitly to keep them integral
  }
  const typed = value && TYPED_ARRAY_TYPE.get(value.constructor);
  if (typed) return { type: "array", elem: { type: typed } };
  if (Array.isArray(value)) {
    if (value.length === 0) throw new Error("GGUF writer: give the type of an empty array explicitly");
    if (value.every((v) => typeof v === "string")) return { type: "array", elem: { type: "string" } };
    if (value.every((v) => typeof v === "boolean")) return { type: "array", elem: { type: "bool" } };
    if (value.every((v) => typeof v === "number")) {
      if (!value.every(Number.isInteger)) return { type: "array", elem: { type: "f32" } };
      return { type: "array", elem: { type: value.some((v) => v < 0) ? "i32" : "u32" } };
    }
    if (value.every((v) => Array.isArray(v) || ArrayBuffer.isView(v))) return { type: "array", elem: inferType(value[0]) };
  }
  throw new Error(`GGUF writer: cannot infer the GGUF type of ${Object.prototype.toString.call(value)}`);
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  constructor() {
    this.buf = new Uint8Array(1 << 16);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  bytes(b) {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  scalar(type, v, what) {
    this.reserve(8);
    const d = this.view, o = this.len;
    const int = (lo, hi) => {
      if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`GGUF writer: ${what}: ${v} is not a valid ${type}`);
    };
    switch (type) {
      case "u8": int(0, 0xff); d.setUint8(o, v); break;
      case "i8": int(-0x80, 0x7f); d.setInt8(o, v); break;
      case "u16": int(0, 0xffff); d.setUint16(o, v, true); break;
      case "i16": int(-0x8000, 0x7fff); d.setInt16(o, v, true); break;
      case "u32": int(0, 0xffffffff); d.setUint32(o, v, true); break;
      case "i32": int(-0x80000000, 0x7fffffff); d.setInt32(o, v, true); break;
      case "f32": d.setFloat32(o, v, true); break;
      case "f64": d.setFloat64(o, v, true); break;
      case "bool":
        if (typeof v !== "boolean") throw new Error(`GGUF writer: ${what}: ${v} is not a boolean`);
        d.setUint8(o, v ? 1 : 0);
        break;
      case "u64": d.setBigUint64(o, BigInt(v), true); break;
      case "i64": d.setBigInt64(o, BigInt(v), true); break;
      default: throw new Error(`GGUF writer: ${what}: bad scalar type ${type}`);
    }
    this.len += SCALAR_BYTES[type];
  }
  string(s) {
    const b = new TextEncoder().encode(s);
    this.scalar("u64", b.length);
    this.bytes(b);
  }
  value(spec, v, what) {
    if (spec.type === "string") {
      if (typeof v !== "string") throw new Error(`GGUF writer: ${what}: expected a string`);
      this.string(v);
    } else if (spec.type === "array") {
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new Error(`GGUF writer: ${what}: expected an array`);
      this.scalar("u32", GGUF_VALUE_TYPE[spec.elem.type]);
      this.scalar("u64", v.length);
      const typed = TYPED_ARRAY_TYPE.get(v.constructor);
      if (typed === spec.elem.type) {
        // Same element type: copy the little-endian bytes in one go (hosts are little-endian).
        this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      } else {
        for (let i = 0; i < v.length; i++) this.value(spec.elem, v[i], `${what}[${i}]`);
      }
    } else {
      this.scalar(spec.type, v, what);
    }
  }
  take() {
    return this.buf.subarray(0, this.len);
  }
}

export class GgufWriter {
  constructor({ alignment = 32 } = {}) {
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
      throw new Error(`GGUF writer: alignment must be a power of two, got ${alignment}`);
    }
    this.alignment = alignment;
    this.metadata = []; // { key, spec, value }
    this.tensors = []; // { name, dims, typeName, size, source, offset }
    this.dataSize = 0;
    if (alignment !== 32) this.addMetadata("general.alignment", alignment, "u32");
  }

  /** `type`: "u8".."f64", "bool", "string", "array<T>" (nested allowed); inferred from the value when omitted. */
  addMetadata(key, value, type) {
    if (typeof key !== "string" || key.length === 0) throw new Error("GGUF writer: metadata key must be a non-empty string");
    if (this.metadata.some((m) => m.key === key)) throw new Error(`GGUF writer: duplicate metadata key ${key}`);
    const spec = type === undefined ? inferType(value) : parseTypeSpec(type);
    this.metadata.push({ key, spec, value });
    return this;
  }

  /** `dims` innermost first; `source`: the tensor's bytes, or a function returning them (a Uint8Array or an
   *  iterable of Uint8Array chunks), called once while writing. */
  addTensor(name, dims, typeName, source) {
    if (this.tensors.some((t) => t.name === name)) throw new Error(`GGUF writer: duplicate tensor ${name}`);
    const size = tensorByteSize(dims, typeName);
    if (source instanceof Uint8Array && source.length !== size) {
      throw new Error(`GGUF writer: tensor ${name} ${typeName}${JSON.stringify(dims)} needs ${size} bytes, got ${source.length}`);
    }
    if (!(source instanceof Uint8Array) && typeof source !== "function") {
      throw new Error(`GGUF writer: tensor ${name}: source must be a Uint8Array or a function`);
    }
    const offset = this.dataSize;
    this.tensors.push({ name, dims: [...dims], typeName, size, source, offset });
    this.dataSize = this.#align(offset + size);
    return this;
  }

  #align(n) {
    return Math.ceil(n / this.alignment) * this.alignment;
  }

  /** The header, padded to the alignment (the data section starts right after it). */
  headerBytes() {
    const s = new ByteSink();
    s.bytes(new TextEncoder().encode("GGUF"));
    s.scalar("u32", 3);
    s.scalar("u64", this.tensors.length);
    s.scalar("u64", this.metadata.length);
    for (const { key, spec, value } of this.metadata) {
      s.string(key);
      s.scalar("u32", GGUF_VALUE_TYPE[spec.type]);
      s.value(spec, value, key);
    }
    for (const t of this.tensors) {
      s.string(t.name);
      s.scalar("u32", t.dims.length);
      for (const d of t.dims) s.scalar("u64", d);
      s.scalar("u32", GGML_TYPES[t.typeName].id);
      s.scalar("u64", t.offset);
    }
    s.bytes(new Uint8Array(this.#align(s.len) - s.len));
    return s.take();
  }

  /** Total file size once written. */
  byteLength() {
    return this.headerBytes().length + this.dataSize;
  }

  /** Yields the tensor's bytes in chunks, checking the producer delivered exactly `size` bytes. */
  *#tensorChunks(t) {
    const out = typeof t.source === "function" ? t.source() : t.source;
    const chunks = out instanceof Uint8Array ? [out] : out;
    let n = 0;
    for (const c of chunks) {
      if (!(c instanceof Uint8Array)) throw new Error(`GGUF writer: tensor ${t.name}: producer yielded a non-Uint8Array`);
      n += c.length;
      if (n > t.size) break;
      yield c;
    }
    if (n !== t.size) throw new Error(`GGUF writer: tensor ${t.name} ${t.typeName}${JSON.stringify(t.dims)} needs ${t.size} bytes, producer gave ${n}`);
    const pad = this.#align(t.size) - t.size;
    if (pad) yield new Uint8Array(pad);
  }

  /** The whole file in memory (small files, tests). */
  toBytes() {
    const header = this.headerBytes();
    const out = new Uint8Array(header.length + this.dataSize);
    out.set(header);
    for (const t of this.tensors) {
      let at = header.length + t.offset;
      for (const c of this.#tensorChunks(t)) {
        out.set(c, at);
        at += c.length;
      }
    }
    return out;
  }

  /** Streams the file to `path` (through `path.tmp`, renamed when complete). Returns the byte count. */
  async write(path) {
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, "w");
    let total = 0;
    const put = (b) => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      total += b.length;
    };
    try {
      put(this.headerBytes());
      for (const t of this.tensors) for (const c of this.#tensorChunks(t)) put(c);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, path);
    return total;
  }
}

export { VALUE_TYPE_NAME };

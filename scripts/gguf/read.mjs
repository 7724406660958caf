// Reads a GGUF file's header in JavaScript, keeping every metadata value's exact GGUF type (the engine's JSON header
// drops them), so a file can be rewritten with lib/gguf/writer.ts and still load in llama.cpp, which checks key types.
import { closeSync, openSync, readSync, fstatSync } from "node:fs";

const SCALARS = {
  0: ["u8", 1, (d, o) => d.getUint8(o)],
  1: ["i8", 1, (d, o) => d.getInt8(o)],
  2: ["u16", 2, (d, o) => d.getUint16(o, true)],
  3: ["i16", 2, (d, o) => d.getInt16(o, true)],
  4: ["u32", 4, (d, o) => d.getUint32(o, true)],
  5: ["i32", 4, (d, o) => d.getInt32(o, true)],
  6: ["f32", 4, (d, o) => d.getFloat32(o, true)],
  7: ["bool", 1, (d, o) => d.getUint8(o) !== 0],
  10: ["u64", 8, (d, o) => d.getBigUint64(o, true)],
  11: ["i64", 8, (d, o) => d.getBigInt64(o, true)],
  12: ["f64", 8, (d, o) => d.getFloat64(o, true)],
};
const TYPED = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array, u64: BigUint64Array, i64: BigInt64Array, f64: Float64Array };

class Truncated extends Error {}

/** Parses the header in `bytes` (a prefix of the file); throws Truncated when the prefix is too short. */
function parse(bytes) {
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder();
  let p = 0;
  const need = (n) => {
    if (p + n > bytes.length) throw new Truncated();
  };
  const u32 = () => (need(4), (p += 4), d.getUint32(p - 4, true));
  const u64 = () => (need(8), (p += 8), Number(d.getBigUint64(p - 8, true)));
  const str = () => {
    const n = u64();
    need(n);
    p += n;
    return utf8.decode(bytes.subarray(p - n, p));
  };
  if (bytes.length >= 4 && utf8.decode(bytes.subarray(0, 4)) !== "GGUF") throw new Error("not a GGUF file (bad magic)");
  p = 4;
  const version = u32();
  if (version !== 3) throw new Error(`GGUF version ${version} (only 3 is read)`);
  const nTensors = u64();
  const nKv = u64();
  const metadata = [];
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const t = u32();
    if (t === 8) metadata.push({ key, type: "string", value: str() });
    else if (t === 9) {
      const et = u32();
      const n = u64();
      if (et === 8) metadata.push({ key, type: "array<string>", value: Array.from({ length: n }, str) });
      else if (SCALARS[et] && et !== 7) {
        const [name, size] = SCALARS[et];
        need(n * size);
        const copy = bytes.slice(p, p + n * size); // aligned copy for the typed array
        metadata.push({ key, type: `array<${name}>`, value: new TYPED[name](copy.buffer) });
        p += n * size;
      } else if (et === 7) {
        need(n);
        metadata.push({ key, type: "array<bool>", value: Array.from(bytes.subarray(p, p + n), (b) => b !== 0) });
        p += n;
      } else throw new Error(`${key}: arrays of GGUF type ${et} are not read`);
    } else if (SCALARS[t]) {
      const [name, size, get] = SCALARS[t];
      need(size);
      metadata.push({ key, type: name, value: get(d, p) });
      p += size;
    } else throw new Error(`${key}: unknown GGUF value type ${t}`);
  }
  const tensors = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nDims = u32();
    const dims = Array.from({ length: nDims }, u64);
    tensors.push({ name, dims, typeId: u32(), offset: u64() });
  }
  const alignment = Number(metadata.find((m) => m.key === "general.alignment")?.value ?? 32);
  return { version, alignment, dataOffset: Math.ceil(p / alignment) * alignment, metadata, tensors };
}

/** `{ alignment, dataOffset, metadata: [{key, type, value}], tensors: [{name, dims, typeId, offset}] }` of `path`. */
export function readGgufLayout(path) {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    for (let want = Math.min(size, 4 << 20); ; want = Math.min(size, want * 4)) {
      const buf = new Uint8Array(want);
      readSync(fd, buf, 0, want, 0);
      try {
        return parse(buf);
      } catch (e) {
        if (!(e instanceof Truncated)) throw new Error(`${path}: ${e.message}`);
        if (want >= size) throw new Error(`${path}: truncated GGUF header`);
      }
    }
  } finally {
    closeSync(fd);
  }
}

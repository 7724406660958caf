// Float conversions and engine-backed quantization for the GGUF tools (run under tsx or vitest: imports lib's .ts).
import { loadEngineNode } from "../../lib/node/engine.ts";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of `x`, rounded to nearest even (as numpy / ggml's F16 conversion). */
export function f32ToF16Bits(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf / NaN (quiet)
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflows to ±0
    mant |= 0x800000; // subnormal half: shift in the implicit bit, round to nearest even
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** Encodes `values` (rows of a tensor, innermost dimension contiguous) as F32 or F16 (no engine needed). */
export function encodeFloat(typeName, values) {
  if (typeName === "F32") return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  if (typeName === "F16") {
    const out = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
    return new Uint8Array(out.buffer);
  }
  throw new Error(`encodeFloat: ${typeName} is not a float type (use encodeTensor)`);
}

/** Encodes `values` (rows of a tensor, innermost dimension contiguous) as ggml type `typeName`; quantized types go
 *  through the engine's quantize binding (loaded on first use). */
export async function encodeTensor(typeName, values) {
  if (typeName === "F32" || typeName === "F16") return encodeFloat(typeName, values);
  const engine = await loadEngineNode();
  if (typeof engine.quantize !== "function") {
    throw new Error(`quantizing to ${typeName} needs the engine's quantize binding (rebuild wasm/pkg with bindings/kernels.rs)`);
  }
  return engine.quantize(typeName, values);
}

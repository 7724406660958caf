/**
 * The one place that instantiates the WASM engine. The caller supplies a compiled `WebAssembly.Module`:
 * Workers import it from the bundle (runtime compilation of fetched bytes is blocked there), Node compiles the file
 * from disk (lib/node), browsers use `WebAssembly.compileStreaming`. Everything else talks to the returned bindings.
 */
import * as bindings from "../../wasm/pkg/ellm_engine.js";

export type EngineBindings = typeof bindings;

/** A wasm-bindgen struct's fields as a plain object: what `plain` returns for the engine's typed reports. */
export type Plain<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: T[K] extends { free(): void } ? Plain<T[K]> : T[K];
};

/** Copies a wasm-bindgen struct's getters (and nested structs') into a plain object, and frees the handle. */
export function plain<T extends { free(): void }>(handle: T): Plain<T> {
  const out: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(Object.getPrototypeOf(handle)))) {
    if (!d.get) continue;
    const value: unknown = d.get.call(handle);
    out[key] = typeof (value as { free?: unknown } | null)?.free === "function" ? plain(value as { free(): void }) : value;
  }
  handle.free();
  return out as Plain<T>;
}

let memory: WebAssembly.Memory | undefined;

/** Instantiates the engine once per JS realm; later calls return the same bindings. */
export function initEngine(module: WebAssembly.Module): EngineBindings {
  if (!memory) {
    memory = bindings.initSync({ module }).memory;
  }
  return bindings;
}

/** The engine's linear memory: zero-copy views (logits, load regions) are built over its current buffer. */
export function engineMemory(): WebAssembly.Memory {
  if (!memory) throw new Error("engine not initialised: call initEngine(module) first");
  return memory;
}

export function isEngineInitialised(): boolean {
  return memory !== undefined;
}

/**
 * A small module whose function returns lane 0 of i32x4.relaxed_dot_i8x16_i7x16_add_s(splat(-3), splat(5), 0) plus
 * lane 0 of i16x8.relaxed_dot_i8x16_i7x16_s(splat(-3), splat(5)) — the two 8-bit dot products the kernels use —
 * exactly −60 + −30 = −90 on a correct engine (the 7-bit operand is non-negative, so neither result is
 * implementation-defined). Node 20's experimental relaxed SIMD (--experimental-wasm-relaxed-simd) compiles the first
 * wrongly in its baseline tier (treats the signed operand as unsigned: 5060), so validation alone is not enough.
 */
export const RELAXED_PROBE = (() => {
  const v128Const = (byte: number) => [0xfd, 0x0c, ...new Array<number>(16).fill(byte)];
  const body = [
    0x00, // no locals
    ...v128Const(0xfd), ...v128Const(0x05), ...v128Const(0x00), 0xfd, 0x93, 0x02, // i32x4.relaxed_dot_i8x16_i7x16_add_s
    0xfd, 0x1b, 0x00, // i32x4.extract_lane 0
    ...v128Const(0xfd), ...v128Const(0x05), 0xfd, 0x92, 0x02, // i16x8.relaxed_dot_i8x16_i7x16_s
    0xfd, 0x18, 0x00, // i16x8.extract_lane_s 0
    0x6a, 0x0b, // i32.add, end
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type: () -> i32
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
    0x0a, body.length + 2, 0x01, body.length, ...body, // code
  ]);
})();

/** Whether this runtime accepts relaxed SIMD (validation only: allowed where compiling bytes is not, e.g. Workers). */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/**
 * Whether relaxed SIMD is supported *and* gives the exact 8-bit dot product the engine relies on: runs the probe,
 * compiled here (Node, browsers) or given precompiled (`probe`: Workers, which cannot compile bytes, bundle it).
 */
export function relaxedSimdExact(probe?: WebAssembly.Module): boolean {
  if (!relaxedSimdSupported()) return false;
  try {
    const instance = new WebAssembly.Instance(probe ?? new WebAssembly.Module(RELAXED_PROBE));
    return (instance.exports.f as () => number)() === -90;
  } catch {
    return false;
  }
}

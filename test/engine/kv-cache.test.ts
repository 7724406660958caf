/**
 * The q8_0 KV cache through the real wasm build: its two attention primitives on the SIMD128 path against the scalar
 * path, and a SmolLM2-135M-shaped model (head size 64) with a q8_0 cache — SIMD against scalar kernels, and against
 * the f16 cache within the error of 8-bit K/V — plus the memory-budget rule that picks it.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { EngineFailureError, InvalidArgumentError } from "../../lib/errors.js";
import { Llama } from "../../lib/node/index.js";
import { toEngineOptions } from "../../lib/engine/loader.js";
import type { EngineOptions } from "../../lib/engine/model.js";
import { plain } from "../../lib/engine/wasm.js";
import { engineMemory, loadEngine } from "../helpers/engine.js";
import { fixturePath } from "../helpers/fixtures.js";
import { loadKernelChecks, type KernelChecks } from "../helpers/kernel-checks.js";

type Bindings = Awaited<ReturnType<typeof loadEngine>>;
let e: Bindings;
beforeAll(async () => {
  e = await loadEngine();
});

function values(seed: number, n: number, scale: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  });
}

const { checks } = await loadKernelChecks("q8_0 KV primitive agreement tests");
/** The engine's check build (vecCheck picks a kernel path); only used by the suite that skips without it. */
const k = checks as KernelChecks;

describe.skipIf(!checks)("kernels: q8_0 KV primitives, SIMD vs scalar", () => {
  for (const op of ["dot_q8_0", "axpy_q8_0"]) {
    it(op, () => {
      for (const n of [32, 64, 96, 160]) {
        const a = values(n, n, 3);
        const b = values(n + 1, n, 3);
        const scalar = k.vecCheck(op, "scalar", a, b, 0.375);
        const simd = k.vecCheck(op, "simd", a, b, 0.375);
        expect(simd.length).toBe(op === "dot_q8_0" ? 1 : n);
        const magnitude = a.reduce((s, v, i) => s + Math.abs(v * b[i]!), 0);
        for (let i = 0; i < scalar.length; i++) {
          const tol = op === "dot_q8_0" ? 1e-6 * magnitude : 1e-6 * Math.abs(scalar[i]!) + 1e-6;
          expect(Math.abs(simd[i]! - scalar[i]!), `${op} n=${n} i=${i}`).toBeLessThanOrEqual(tol);
        }
        if (op === "dot_q8_0") {
          const exact = a.reduce((s, v, i) => s + v * b[i]!, 0);
          expect(Math.abs(scalar[0]! - exact), "8-bit rounding error").toBeLessThan(0.02 * magnitude);
        }
      }
      expect(() => k.vecCheck(op, "simd", new Float32Array(33), new Float32Array(33), 1)).toThrow(/multiple of 32/);
    });
  }
});

describe("a q8_0 KV cache on a SmolLM2-135M-shaped model", () => {
  const PROMPT = [1, 502, 3001, 77, 12000, 4, 900, 31];

  /** Logits after the prompt (one batched prefill) and after each of 3 more tokens fed one at a time. */
  async function run(options: EngineOptions): Promise<{ logits: Float32Array[]; kvCache: number; kvType: string }> {
    const bytes = new Uint8Array(readFileSync(await fixturePath("smollm2-135m-Q4_0")));
    const loader = new e.GgufLoader(0);
    for (let off = 0; off < bytes.length; ) {
      const ptr = loader.nextRegion(bytes.length - off);
      const len = loader.regionLen();
      new Uint8Array(engineMemory().buffer, ptr, len).set(bytes.subarray(off, off + len));
      loader.commit(len);
      off += len;
    }
    const engine = new e.Engine(loader, toEngineOptions(e, { contextLength: 64, ...options }));
    try {
      const view = (ptr: number) => new Float32Array(engineMemory().buffer, ptr, engine.logitsLen()).slice();
      const logits = [view(engine.forward(0, Uint32Array.from(PROMPT), 0, false))];
      for (const [i, t] of [40, 41, 42].entries()) logits.push(view(engine.forward(0, Uint32Array.of(t), PROMPT.length + i, false)));
      return { logits, kvCache: plain(engine.memory()).kvCache, kvType: engine.kvType() };
    } finally {
      engine.free();
    }
  }

  const spread = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

  it("SIMD and scalar kernels agree; it stays close to the f16 cache; it holds 34 bytes per 32 values", async () => {
    const simd = await run({ kvType: "q8_0", kernelPath: "simd" });
    const scalar = await run({ kvType: "q8_0", kernelPath: "scalar" });
    const f16 = await run({ kvType: "f16", kernelPath: "simd" });
    expect(simd.kvType).toBe("q8_0");
    expect(simd.kvCache).toBe(64 * 30 * 2 * 3 * 2 * 34); // positions × layers × (K,V) × KV heads × 2 blocks × 34 bytes
    expect(f16.kvCache).toBe(64 * 30 * 2 * 3 * 64 * 2);
    for (let s = 0; s < simd.logits.length; s++) {
      const scale = spread(f16.logits[s]!);
      const toScalar = maxDiff(simd.logits[s]!, scalar.logits[s]!) / scale;
      const toF16 = maxDiff(simd.logits[s]!, f16.logits[s]!) / scale;
      console.log(`step ${s}: q8_0 SIMD vs scalar ${toScalar.toExponential(2)}, q8_0 vs f16 KV ${toF16.toExponential(2)} (of the logit range)`);
      // Mostly bit-identical; where an activation sits on a Q8_0 rounding tie, the two paths' last-bit differences
      // round it apart and the random 30-layer model amplifies that to ~1e-2 (a broken kernel gives O(1)).
      expect(toScalar, `step ${s}`).toBeLessThan(5e-2);
      expect(toF16, `step ${s}`).toBeLessThan(5e-2);
      expect(toF16, `step ${s}: a q8_0 cache cannot equal f16`).toBeGreaterThan(0);
    }
  }, 300_000);

  it("is refused with a clear error where the head size is not whole Q8_0 blocks", async () => {
    await expect(Llama.load({ model: await fixturePath("tiny-llama"), contextLength: 64, kvType: "q8_0" })).rejects.toThrow(/multiple of 32 \(this model's is 16\)/);
    await expect(Llama.load({ model: await fixturePath("tiny-llama"), contextLength: 64, kvType: "q8_0" })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("is what a memory budget picks when f16 would not fit, and a budget nothing fits refuses the load", async () => {
    const model = await fixturePath("smollm2-135m-Q4_0");
    const roomy = await Llama.load({ model, contextLength: 2048, memoryBudget: 200 * 2 ** 20 });
    const m = roomy.info.memory;
    expect(roomy.model.config.kvType).toBe("f16");
    roomy.dispose();
    const tight = await Llama.load({ model, contextLength: 2048, memoryBudget: m.total - 1 });
    expect(tight.model.config.kvType).toBe("q8_0");
    expect(tight.info.memory.kvCache).toBe(2048 * 30 * 2 * 3 * 68);
    tight.dispose();
    const explicit = await Llama.load({ model, contextLength: 2048, kvType: "f16", memoryBudget: m.total - 1 });
    expect(explicit.model.config.kvType).toBe("f16"); // an explicit kvType is kept
    explicit.dispose();
    await expect(Llama.load({ model, contextLength: 2048, memoryBudget: 64 * 2 ** 20 })).rejects.toThrow(/exceed the memory budget/);
    await expect(Llama.load({ model, contextLength: 2048, memoryBudget: 64 * 2 ** 20 })).rejects.toBeInstanceOf(EngineFailureError);
  }, 120_000);
});

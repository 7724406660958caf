/**
 * The edge budget: a random-weight GGUF with SmolLM2-135M's exact shape at Q4_0 loads and generates with a 1024-token
 * f16 KV cache while the whole WASM memory stays inside a Worker's 128 MB. Prints the breakdown.
 */
import { describe, expect, it } from "vitest";
import { engineMemory } from "../../lib/engine/wasm.js";
import { Llama } from "../../lib/node/index.js";
import { fixturePath } from "../helpers/fixtures.js";

const WORKER_MEMORY = 128 * 1000 * 1000;
const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

describe("SmolLM2-135M-shaped Q4_0 inside a Worker's memory", () => {
  it("loads, generates with a 1024-token f16 KV cache, and keeps WASM memory under 128 MB", async () => {
    const llama = await Llama.load({ model: await fixturePath("smollm2-135m-Q4_0"), contextLength: 1024, kvType: "f16" });
    try {
      const result = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 8 });
      expect(result.usage.completionTokens).toBeGreaterThan(0);
      const m = llama.info.memory;
      const wasm = engineMemory().buffer.byteLength;
      console.log(
        `weights ${MiB(m.weights)} + KV cache ${MiB(m.kvCache)} + scratch ${MiB(m.scratch)} = ${MiB(m.total)}; ` +
          `WASM memory ${MiB(wasm)} of ${MiB(WORKER_MEMORY)}`,
      );
      expect(m.kvCache).toBe(1024 * 30 * 2 * 3 * 64 * 2); // positions × layers × (K,V) × KV heads × head dim × f16
      expect(wasm).toBeLessThan(WORKER_MEMORY);
      expect(wasm).toBeLessThanOrEqual(m.weights + m.kvCache + 16 * 2 ** 20); // the issue's ≤ weights + KV + 16 MB
    } finally {
      llama.dispose();
    }
  });
});

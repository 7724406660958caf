/**
 * The real SmolLM2-135M-Instruct Q4_1 on the edge: with the Worker's memory budget it gets a q8_0 KV cache for 2048
 * positions, the isolate's whole footprint (WASM memory + JS heap) stays inside workerd's 128 MiB, and teacher-forced
 * along llama.cpp's greedy continuations (../shared/models/smollm2-135m-instruct-q4_1.reference.json, made with an
 * f16 KV cache) its argmax still agrees. A file of its own: a fresh engine instance, so the WASM figure is this
 * model's alone. Prints the breakdown.
 */
import { existsSync } from "node:fs";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { engineMemory } from "../../lib/engine/wasm.js";
import { Llama } from "../../lib/node/index.js";
import { EDGE_MODEL_MEMORY } from "../../worker/runtime/memory-budget.js";
import { agreement, describeAgreement, ourSteps, type TopK } from "../helpers/agreement.js";
import { readSharedJson, sharedModel } from "../helpers/shared.js";

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const REFERENCE = "smollm2-135m-instruct-q4_1.reference.json";
const missing = [MODEL, REFERENCE].filter((f) => !existsSync(sharedModel(f)));
if (missing.length) console.warn(`real SmolLM2 edge-budget test skipped: ../shared/models lacks ${missing.join(", ")}`);
const ISOLATE = 128 * 2 ** 20; // workerd's per-isolate limit: JS heap + WASM memory

/** A full collection, so heap figures count live objects only. */
function collect(): void {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe.skipIf(missing.length > 0)("the real SmolLM2-135M-Instruct Q4_1 at 2048 positions on the edge", () => {
  it("gets a q8_0 KV cache under the Worker's budget, fits a 128 MiB isolate, and still agrees with llama.cpp", async () => {
    collect();
    const heapBefore = v8.getHeapStatistics().used_heap_size;
    const llama = await Llama.load({ model: sharedModel(MODEL), contextLength: 2048, memoryBudget: EDGE_MODEL_MEMORY });
    try {
      const reply = await llama.chatCompletion([{ role: "user", content: "What is the capital of France?" }], { temperature: 0, maxTokens: 16 });
      // What it answers is the model's call (llama.cpp's own greedy answer to this prompt, f16 KV, is not "Paris"
      // either); that it answers, and agrees with llama.cpp step by step below, is ours.
      console.log(`q8_0-KV greedy answer: ${JSON.stringify(reply.text)}`);
      expect(reply.text.trim().length).toBeGreaterThan(0);
      collect();
      const js = v8.getHeapStatistics().used_heap_size - heapBefore;
      const m = llama.info.memory;
      const wasm = engineMemory().buffer.byteLength; // this file's own engine instance: its whole memory
      expect(llama.model.config.kvType).toBe("q8_0");
      expect(m.kvCache).toBe(2048 * 30 * 2 * 3 * 68); // positions × layers × (K,V) × KV heads × 2 Q8_0 blocks of 34 bytes
      expect(m.total).toBeLessThanOrEqual(EDGE_MODEL_MEMORY);
      console.log(
        `SmolLM2 Q4_1, 2048 positions: weights ${MiB(m.weights)} + q8_0 KV ${MiB(m.kvCache)} + scratch ${MiB(m.scratch)} = ${MiB(m.total)}; ` +
          `WASM memory ${MiB(wasm)} (+${MiB(wasm - m.total)} header/allocator) + JS heap ${MiB(js)} = ${MiB(wasm + js)} of ${MiB(ISOLATE)}`,
      );
      expect(wasm + js).toBeLessThan(ISOLATE);

      // Teacher-forced along llama.cpp's greedy continuations, with this q8_0 cache (after the memory figures: all-
      // position logits grow the logits buffer).
      const { cases } = readSharedJson<{ cases: { name: string; prompt: number[]; greedy: number[]; top: TopK[] }[] }>(REFERENCE);
      const a = agreement(cases.map((c) => ({ name: c.name, ours: ourSteps(llama.model, c.prompt, c.greedy, c.top), theirs: c.top })));
      console.log(`SmolLM2 Q4_1 with q8_0 KV vs llama.cpp (f16 KV): ${describeAgreement(a)} over ${cases.length} prompts`);
      expect(a.steps).toBe(cases.length * 64);
      expect(a.clearLeadMisses).toEqual([]);
      expect(a.top1 / a.steps).toBeGreaterThanOrEqual(0.95);
    } finally {
      llama.dispose();
    }
  }, 300_000);
});

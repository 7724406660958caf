/**
 * The real SmolLM2-135M-Instruct GGUF (Q4_1 weights, Q8_0 tied embedding, F32 norms, 576-wide rows) against
 * llama.cpp's teacher-forced logits for it (../shared/models/smollm2-135m-instruct-q4_1.reference.json): our argmax
 * must be llama.cpp's at ≥ 96% of steps and at every step where llama.cpp's top-1 leads by ≥ 0.5.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineModel } from "../../lib/engine/model.js";
import { agreement, describeAgreement, ourSteps, type TopK } from "../helpers/agreement.js";
import { loadEngine } from "../helpers/engine.js";
import { readSharedJson, sharedModel } from "../helpers/shared.js";

const MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const REFERENCE = "smollm2-135m-instruct-q4_1.reference.json";
const missing = [MODEL, REFERENCE].filter((f) => !existsSync(sharedModel(f)));
if (missing.length) console.warn(`SmolLM2 Q4_1 reference test skipped: ../shared/models lacks ${missing.join(", ")}`);

interface Case {
  name: string;
  prompt: number[];
  greedy: number[];
  top: TopK[];
}

describe.skipIf(missing.length > 0)("SmolLM2-135M-Instruct Q4_1 (real weights) vs llama.cpp's reference logits", () => {
  let model: EngineModel;
  beforeAll(async () => {
    const bytes = await readFile(sharedModel(MODEL));
    model = await EngineModel.load(await loadEngine(), (async function* () { yield bytes; })(), { contextLength: 256, kvType: "f16" });
  });
  afterAll(() => model?.dispose());

  it("loads: Q4_1 matmuls, Q8_0 tied embedding, 576-wide rows", () => {
    expect(model.vocabSize).toBe(49152);
    expect(model.config.architecture).toBe("llama");
  });

  it("top-1 agrees at ≥ 96% of steps and at every clear lead (≥ 0.5)", () => {
    const { cases } = readSharedJson<{ cases: Case[] }>(REFERENCE);
    const compared = cases.map((c) => ({ name: c.name, ours: ourSteps(model, c.prompt, c.greedy, c.top), theirs: c.top }));
    const a = agreement(compared);
    console.log(`SmolLM2 Q4_1 vs llama.cpp reference: ${describeAgreement(a)} over ${cases.length} prompts`);
    expect(a.steps).toBe(cases.length * 64);
    expect(a.clearLeadMisses).toEqual([]);
    expect(a.top1 / a.steps).toBeGreaterThanOrEqual(0.96);
  });
});

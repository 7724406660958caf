/**
 * Quantization quality on the real stories260K model: the llama2.c checkpoint converted to Q8_0 (and Q4_0) by
 * scripts/convert-llama2c.mjs, teacher-forced along the reference greedy continuations. Reports, per format, how often
 * its top-1 token is the reference's and the mean KL divergence from the F32 model's next-token distribution.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EngineModel } from "../../lib/engine/model.js";
import { convertLlama2c } from "../../scripts/convert-llama2c.mjs";
import { loadEngine } from "../helpers/engine.js";

const MODELS = new URL("../../../shared/models/", import.meta.url).pathname;
const have = ["stories260K.gguf", "stories260K.bin", "tok512.bin", "stories260K.reference.json"].every((f) => existsSync(join(MODELS, f)));

interface Case {
  name: string;
  prompt: number[];
  greedy: number[];
}

const SLICE = 64;
const dir = mkdtempSync(join(tmpdir(), "ellm-quant-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Next-token log-probabilities at every position from prompt end on, teacher-forced with the reference greedy ids. */
async function logProbsAlong(file: string, cases: Case[]): Promise<Float64Array[][]> {
  const bindings = await loadEngine();
  const bytes = await readFile(file);
  const model = await EngineModel.load(bindings, (async function* () { yield bytes; })(), { contextLength: 512, kvType: "f32" });
  try {
    const vocab = model.vocabSize;
    return cases.map((c) => {
      const tokens = [...c.prompt, ...c.greedy.slice(0, -1)];
      model.truncate(0, 0);
      const out: Float64Array[] = [];
      for (let pos = 0; pos < tokens.length; pos += SLICE) {
        const slice = tokens.slice(pos, pos + SLICE);
        const all = model.forward(0, slice, pos, true);
        for (let i = 0; i < slice.length; i++) {
          if (pos + i < c.prompt.length - 1) continue; // predicts a prompt token, not a generated one
          out.push(logSoftmax(all.subarray(i * vocab, (i + 1) * vocab)));
        }
      }
      return out;
    });
  } finally {
    model.dispose();
  }
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
}

const argmax = (x: Float64Array) => x.reduce((best, v, i) => (v > x[best]! ? i : best), 0);
const kl = (p: Float64Array, q: Float64Array) => p.reduce((s, lp, i) => s + Math.exp(lp) * (lp - q[i]!), 0);

describe.skipIf(!have)("quantized stories260K vs the reference", async () => {
  const cases = have ? (JSON.parse(await readFile(join(MODELS, "stories260K.reference.json"), "utf8")) as { cases: Case[] }).cases : [];
  const f32 = have ? await logProbsAlong(join(MODELS, "stories260K.gguf"), cases) : [];

  it.each([
    { type: "Q8_0", minTop1: 0.95, maxKl: 0.01 },
    { type: "Q4_0", minTop1: 0.8, maxKl: 0.1 },
  ])("$type keeps the reference's greedy top-1 token (≥ $minTop1) with a small KL divergence from F32", async ({ type, minTop1, maxKl }) => {
    const file = join(dir, `stories260K-${type}.gguf`);
    await convertLlama2c(join(MODELS, "stories260K.bin"), join(MODELS, "tok512.bin"), file, type);
    const quant = await logProbsAlong(file, cases);
    let positions = 0, top1 = 0, klSum = 0, klMax = 0;
    cases.forEach((c, ci) => {
      quant[ci]!.forEach((q, i) => {
        positions++;
        if (argmax(q) === c.greedy[i]) top1++;
        const d = kl(f32[ci]![i]!, q);
        klSum += d;
        klMax = Math.max(klMax, d);
      });
    });
    const agreement = top1 / positions;
    console.log(`${type}: top-1 = reference greedy at ${top1}/${positions} positions (${(100 * agreement).toFixed(1)}%), KL(F32‖${type}) mean ${(klSum / positions).toExponential(2)} nats, max ${klMax.toExponential(2)}`);
    expect(positions).toBe(cases.reduce((n, c) => n + c.greedy.length, 0));
    expect(agreement).toBeGreaterThanOrEqual(minTop1);
    expect(klSum / positions).toBeLessThan(maxKl);
  });

  it("the F32 model itself predicts every reference greedy token (the teacher-forcing harness is right)", () => {
    cases.forEach((c, ci) => f32[ci]!.forEach((lp, i) => expect(argmax(lp), `${c.name} #${i}`).toBe(c.greedy[i])));
  });
});

/**
 * Agreement of our engine's next-token distributions with llama.cpp's, teacher-forced along one continuation:
 * top-1 equality, equality where llama.cpp's top-1 clearly leads, and KL divergence over llama.cpp's top-k ids.
 * Shared by the reference-file test (llama.cpp's logits recorded in ../shared) and the live llama.cpp harness.
 */
import type { EngineModel } from "../../lib/engine/model.js";

/** llama.cpp's k highest [id, logit] before one step, highest first. */
export type TopK = [number, number][];

/** What we keep of our logits at one step: the argmax and our logits at llama.cpp's top-k ids. */
export interface OurStep {
  argmax: number;
  atTheirTop: number[];
}

/**
 * Feeds `prompt`, then `continuation` (teacher-forced), through sequence 0 of `model` from an empty cache, and calls
 * `visit(step, logits)` with the logits before continuation[step] (step 0 = after the prompt). The view is valid only
 * inside `visit`.
 */
export function teacherForce(
  model: EngineModel,
  prompt: readonly number[],
  continuation: readonly number[],
  visit: (step: number, logits: Float32Array) => void,
  slice = 64,
): void {
  const tokens = [...prompt, ...continuation.slice(0, -1)];
  const vocab = model.vocabSize;
  model.truncate(0, 0);
  for (let pos = 0; pos < tokens.length; pos += slice) {
    const part = tokens.slice(pos, pos + slice);
    const all = model.forward(0, part, pos, true);
    for (let i = 0; i < part.length; i++) {
      const step = pos + i - (prompt.length - 1);
      if (step >= 0) visit(step, all.subarray(i * vocab, (i + 1) * vocab));
    }
  }
}

/** Our steps along `continuation`, keeping our logits at the ids of `theirs[step]`. */
export function ourSteps(model: EngineModel, prompt: readonly number[], continuation: readonly number[], theirs: readonly TopK[]): OurStep[] {
  const steps: OurStep[] = [];
  teacherForce(model, prompt, continuation, (step, logits) => {
    steps[step] = { argmax: argmax(logits), atTheirTop: theirs[step]!.map(([id]) => logits[id]!) };
  });
  return steps;
}

/** Index of the largest value; the lowest index on ties (llama.cpp's greedy does the same). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** KL(p ‖ q) of the two softmaxes over the same k logits (renormalized over those k). */
export function klOverTopK(theirLogits: readonly number[], ourLogits: readonly number[]): number {
  const p = softmax(theirLogits);
  const q = softmax(ourLogits);
  return p.reduce((s, pi, i) => (pi > 0 ? s + pi * Math.log(pi / q[i]!) : s), 0);
}

function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

export interface Agreement {
  steps: number;
  top1: number;
  /** Steps where llama.cpp's top-1 leads its second by at least the clear-lead margin. */
  clearLead: number;
  clearLeadAgree: number;
  meanKl: number;
  maxKl: number;
  /** "case #step: ours id vs theirs id (lead x)" for every clear-lead disagreement. */
  clearLeadMisses: string[];
}

export const CLEAR_LEAD = 0.5;

/** Compares our steps with llama.cpp's top-k lists, case by case. */
export function agreement(cases: { name: string; ours: OurStep[]; theirs: readonly TopK[] }[]): Agreement {
  const a: Agreement = { steps: 0, top1: 0, clearLead: 0, clearLeadAgree: 0, meanKl: 0, maxKl: 0, clearLeadMisses: [] };
  let klSum = 0;
  for (const { name, ours, theirs } of cases) {
    theirs.forEach((top, step) => {
      const o = ours[step]!;
      const same = o.argmax === top[0]![0];
      const lead = top[0]![1] - top[1]![1];
      a.steps++;
      if (same) a.top1++;
      if (lead >= CLEAR_LEAD) {
        a.clearLead++;
        if (same) a.clearLeadAgree++;
        else a.clearLeadMisses.push(`${name} #${step}: ours ${o.argmax} vs llama.cpp ${top[0]![0]} (lead ${lead.toFixed(2)})`);
      }
      const kl = klOverTopK(top.map(([, l]) => l), o.atTheirTop);
      klSum += kl;
      a.maxKl = Math.max(a.maxKl, kl);
    });
  }
  a.meanKl = klSum / a.steps;
  return a;
}

/** "top-1 98.4% (504/512), clear lead 100.0% (431/431), KL mean 1.2e-3 max 4.0e-2". */
export function describeAgreement(a: Agreement): string {
  const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)}% (${n}/${d})`;
  return `top-1 ${pct(a.top1, a.steps)}, clear lead ${pct(a.clearLeadAgree, a.clearLead)}, KL mean ${a.meanKl.toExponential(2)} max ${a.maxKl.toExponential(2)}`;
}

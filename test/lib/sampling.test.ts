/** Sampler: greedy, seeded reproducibility, truncation sets, penalties, logit bias, logprobs. */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ModelFormatError } from "../../lib/errors.js";
import { Rng, Sampler, type SamplingParams } from "../../lib/sampling/index.js";

const ln = Math.log;

/** log-softmax in float64, the independent reference. */
function logSoftmax(x: number[]): number[] {
  const m = Math.max(...x);
  const lse = m + ln(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
}

function candidateIds(logits: number[], params: SamplingParams): number[] {
  return new Sampler(logits.length, params).candidates(Float32Array.from(logits)).map((c) => c.id);
}

describe("Rng", () => {
  it("matches an independent xoshiro128** + splitmix32 implementation (Python, 32-bit masks)", () => {
    const take = (seed: number, n: number) => {
      const r = new Rng(seed);
      return Array.from({ length: n }, () => r.nextUint32());
    };
    expect(take(42, 5)).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180]);
    expect(take(0, 3)).toEqual([3809008728, 1133695204, 53579671]);
    expect(take(2 ** 40 + 7, 3)).toEqual([2801414588, 2675088303, 2874624016]);
  });
  it("nextFloat is in [0, 1)", () => {
    const r = new Rng(1);
    for (let i = 0; i < 10_000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });
});

describe("greedy", () => {
  it("temperature 0 takes the argmax, lowest id on ties, ignoring NaN", () => {
    const s = new Sampler(5, { temperature: 0 });
    expect(s.sample(Float32Array.from([0.1, 3, 2, 3, -1]))).toBe(1);
    expect(s.sample(Float32Array.from([Number.NaN, 1, 7, 7, 7]))).toBe(2);
    expect(s.sample(Float32Array.from([-5, -5, -5, -5, -5]))).toBe(0);
  });
  it("top-k 1 at any temperature is greedy", () => {
    const s = new Sampler(4, { temperature: 1.5, topK: 1, seed: 3 });
    for (let i = 0; i < 20; i++) expect(s.sample(Float32Array.from([1, 2, 9, 3]))).toBe(2);
  });
});

describe("seeded sampling", () => {
  const V = 1000;
  const logits = Float32Array.from({ length: V }, (_, i) => Math.sin(i * 12.9898) * 4);
  const run = (params: SamplingParams, n = 200): number[] => {
    const s = new Sampler(V, params);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = s.sample(logits);
      s.accept(id);
      out.push(id);
    }
    return out;
  };
  it("same seed and parameters → identical streams; another seed → a different one", () => {
    const p = { seed: 1234, temperature: 0.9, topK: 50, topP: 0.95, minP: 0.01, repetitionPenalty: 1.1 };
    expect(run(p)).toEqual(run(p));
    expect(run({ ...p, seed: 1235 })).not.toEqual(run(p));
  });
  it("draws follow the softmax (χ² on 30 000 draws from 3 tokens)", () => {
    const s = new Sampler(3, { seed: 99 });
    const l = Float32Array.from([0, ln(2), ln(3)]);
    const counts = [0, 0, 0];
    const n = 30_000;
    for (let i = 0; i < n; i++) counts[s.sample(l)]!++;
    const expected = [n / 6, n / 3, n / 2];
    const chi2 = counts.reduce((acc, c, i) => acc + (c - expected[i]!) ** 2 / expected[i]!, 0);
    expect(chi2).toBeLessThan(13.8); // p = 0.001 for 2 degrees of freedom
  });
});

describe("truncation sets", () => {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (relative weights 1, 0.6, 0.3, 0.1).
  const probs = [0.5, 0.3, 0.15, 0.05];
  const logits = probs.map(ln);

  it("top-k keeps the k highest logits", () => {
    expect(candidateIds([1, 4, 3, 2, 5], { topK: 2 })).toEqual([4, 1]);
    expect(candidateIds([1, 4, 3, 2, 5], { topK: 4 })).toEqual([4, 1, 2, 3]);
    expect(candidateIds([1, 4, 3, 2, 5], { topK: 0 })).toEqual([4, 1, 2, 3, 0]);
    expect(candidateIds([2, 2, 2, 2], { topK: 2 })).toEqual([0, 1]); // ties: lower ids
  });

  it("top-p keeps the smallest head reaching p", () => {
    expect(candidateIds(logits, { topP: 0.45 })).toEqual([0]);
    expect(candidateIds(logits, { topP: 0.79 })).toEqual([0, 1]);
    expect(candidateIds(logits, { topP: 0.81 })).toEqual([0, 1, 2]);
    expect(candidateIds(logits, { topP: 0.96 })).toEqual([0, 1, 2, 3]);
  });

  it("top-p reaches into the unsorted tail when the head is not enough", () => {
    // One likely token and 5000 tokens each far below the presort threshold but together 40% of the mass.
    const V = 5001;
    const l = new Array<number>(V).fill(ln(0.4 / 5000));
    l[0] = ln(0.6);
    l[1234] = ln(0.4 / 5000) + 1e-3; // the most likely of the tail comes first
    const ids = candidateIds(l, { topP: 0.7 });
    expect(ids[0]).toBe(0);
    expect(ids[1]).toBe(1234);
    expect(ids.length).toBeGreaterThan(1000);
    expect(ids.length).toBeLessThan(1400);
  });

  it("min-p drops tokens below min_p × p(top)", () => {
    expect(candidateIds(logits, { minP: 0.25 })).toEqual([0, 1, 2]);
    expect(candidateIds(logits, { minP: 0.5 })).toEqual([0, 1]);
    expect(candidateIds(logits, { minP: 1 })).toEqual([0]);
  });

  it("top-p applies to the renormalized top-k set; temperature reshapes before truncation", () => {
    // top-k 3 renormalizes to 0.526, 0.316, 0.158: top-p 0.8 then needs three tokens... 0.526+0.316 = 0.842 ≥ 0.8 → two.
    expect(candidateIds(logits, { topK: 3, topP: 0.8 })).toEqual([0, 1]);
    // Temperature 2 flattens to weights 1, 0.775, 0.548, 0.316 (sqrt): top-p 0.5 needs two tokens.
    expect(candidateIds(logits, { temperature: 2, topP: 0.5 })).toEqual([0, 1]);
    const c = new Sampler(4, { temperature: 2 }).candidates(Float32Array.from(logits));
    const ref = logSoftmax(logits.map((x) => x / 2));
    c.forEach(({ id, logprob }) => expect(logprob).toBeCloseTo(ref[id]!, 5));
  });
});

describe("penalties and bias", () => {
  it("repetition penalty divides positive and multiplies negative logits of seen tokens", () => {
    const s = new Sampler(4, { temperature: 1, repetitionPenalty: 2, logprobs: true, topLogprobs: 4 });
    s.accept(0);
    s.accept(1);
    s.accept(1);
    s.sample(Float32Array.from([2, -2, 1, 0.5]));
    const got = new Map(s.lastTopLogprobs().map((t) => [t.id, t.logprob]));
    const ref = logSoftmax([1, -4, 1, 0.5]);
    ref.forEach((v, id) => expect(got.get(id)).toBeCloseTo(v, 5));
  });

  it("frequency and presence penalties follow the OpenAI formula", () => {
    const s = new Sampler(3, { frequencyPenalty: 0.5, presencePenalty: 0.25, logprobs: true, topLogprobs: 3 });
    s.accept(0);
    s.accept(0);
    s.accept(2);
    s.sample(Float32Array.from([1, 1, 1]));
    const got = new Map(s.lastTopLogprobs().map((t) => [t.id, t.logprob]));
    const ref = logSoftmax([1 - 2 * 0.5 - 0.25, 1, 1 - 0.5 - 0.25]);
    ref.forEach((v, id) => expect(got.get(id)).toBeCloseTo(v, 5));
  });

  it("penalties only see the last penaltyLastN tokens, and reset() forgets them", () => {
    const logits = Float32Array.from([2, 1.9]);
    const s = new Sampler(2, { temperature: 0, repetitionPenalty: 4, penaltyLastN: 2 });
    s.accept(0);
    expect(s.sample(logits)).toBe(1);
    s.accept(1);
    s.accept(1); // token 0 falls out of the window
    expect(s.sample(logits)).toBe(0);
    s.reset();
    expect(s.sample(Float32Array.from([1.9, 2]))).toBe(1);
  });

  it("logit_bias shifts logits and is validated", () => {
    const s = new Sampler(3, { temperature: 0, logitBias: { 2: -100 } });
    expect(s.sample(Float32Array.from([0, 1, 5]))).toBe(1);
    expect(new Sampler(3, { temperature: 0, logitBias: new Map([[0, 10]]) }).sample(Float32Array.from([0, 1, 5]))).toBe(0);
    expect(() => new Sampler(3, { logitBias: { 3: 1 } })).toThrow(/logitBias token id 3/);
    expect(() => new Sampler(3, { logitBias: { 0: 101 } })).toThrow(InvalidArgumentError);
  });
});

describe("logprobs", () => {
  it("are the log-softmax of the full distribution before truncation, and sum to 1", () => {
    const logits = [3, 1, 0.5, -1, 2, 2.5, -3, 0, 1.5, 0.25];
    const s = new Sampler(10, { temperature: 0.7, topK: 1, seed: 5, logprobs: true, topLogprobs: 10 });
    const id = s.sample(Float32Array.from(logits));
    expect(id).toBe(0);
    const ref = logSoftmax(logits);
    expect(s.lastLogprob).toBeCloseTo(ref[0]!, 5); // not 0, although top-k 1 left a single candidate
    const top = s.lastTopLogprobs();
    expect(top.map((t) => t.id)).toEqual([0, 5, 4, 8, 1, 2, 9, 7, 3, 6]);
    expect(top.reduce((acc, t) => acc + Math.exp(t.logprob), 0)).toBeCloseTo(1, 6);
    top.forEach((t) => expect(t.logprob).toBeCloseTo(ref[t.id]!, 5));
  });
  it("lastLogprob is NaN when logprobs were not requested", () => {
    const s = new Sampler(2, { temperature: 0 });
    s.sample(Float32Array.from([0, 1]));
    expect(s.lastLogprob).toBeNaN();
  });
});

describe("validation", () => {
  const bad: [SamplingParams, RegExp][] = [
    [{ temperature: -1 }, /temperature/],
    [{ temperature: Number.NaN }, /temperature/],
    [{ topP: 0 }, /topP/],
    [{ topK: 1.5 }, /topK/],
    [{ minP: 2 }, /minP/],
    [{ repetitionPenalty: 0 }, /repetitionPenalty/],
    [{ frequencyPenalty: 3 }, /frequencyPenalty/],
    [{ topLogprobs: 21 }, /topLogprobs/],
    [{ seed: 1.5 }, /seed/],
  ];
  for (const [params, msg] of bad) {
    it(`rejects ${JSON.stringify(params)}`, () => {
      expect(() => new Sampler(8, params)).toThrow(InvalidArgumentError);
      expect(() => new Sampler(8, params)).toThrow(msg);
    });
  }
  it("rejects logits of the wrong length; all-NaN/infinite logits are the model's fault (ModelFormatError)", () => {
    expect(() => new Sampler(4).sample(new Float32Array(3))).toThrow(/logits has 3 entries/);
    for (const logits of [[-Infinity, -Infinity], [NaN, NaN], [Infinity, NaN]]) {
      expect(() => new Sampler(2, { seed: 1 }).sample(Float32Array.from(logits))).toThrow(ModelFormatError);
      expect(() => new Sampler(2, { temperature: 0 }).sample(Float32Array.from(logits))).toThrow(/no finite logit/);
    }
    // One finite logit is enough, whatever the bias does to the others.
    expect(new Sampler(2, { seed: 1, logitBias: { 0: -100 } }).sample(Float32Array.from([NaN, 0.5]))).toBe(1);
  });
});

describe("speed", () => {
  it("samples from a 151 936-token vocabulary quickly", () => {
    const V = 151_936;
    const logits = Float32Array.from({ length: V }, (_, i) => Math.sin(i * 0.7) * 6 + Math.cos(i * 0.013) * 3);
    const lines: string[] = [];
    for (const [name, p] of [
      ["greedy", { temperature: 0 }],
      ["T=0.8 top_k=40 top_p=0.95", { temperature: 0.8, topK: 40, topP: 0.95, seed: 1 }],
      ["T=1 top_p=0.9 (no top_k)", { temperature: 1, topP: 0.9, seed: 1 }],
      ["T=0.7 min_p=0.05 + penalties + logprobs(5)", { temperature: 0.7, minP: 0.05, repetitionPenalty: 1.1, presencePenalty: 0.5, logprobs: true, topLogprobs: 5, seed: 1 }],
    ] as [string, SamplingParams][]) {
      const s = new Sampler(V, p);
      for (let i = 0; i < 5; i++) s.accept(s.sample(logits));
      const t0 = performance.now();
      const n = 50;
      for (let i = 0; i < n; i++) {
        const id = s.sample(logits);
        expect(id >= 0 && id < V).toBe(true);
        s.accept(id);
      }
      const ms = (performance.now() - t0) / n; // reported, not asserted: timings swing with machine load
      lines.push(`${name}: ${ms.toFixed(3)} ms/token`);
    }
    console.log("[sampler speed, vocab 151936]\n" + lines.join("\n"));
  });
});

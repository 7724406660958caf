/**
 * The generation session (lib/session.ts): Llama and Transformer run the one loop with the one set of sampling
 * defaults, in the model's turn, and the session's KV bookkeeping stays right across forward passes and aborts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GrammarConstraint } from "../../lib/grammar/index.js";
import { AbortError, Llama, ModelTurn, SAMPLING_DEFAULTS, Transformer } from "../../lib/node/index.js";
import { fixturePath } from "../helpers/fixtures.js";

let path: string;
let llama: Llama;

beforeAll(async () => {
  path = await fixturePath("tiny-llama");
  llama = await Llama.load({ model: path, contextLength: 256 });
});
afterAll(() => llama.dispose());

describe("one loop, one set of defaults", () => {
  it("documents OpenAI's defaults", () => {
    expect(SAMPLING_DEFAULTS).toMatchObject({ temperature: 1, topP: 1, topK: 0, minP: 0 });
  });

  it("Transformer.generate samples the same ids as Llama.generate for the same seed and no sampling fields", async () => {
    const t = await Transformer.fromGGUF(path, { contextLength: 256, maxBatchSize: 2 });
    const prompt = llama.tokenize("Once upon a time");
    const eos = llama.tokenizer.eosId!;
    for (const seed of [3, 11]) {
      const r = await llama.generate("Once upon a time", { seed: seed + 1, maxTokens: 24, logprobs: 0 });
      const sampled = r.logprobs!.map((lp) => lp.tokenId);
      // Sequence i samples with seed + i: sequence 1 here is Llama's seed + 1.
      const [, ids] = await t.generate([prompt, prompt], { maxGenLen: 24, seed, eosId: eos });
      expect(ids).toEqual(r.finishReason === "stop" ? [...sampled, eos] : sampled);
    }
    t.dispose();
  });
});

describe("the session's turn and KV state", () => {
  it("Transformer.generate waits for the model's turn and stops on abort with AbortError", async () => {
    const t = await Transformer.fromGGUF(path, { contextLength: 256 });
    const lease = await t.session.turn.acquire();
    let done = false;
    const waiting = t.generate([[1]], { maxGenLen: 1, temperature: 0 }).then((ids) => ((done = true), ids));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    lease.release();
    expect(await waiting).toEqual([[expect.any(Number)]]);
    const controller = new AbortController();
    const run = t.generate([[1, 2, 3]], { maxGenLen: 200, temperature: 0, signal: controller.signal });
    setTimeout(() => controller.abort("stop"), 5);
    await expect(run).rejects.toBeInstanceOf(AbortError);
    // The turn was given back: the next call runs.
    expect(await t.generate([[1, 2, 3]], { maxGenLen: 2, temperature: 0 })).toHaveLength(1);
    t.dispose();
  });

  it("a forward pass the caller drives keeps the prefix bookkeeping of the next generation", async () => {
    const prompt = "Once upon a time, there was a little girl";
    const ids = llama.tokenize(prompt);
    llama.session.forward(0, ids.slice(0, 5), 0);
    expect((await llama.generate(prompt, { temperature: 0, maxTokens: 2 })).usage.cachedTokens).toBe(5);
    llama.session.forward(0, [ids[0]!, ids[1]! + 1], 0);
    expect((await llama.generate(prompt, { temperature: 0, maxTokens: 2 })).usage.cachedTokens).toBe(1);
  });

  it("an abort mid-prefill keeps the slices already computed for the next generation", async () => {
    const prompt = "Once upon a time there was a cat. ".repeat(6);
    expect(llama.tokenize(prompt).length).toBeGreaterThan(128); // three slices, within the 256 positions
    await llama.generate("Hello", { temperature: 0, maxTokens: 1 });
    const controller = new AbortController();
    // Runs at the first pause between prefill slices (64 tokens each).
    setImmediate(() => controller.abort("gone"));
    await expect(llama.generate(prompt, { temperature: 0, maxTokens: 2, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    const next = await llama.generate(prompt, { temperature: 0, maxTokens: 2 });
    // BOS, reused from "Hello", then the one slice computed before the abort.
    expect(next.usage.cachedTokens).toBe(1 + 64);
  });

  it("a generation's grammar is freed with its turn: a dropped stream needs no return()", async () => {
    const dispose = vi.spyOn(GrammarConstraint.prototype, "dispose");
    try {
      const format = { responseFormat: { type: "json_object" as const }, temperature: 0, maxTokens: 40 };
      // The caller's lease (as the Worker holds it), released with the stream suspended mid-way.
      const lease = await llama.turn.acquire();
      const held = llama.generateStream("Once upon a time", { ...format, lease });
      await held.next();
      expect(dispose).not.toHaveBeenCalled();
      lease.release();
      expect(dispose).toHaveBeenCalledTimes(1);
      await expect(held.next()).rejects.toBeInstanceOf(AbortError); // its own end frees nothing twice (idempotent)

      // The session's own lease, reclaimed by the next generation from a stream nobody resumes.
      const turn = new ModelTurn({ staleMs: 30, pollMs: 2 });
      const other = await Llama.load({ model: path, contextLength: 256, turn });
      const abandoned = other.generateStream("Once upon a time", format);
      await abandoned.next();
      const before = dispose.mock.calls.length;
      await other.generate("Hello", { temperature: 0, maxTokens: 3 });
      expect(turn.stats.reclaimed).toBe(1);
      expect(dispose.mock.calls.length).toBe(before + 1);
      other.dispose();
    } finally {
      dispose.mockRestore();
    }
  });
});

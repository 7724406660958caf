import { beforeAll, describe, expect, it } from "vitest";
import { Llama, AbortError, ContextOverflowError, InvalidArgumentError } from "../../lib/node/index.js";
import { hasShared, sharedModel, storiesReference } from "../helpers/shared.js";
import { fixturePath } from "../helpers/fixtures.js";

describe.skipIf(!hasShared)("Llama on the real TinyStories 260K model", () => {
  let llama: Llama;
  beforeAll(async () => {
    llama = await Llama.load({ model: sharedModel("stories260K.gguf"), contextLength: 512 });
  });

  it("tokenizes the reference prompts and generates the reference greedy continuations from text", async () => {
    const cases = storiesReference().cases.filter((c) => c.text !== undefined);
    expect(cases.length).toBeGreaterThan(2);
    for (const c of cases) {
      expect(llama.tokenize(c.text!, { addBos: true })).toEqual(c.prompt);
      const result = await llama.generate(c.text!, { temperature: 0, maxTokens: c.greedy.length, addBos: true });
      // Output text skips control tokens (the 512-token run emits a BOS mid-story).
      expect(result.text, c.name).toBe(llama.tokenizer.decode(c.greedy, { skipSpecialTokens: true }));
      expect(result.finishReason).toBe("length");
      expect(result.usage).toEqual({
        promptTokens: c.prompt.length,
        completionTokens: c.greedy.length,
        totalTokens: c.prompt.length + c.greedy.length,
        cachedTokens: expect.any(Number) as number,
      });
    }
  });

  it("streams exactly the text it returns whole", async () => {
    const whole = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 40 });
    let streamed = "";
    const stream = llama.generateStream("Once upon a time", { temperature: 0, maxTokens: 40 });
    let step = await stream.next();
    while (!step.done) {
      streamed += step.value.text;
      step = await stream.next();
    }
    expect(streamed).toBe(whole.text);
    expect(step.value.text).toBe(whole.text);
  });

  it("cuts stop strings exactly and reports finish_reason stop", async () => {
    const full = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 32 });
    const at = full.text.indexOf("Lily");
    expect(at).toBeGreaterThan(0);
    const stopped = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 32, stop: ["Lily", "zzz"] });
    expect(stopped.text).toBe(full.text.slice(0, at));
    expect(stopped.finishReason).toBe("stop");
  });

  it("reuses the cached prompt prefix without changing results", async () => {
    const fresh = await Llama.load({ model: sharedModel("stories260K.gguf"), contextLength: 512 });
    const prompt = "Tom had a red ball. He liked to throw it";
    await llama.generate("Tom had a red ball.", { temperature: 0, maxTokens: 4 });
    const reused = await llama.generate(prompt, { temperature: 0, maxTokens: 24 });
    const cold = await fresh.generate(prompt, { temperature: 0, maxTokens: 24 });
    expect(reused.text).toBe(cold.text);
    fresh.dispose();
  });

  it("samples reproducibly with a seed", async () => {
    const opts = { temperature: 1, topP: 0.95, seed: 1234, maxTokens: 24 };
    const a = await llama.generate("Once upon a time", opts);
    const b = await llama.generate("Once upon a time", opts);
    const c = await llama.generate("Once upon a time", { ...opts, seed: 99 });
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it("reports logprobs with top alternatives, the chosen token most likely under greedy", async () => {
    const r = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 6, logprobs: 3 });
    expect(r.logprobs).toHaveLength(6);
    for (const lp of r.logprobs!) {
      expect(lp.logprob).toBeLessThanOrEqual(0);
      expect(lp.topLogprobs).toHaveLength(3);
      expect(lp.topLogprobs[0]!.tokenId).toBe(lp.tokenId);
      expect(lp.topLogprobs[0]!.logprob).toBeCloseTo(lp.logprob, 5);
      expect(lp.topLogprobs[1]!.logprob).toBeLessThanOrEqual(lp.topLogprobs[0]!.logprob);
    }
  });

  it("refuses prompt + maxTokens beyond the context, before generating", async () => {
    await expect(llama.generate("Once upon a time", { maxTokens: 600 })).rejects.toBeInstanceOf(ContextOverflowError);
    await expect(llama.generate("Once upon a time", { maxTokens: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("stops promptly when aborted and stays usable", async () => {
    const controller = new AbortController();
    const stream = llama.generateStream("Once upon a time", { temperature: 0, maxTokens: 200, signal: controller.signal });
    let deltas = 0;
    await expect(
      (async () => {
        for await (const _ of stream) {
          if (++deltas === 3) controller.abort();
        }
      })(),
    ).rejects.toBeInstanceOf(AbortError);
    expect(deltas).toBe(3);
    const after = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 8 });
    expect(after.text.length).toBeGreaterThan(0);
  });

  it("renders chats through the ChatML fallback when the model has no template", async () => {
    expect(llama.info.chatTemplate).toBeUndefined();
    const r = await llama.chatCompletion([{ role: "user", content: "Tell me a story" }], { temperature: 0, maxTokens: 8 });
    expect(r.usage.promptTokens).toBe(llama.chatPromptTokens([{ role: "user", content: "Tell me a story" }]).length);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
  });
});

describe("Llama on a generated fixture (no ../shared needed)", () => {
  it("loads from bytes, reports its memory, and generates", async () => {
    const { readFile } = await import("node:fs/promises");
    const bytes = await readFile(await fixturePath("tiny-llama"));
    const progress: number[] = [];
    const llama = await Llama.load({ model: new Uint8Array(bytes), contextLength: 128, onProgress: (p) => progress.push(p.loaded) });
    expect(progress.at(-1)).toBe(bytes.byteLength);
    const info = llama.info;
    expect(info.architecture).toBe("llama");
    expect(info.contextLength).toBe(128);
    expect(info.memory.total).toBe(info.memory.weights + info.memory.kvCache + info.memory.scratch);
    const r = await llama.generate("hello", { temperature: 0, maxTokens: 5 });
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    llama.dispose();
  });

  it("rejects sources it cannot read with typed errors", async () => {
    await expect(Llama.load({ model: 42 as unknown as string })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(Llama.load({ model: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) })).rejects.toMatchObject({ code: "model_format" });
  });
});

// README, HTTP API: a text prompt's special-token spellings stay text; the chat template's control tokens are parsed.
describe("special tokens in prompts (tiny-qwen2 fixture: ChatML specials)", () => {
  it("tokenizes <|im_start|> in a text prompt as characters, and as one control token in a chat prompt", async () => {
    const llama = await Llama.load({ model: await fixturePath("tiny-qwen2"), contextLength: 128 });
    try {
      const imStart = llama.tokenizer.encode("<|im_start|>", { addBos: false, parseSpecial: true });
      expect(imStart).toHaveLength(1);
      const asText = llama.tokenize("<|im_start|>user");
      expect(asText).not.toContain(imStart[0]);
      expect(asText.length).toBeGreaterThan(2);
      expect(llama.chatPromptTokens([{ role: "user", content: "hi" }])).toContain(imStart[0]);
    } finally {
      llama.dispose();
    }
  });
});

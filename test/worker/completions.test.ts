/** Chat and text completions through the Worker, JSON and SSE, against a real GGUF in real (miniflare) R2. */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { post, readSse, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(seedModels);

interface ChatBody {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{ index: number; message: { role: string; content: string }; finish_reason: string; logprobs: null | { content: Array<{ token: string; logprob: number; bytes: number[]; top_logprobs: Array<{ token: string; logprob: number }> }> } }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

interface TextBody {
  id: string;
  object: string;
  model: string;
  choices: Array<{ index: number; text: string; finish_reason: string; logprobs: null | { tokens: string[]; token_logprobs: number[]; top_logprobs: Array<Record<string, number>>; text_offset: number[] } }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

describe("POST /v1/chat/completions", () => {
  it("returns a chat.completion with usage and Server-Timing", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-llama", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }],
      max_tokens: 8, temperature: 0,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ellm-backend")).toBe("edge");
    // Headers leave after the prefill (the body is computed as it is read), so decode time is in the logs, not here.
    expect(res.headers.get("server-timing")).toMatch(/^load;dur=[\d.]+,prefill;dur=[\d.]+;desc="\d+ cached tokens"$/);
    const body = (await res.json()) as ChatBody;
    expect(body.object).toBe("chat.completion");
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.model).toBe("tiny-llama");
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(600);
    expect(body.choices).toHaveLength(1);
    const choice = body.choices[0]!;
    expect(choice.index).toBe(0);
    expect(choice.message.role).toBe("assistant");
    expect(typeof choice.message.content).toBe("string");
    expect(choice.finish_reason).toBe("length");
    expect(choice.logprobs).toBeNull();
    expect(body.usage.completion_tokens).toBe(8);
    expect(body.usage.prompt_tokens).toBeGreaterThan(3);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + 8);
  });

  it("is deterministic at temperature 0 and with a fixed seed", async () => {
    const req = { model: "tiny-llama", messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 6 };
    const a = (await (await post("/v1/chat/completions", { ...req, temperature: 0 })).json()) as ChatBody;
    const b = (await (await post("/v1/chat/completions", { ...req, temperature: 0 })).json()) as ChatBody;
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    const s1 = (await (await post("/v1/chat/completions", { ...req, temperature: 1, seed: 7 })).json()) as ChatBody;
    const s2 = (await (await post("/v1/chat/completions", { ...req, temperature: 1, seed: 7 })).json()) as ChatBody;
    expect(s1.choices[0]!.message.content).toBe(s2.choices[0]!.message.content);
  });

  it("returns chat logprobs in OpenAI's shape", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 3, temperature: 0, logprobs: true, top_logprobs: 2,
    });
    const body = (await res.json()) as ChatBody;
    const lp = body.choices[0]!.logprobs!;
    expect(lp.content.length).toBe(3);
    for (const t of lp.content) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(Array.isArray(t.bytes)).toBe(true);
      expect(t.top_logprobs).toHaveLength(2);
      // Greedy: the chosen token is the most likely one.
      expect(t.logprob).toBeCloseTo(t.top_logprobs[0]!.logprob, 4);
    }
  });

  it("refuses a prompt that does not fit the context with 400 context_length_exceeded", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-llama", messages: [{ role: "user", content: "word ".repeat(400) }], max_tokens: 10,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as OpenAIError;
    expect(body.error.code).toBe("context_length_exceeded");
    expect(body.error.param).toBe("messages");
    expect(body.error.message).toContain("256");
  });

  it("refuses max_tokens beyond the context", async () => {
    const res = await post("/v1/chat/completions", { model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 5000 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAIError).error.code).toBe("context_length_exceeded");
  });

  it("refuses logit_bias ids outside the vocabulary", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 2, logit_bias: { "99999": 5 },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAIError).error.param).toBe("logit_bias");
  });

  it("applies logit_bias (a +100 bias forces the token)", async () => {
    const res = await post("/v1/completions", { model: "tiny-llama", prompt: "a", max_tokens: 4, temperature: 0, logit_bias: { "300": 100 }, logprobs: 0 });
    const body = (await res.json()) as TextBody;
    const forced = body.choices[0]!.logprobs!.tokens;
    expect(new Set(forced).size).toBe(1);
  });

  it("streams SSE chunks: role first, content deltas, finish_reason, usage, [DONE]", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-llama", messages: [{ role: "user", content: "Hello" }], max_tokens: 10, temperature: 0,
      stream: true, stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("server-timing")).toMatch(/load;dur=[\d.]+,prefill;dur=[\d.]+/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    for (const c of chunks) expect(c.object).toBe("chat.completion.chunk");
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(10);
    const last = chunks.at(-2);
    expect(last.choices[0].finish_reason).toBe("length");
    expect(last.usage).toBeNull();
    const middle = chunks.slice(1, -2);
    expect(middle.length).toBeGreaterThan(0);
    for (const c of middle) {
      expect(c.choices[0].finish_reason).toBeNull();
      expect(typeof c.choices[0].delta.content).toBe("string");
    }
    // The streamed text equals the non-streamed completion of the same request.
    const text = middle.map((c) => c.choices[0].delta.content).join("");
    const whole = (await (await post("/v1/chat/completions", { model: "tiny-llama", messages: [{ role: "user", content: "Hello" }], max_tokens: 10, temperature: 0 })).json()) as ChatBody;
    expect(text).toBe(whole.choices[0]!.message.content);
  });

  it("omits the usage chunk unless asked", async () => {
    const res = await post("/v1/chat/completions", { model: "tiny-llama", messages: [{ role: "user", content: "Hi" }], max_tokens: 3, stream: true });
    const chunks = (await readSse(res)).slice(0, -1).map((e) => JSON.parse(e));
    for (const c of chunks) {
      expect("usage" in c).toBe(false);
      expect(c.choices).toHaveLength(1);
    }
  });
});

describe("POST /v1/completions", () => {
  it("returns a text_completion", async () => {
    const res = await post("/v1/completions", { model: "tiny-llama", prompt: "Once upon a time", max_tokens: 5, temperature: 0 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as TextBody;
    expect(body.object).toBe("text_completion");
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.choices[0]!.finish_reason).toBe("length");
    expect(body.usage.completion_tokens).toBe(5);
    expect(body.choices[0]!.logprobs).toBeNull();
  });

  it("returns legacy logprobs (tokens, token_logprobs, top_logprobs, text_offset)", async () => {
    const res = await post("/v1/completions", { model: "tiny-llama", prompt: "Once", max_tokens: 4, temperature: 0, logprobs: 3 });
    const body = (await res.json()) as TextBody;
    const lp = body.choices[0]!.logprobs!;
    expect(lp.tokens).toHaveLength(4);
    expect(lp.token_logprobs).toHaveLength(4);
    expect(lp.top_logprobs.every((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 3)).toBe(true);
    expect(lp.text_offset[0]).toBe(0);
    expect(lp.tokens.join("")).toBe(body.choices[0]!.text);
  });

  it("streams text_completion chunks", async () => {
    const res = await post("/v1/completions", {
      model: "tiny-llama", prompt: "Once upon a time", max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    for (const c of chunks) expect(c.object).toBe("text_completion");
    expect(chunks.at(-1).usage.completion_tokens).toBe(6);
    expect(chunks.at(-2).choices[0].finish_reason).toBe("length");
  });
});

describe.skipIf(!env.HAVE_STORIES)("a real model (stories260K)", () => {
  it("gives the same seeded sample in workerd as the library in Node", async () => {
    const sampling = { temperature: 0.9, top_p: 0.95, seed: 1234 };
    const res = await post("/v1/completions", { model: "stories", prompt: "Once upon a time", max_tokens: 40, ...sampling });
    const edge = (await res.json()) as { choices: Array<{ text: string }> };
    const node = await env.FIXTURES.fetch("https://fixtures/node-generate", {
      method: "POST",
      body: JSON.stringify({ prompt: "Once upon a time", contextLength: 512, maxTokens: 40, temperature: 0.9, topP: 0.95, seed: 1234 }),
    });
    expect(node.status, await node.clone().text()).toBe(200);
    const expected = ((await node.json()) as { text: string }).text;
    expect(expected.length).toBeGreaterThan(20);
    expect(edge.choices[0]!.text).toBe(expected);
  });

  it("continues a story exactly as llama2.c's greedy reference does", async () => {
    const ref = (await (await env.FIXTURES.fetch("https://fixtures/stories260K.reference.json")).json()) as {
      cases: Array<{ name: string; text?: string; greedy: number[]; greedy_text: string }>;
    };
    const once = ref.cases.find((c) => c.name === "once_upon")!;
    const res = await post("/v1/completions", { model: "stories", prompt: once.text, max_tokens: once.greedy.length, temperature: 0 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as TextBody;
    expect(body.usage.completion_tokens).toBe(once.greedy.length);
    expect(body.choices[0]!.text).toBe(once.greedy_text);
  });

  it("stops at a stop string, which is not part of the output", async () => {
    const full = (await (await post("/v1/completions", { model: "stories", prompt: "Once upon a time", max_tokens: 30, temperature: 0 })).json()) as TextBody;
    const text = full.choices[0]!.text;
    const cut = text.indexOf(" ", 5);
    expect(cut).toBeGreaterThan(0);
    const stopWord = text.slice(cut, cut + 3);
    const res = await post("/v1/completions", { model: "stories", prompt: "Once upon a time", max_tokens: 30, temperature: 0, stop: [stopWord] });
    const body = (await res.json()) as TextBody;
    expect(body.choices[0]!.finish_reason).toBe("stop");
    expect(body.choices[0]!.text).toBe(text.slice(0, text.indexOf(stopWord)));
  });
});

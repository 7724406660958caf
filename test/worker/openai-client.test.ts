/** The official `openai` npm client against the Worker (its fetch routed into the test runtime): the SDK works unchanged. */
import { SELF } from "cloudflare:test";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE, KEY, seedModels } from "./helpers.js";

beforeAll(seedModels);

const client = new OpenAI({
  apiKey: KEY,
  baseURL: `${BASE}/v1`,
  maxRetries: 0,
  fetch: (url: RequestInfo | URL, init?: RequestInit) => SELF.fetch(String(url), init),
});

describe("openai npm client", () => {
  it("lists models", async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain("tiny-llama");
  });

  it("creates a chat completion", async () => {
    const c = await client.chat.completions.create({
      model: "tiny-llama", messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 5, temperature: 0,
    });
    expect(c.object).toBe("chat.completion");
    expect(c.choices[0]!.message.role).toBe("assistant");
    expect(c.choices[0]!.finish_reason).toBe("length");
    expect(c.usage!.completion_tokens).toBe(5);
  });

  it("streams a chat completion, with the usage chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 4, temperature: 0, stream: true,
      stream_options: { include_usage: true },
    });
    let text = "", finish: string | null = null, usage: number | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice) {
        text += choice.delta.content ?? "";
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    expect(finish).toBe("length");
    expect(usage).toBe(4);
    const whole = await client.chat.completions.create({ model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 4, temperature: 0 });
    expect(text).toBe(whole.choices[0]!.message.content);
  });

  it("creates a text completion and surfaces errors as the SDK's typed errors", async () => {
    const c = await client.completions.create({ model: "tiny-llama", prompt: "Once", max_tokens: 3, temperature: 0 });
    expect(c.usage!.completion_tokens).toBe(3);
    const err = await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });
});

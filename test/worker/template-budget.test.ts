/**
 * Hostile chat templates inside workerd: a catalog entry's chatTemplate or the GGUF's own template that would loop
 * forever or build gigabytes ends in 400 template_error within the rendering budget; the isolate keeps serving.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { health, post, seedFixture, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(async () => {
  await seedModels();
  await seedFixture("tiny-llama-hostile-template.gguf");
});

const chat = (model: string) =>
  post("/v1/chat/completions", { model, messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 2, temperature: 0 });

async function expectTemplateError(res: Response): Promise<void> {
  const body = (await res.json()) as OpenAIError;
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error.code).toBe("template_error");
  expect(body.error.param).toBe("messages");
}

describe("hostile chat templates in workerd", () => {
  const names = JSON.parse(env.HOSTILE_TEMPLATES) as string[];
  names.forEach((name, i) => {
    it(`catalog chatTemplate "${name}": 400 template_error, then the good model answers`, { timeout: 60_000 }, async () => {
      await expectTemplateError(await chat(`hostile-template-${i}`));
      const good = await chat("tiny-llama");
      expect(good.status).toBe(200);
      expect(((await good.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
    });
  });

  it("the GGUF's own chat template: 400, twice (nothing wedged), and text completions on it still work", { timeout: 60_000 }, async () => {
    const before = await health();
    await expectTemplateError(await chat("hostile-gguf-template"));
    await expectTemplateError(await chat("hostile-gguf-template"));
    const text = await post("/v1/completions", { model: "hostile-gguf-template", prompt: "Once upon a time", max_tokens: 2, temperature: 0 });
    expect(text.status).toBe(200);
    await text.arrayBuffer();
    const h = await health();
    expect(h.queue.running).toBe(0);
    expect(h.generations.failed).toBe(before.generations.failed);
    expect(h.generations.rejected).toBe(before.generations.rejected + 2);
  });
});

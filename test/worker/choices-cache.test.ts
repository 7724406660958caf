/** n > 1 choices from one prefill, and prompt (KV) prefix reuse reported as cached_tokens — over HTTP, in workerd. */
import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { post, readSse, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(seedModels);

interface Body {
  choices: Array<{ index: number; text?: string; message?: { content: string }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number } };
}

describe.skipIf(!env.HAVE_STORIES)("n choices", () => {
  const req = { model: "stories", prompt: "Once upon a time", max_tokens: 12, temperature: 1, seed: 7, n: 2 };

  it("returns n seeded choices that differ, reproducibly, counting every choice's tokens", async () => {
    const a = (await (await post("/v1/completions", req)).json()) as Body;
    const b = (await (await post("/v1/completions", req)).json()) as Body;
    expect(a.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(a.choices[0]!.text).not.toBe(a.choices[1]!.text);
    expect(b.choices.map((c) => c.text)).toEqual(a.choices.map((c) => c.text));
    expect(a.usage.completion_tokens).toBe(24);
    expect(a.usage.total_tokens).toBe(a.usage.prompt_tokens + 24);
    // Choice 0 with seed 7 is what n=1 with seed 7 gives.
    const one = (await (await post("/v1/completions", { ...req, n: 1 })).json()) as Body;
    expect(one.choices[0]!.text).toBe(a.choices[0]!.text);
  });

  it("streams chunks that carry their choice index, a finish per choice, then one usage chunk", async () => {
    const res = await post("/v1/chat/completions", {
      model: "stories", messages: [{ role: "user", content: "Hi" }], max_tokens: 6, temperature: 1, seed: 3, n: 3, stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const events = (await readSse(res)).slice(0, -1).map((e) => JSON.parse(e) as { choices: Array<{ index: number; finish_reason: string | null }>; usage: Body["usage"] | null });
    const finishes = events.flatMap((e) => e.choices.filter((c) => c.finish_reason !== null).map((c) => c.index));
    expect(finishes).toEqual([0, 1, 2]);
    expect(new Set(events.flatMap((e) => e.choices.map((c) => c.index)))).toEqual(new Set([0, 1, 2]));
    expect(events.at(-1)!.usage!.completion_tokens).toBe(18);
  });

  it("refuses n above MAX_N with a 400 naming n", async () => {
    const res = await post("/v1/completions", { ...req, n: 5 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAIError).error.param).toBe("n");
  });
});

describe.skipIf(!env.HAVE_STORIES)("prompt prefix reuse", () => {
  const history = [
    { role: "system", content: "You tell short stories about animals. ".repeat(6) },
    { role: "user", content: "Tell me about a cat who found a red ball in the garden and played all day. ".repeat(2) },
    { role: "assistant", content: "The cat ran and jumped and was very happy with the ball. ".repeat(2) },
  ];
  const turn2 = [...history, { role: "user", content: "And then?" }];
  const chat = (messages: object[], extra: object = {}) =>
    post("/v1/chat/completions", { model: "stories", messages, max_tokens: 4, temperature: 0, ...extra });
  const prefillMs = (res: Response) => Number(/prefill;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")![1]);

  it("reuses a repeated history's K/V and says so in usage and Server-Timing", async () => {
    await chat(history); // turn 1 leaves its prompt in the cache
    const warm = await chat(turn2);
    const warmBody = (await warm.json()) as Body;
    expect(warmBody.usage.prompt_tokens).toBeGreaterThan(200);
    expect(warmBody.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(200);
    expect(warm.headers.get("server-timing")).toContain(`desc="${warmBody.usage.prompt_tokens_details.cached_tokens} cached tokens"`);

    await chat(history);
    const cold = await chat(turn2, { cache_prompt: false });
    const coldBody = (await cold.json()) as Body;
    expect(coldBody.usage.prompt_tokens_details.cached_tokens).toBe(0);
    // Same tokens either way: reuse changes the work, not the answer.
    expect(coldBody.choices[0]!.message!.content).toBe(warmBody.choices[0]!.message!.content);
    console.log(
      `turn 2 (${warmBody.usage.prompt_tokens} prompt tokens): prefill ${prefillMs(warm).toFixed(1)} ms with reuse ` +
        `(${warmBody.usage.prompt_tokens_details.cached_tokens} cached), ${prefillMs(cold).toFixed(1)} ms without`,
    );
  });
});

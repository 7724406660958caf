/**
 * The origin's OpenAI objects → neutral events (worker/origin/upstream-events.ts), then through the one encoder:
 * what carries over from vLLM/llama.cpp-shaped answers (legacy function calls, both logprob shapes, n choices, usage
 * with and without cached tokens) and what does not (the origin's ids, model name, extra fields).
 */
import { describe, expect, it } from "vitest";
import { streamOf } from "../../worker/backend/backend.js";
import { completionResponse, type EncodeOptions } from "../../worker/openai/encode.js";
import { chunkEvents, completionEvents } from "../../worker/origin/upstream-events.js";

const meta = { id: "chatcmpl-ours", created: 9, model: "our-model" };
const json = (kind: "chat" | "text", logprobs?: number): EncodeOptions => ({ kind, stream: false, logprobs, includeUsage: false });
const encode = async (o: EncodeOptions, body: unknown) =>
  (await completionResponse(o, streamOf("origin", meta, completionEvents(body, o.kind))).json()) as Record<string, any>;

describe("origin answers → events → our encoder", () => {
  it("keeps a legacy function call and its finish reason; drops the origin's id, model and extras", async () => {
    const body = await encode(json("chat"), {
      id: "chatcmpl-upstream", object: "chat.completion", created: 1, model: "upstream-model", system_fingerprint: "fp_x",
      choices: [{ index: 0, message: { role: "assistant", content: null, function_call: { name: "f", arguments: '{"x":1}' } }, finish_reason: "function_call" }],
      usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 },
    });
    expect(body).toEqual({
      id: "chatcmpl-ours", object: "chat.completion", created: 9, model: "our-model",
      choices: [{ index: 0, message: { role: "assistant", content: null, function_call: { name: "f", arguments: '{"x":1}' }, refusal: null }, logprobs: null, finish_reason: "function_call" }],
      usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 }, // no cached-token figure the origin did not give
    });
  });

  it("carries both logprob shapes over unchanged", async () => {
    const text = { tokens: ["a", "bc"], token_logprobs: [-0.5, -1.5], top_logprobs: [{ a: -0.5, b: -2 }, { bc: -1.5 }], text_offset: [0, 1] };
    const t = await encode(json("text", 2), { choices: [{ index: 0, text: "abc", logprobs: text, finish_reason: "length" }] });
    expect(t.choices[0].logprobs).toEqual(text);
    const content = [{ token: "Hi", logprob: -0.25, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.25, bytes: [72, 105] }] }];
    const c = await encode(json("chat", 1), { choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, logprobs: { content }, finish_reason: "stop" }] });
    expect(c.choices[0].logprobs).toEqual({ content, refusal: null });
  });

  it("orders n choices by their index and counts cached tokens where the origin says them", async () => {
    const body = await encode(json("text"), {
      choices: [{ index: 1, text: "two", finish_reason: "stop" }, { index: 0, text: "one", finish_reason: "length" }],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8, prompt_tokens_details: { cached_tokens: 2 } },
    });
    expect(body.choices.map((c: { text: string; finish_reason: string }) => [c.text, c.finish_reason])).toEqual([["one", "length"], ["two", "stop"]]);
    expect(body.usage.prompt_tokens_details).toEqual({ cached_tokens: 2 });
  });

  it("refuses an answer without choices (a 502 upstream_error before any byte)", () => {
    expect(() => completionEvents({ object: "chat.completion" }, "chat")).toThrow(expect.objectContaining({ kind: "malformed" }));
  });

  it("reads streamed chunks: one start per choice even when the role repeats, content and finish, usage", () => {
    const started = new Set<number>();
    const chunk = (choices: object[], extra: object = {}) => ({ id: "up", object: "chat.completion.chunk", choices, ...extra });
    const events = [
      chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
      chunk([{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: "!" }, finish_reason: "stop" }]),
      chunk([], { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
    ].flatMap((c) => chunkEvents(c, "chat", started));
    expect(events).toEqual([
      { type: "start", index: 0 },
      { type: "delta", index: 0, text: "Hi" },
      { type: "delta", index: 0, text: "!" },
      { type: "finish", index: 0, reason: "stop" },
      { type: "usage", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
    ]);
  });
});

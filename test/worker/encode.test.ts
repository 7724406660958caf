/**
 * The one OpenAI encoder (worker/openai/encode.ts), inside workerd: the same neutral events — what the edge and the
 * origin backends both produce — written as the exact SSE text and the JSON answer folded from them; failures after
 * the headers; pull pacing (one event per SSE pull, nothing computed ahead of the reader); and the origin's parsers
 * (upstream-events.ts, upstream-stream.ts) reading our own output back into the same events.
 */
import { describe, expect, it } from "vitest";
import { streamOf, type CompletionEvent, type CompletionStream, type StreamEnd } from "../../worker/backend/backend.js";
import { HttpError } from "../../worker/http/errors.js";
import { completionResponse, type EncodeOptions } from "../../worker/openai/encode.js";
import { completionEvents } from "../../worker/origin/upstream-events.js";
import { UpstreamSseStream } from "../../worker/origin/upstream-stream.js";

const meta = { id: "chatcmpl-1", created: 7, model: "m" };
const lp = (token: string, logprob: number) => ({ token, logprob, bytes: [...new TextEncoder().encode(token)], topLogprobs: [{ token, logprob, bytes: null }] });
const chat = (o: Partial<EncodeOptions> = {}): EncodeOptions => ({ kind: "chat", stream: true, logprobs: undefined, includeUsage: false, ...o });
const usage = { promptTokens: 5, completionTokens: 3, totalTokens: 8, cachedTokens: 2 };

/** Two choices: one with text, one with a streamed tool call. */
const events: CompletionEvent[] = [
  { type: "start", index: 0 },
  { type: "start", index: 1 },
  { type: "delta", index: 0, text: "Hi" },
  { type: "delta", index: 0, text: " there" },
  { type: "finish", index: 0, reason: "stop" },
  { type: "delta", index: 1, text: "", toolCalls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] },
  { type: "delta", index: 1, text: "", toolCalls: [{ index: 0, function: { arguments: '{"a":' } }] },
  { type: "delta", index: 1, text: "", toolCalls: [{ index: 0, function: { arguments: "1}" } }] },
  { type: "finish", index: 1, reason: "tool_calls" },
  { type: "usage", usage },
];

const chunk = (choice: object, o: { usage?: boolean } = {}) => ({
  id: "chatcmpl-1", object: "chat.completion.chunk", created: 7, model: "m", choices: [choice], ...(o.usage ? { usage: null } : {}),
});
const sse = (...payloads: unknown[]) => payloads.map((p) => `data: ${typeof p === "string" ? p : JSON.stringify(p)}\n\n`).join("");

/** A stream that ends as told and counts its pulls. */
function counted(list: readonly CompletionEvent[], end: StreamEnd = { kind: "complete" }): CompletionStream & { pulls: number; cancelled: unknown } {
  const inner = streamOf("edge", meta, list);
  const s = {
    backend: "edge" as const, meta, pulls: 0, cancelled: undefined as unknown,
    async next() {
      s.pulls++;
      const step = await inner.next();
      return step.done ? { done: true as const, value: end } : step;
    },
    cancel(reason: unknown) {
      s.cancelled = reason;
    },
  };
  return s;
}

describe("OpenAI encoder", () => {
  it("writes a chat stream as OpenAI does: roles first, deltas, tool-call pieces, finishes, usage, [DONE]", async () => {
    const res = completionResponse(chat({ includeUsage: true }), streamOf("origin", meta, events));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-ellm-backend")).toBe("origin");
    const u = { usage: true };
    expect(await res.text()).toBe(sse(
      chunk({ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 1, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 0, delta: { content: "Hi" }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 0, delta: { content: " there" }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }, u),
      chunk({ index: 1, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: "1}" } }] }, logprobs: null, finish_reason: null }, u),
      chunk({ index: 1, delta: {}, logprobs: null, finish_reason: "tool_calls" }, u),
      { id: "chatcmpl-1", object: "chat.completion.chunk", created: 7, model: "m", choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, prompt_tokens_details: { cached_tokens: 2 } } },
      "[DONE]",
    ));
  });

  it("folds the same events into the JSON answer, after one space per delta and per finished choice", async () => {
    const res = completionResponse(chat({ stream: false }), streamOf("edge", meta, events));
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-ellm-backend")).toBe("edge");
    const text = await res.text();
    expect(text.length - text.trimStart().length).toBe(7);
    expect(JSON.parse(text)).toEqual({
      id: "chatcmpl-1", object: "chat.completion", created: 7, model: "m",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hi there", refusal: null }, logprobs: null, finish_reason: "stop" },
        {
          index: 1, logprobs: null, finish_reason: "tool_calls",
          message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }], refusal: null },
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, prompt_tokens_details: { cached_tokens: 2 } },
    });
  });

  it("writes text completions with logprobs: text offsets per piece in SSE, from 0 in JSON", async () => {
    const text: CompletionEvent[] = [
      { type: "start", index: 0 },
      { type: "delta", index: 0, text: "ab", logprobs: [lp("a", -1), lp("b", -2)] },
      { type: "delta", index: 0, text: "c", logprobs: [lp("c", -3)] },
      { type: "finish", index: 0, reason: "length" },
    ];
    const opts: EncodeOptions = { kind: "text", stream: true, logprobs: 1, includeUsage: false };
    const payloads = (await completionResponse(opts, streamOf("edge", meta, text)).text()).split("\n\n").filter(Boolean);
    expect(payloads.at(-1)).toBe("data: [DONE]");
    const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p.slice(6)) as { object: string; choices: Array<{ text: string; logprobs: { text_offset: number[]; top_logprobs: object[] } }> });
    expect(chunks.map((c) => c.object)).toEqual(["text_completion", "text_completion", "text_completion"]); // no role chunk
    expect(chunks.map((c) => c.choices[0]!.text)).toEqual(["ab", "c", ""]);
    expect(chunks.map((c) => c.choices[0]!.logprobs.text_offset)).toEqual([[0, 1], [2], []]);
    const body = (await completionResponse({ ...opts, stream: false }, streamOf("edge", meta, text)).json()) as Record<string, any>;
    expect(body.choices[0]).toEqual({
      index: 0, text: "abc", finish_reason: "length",
      logprobs: { tokens: ["a", "b", "c"], token_logprobs: [-1, -2, -3], top_logprobs: [{ a: -1 }, { b: -2 }, { c: -3 }], text_offset: [0, 1, 2] },
    });
    expect(body.usage).toBeUndefined(); // none was reported
  });

  it("ends a stream that fails after its headers with the error event and [DONE]; a JSON answer's body errors", async () => {
    const error = new HttpError(503, "service_unavailable", "stopped", null, "client_too_slow");
    const failed: StreamEnd = { kind: "failed", error };
    const head = events.slice(0, 3);
    const text = await completionResponse(chat(), counted(head, failed)).text();
    expect(text.endsWith(sse(error.body(), "[DONE]"))).toBe(true);
    await expect(completionResponse(chat({ stream: false }), counted(head, failed)).text()).rejects.toBe(error);
    // The client left: nothing more is written, not even [DONE].
    expect(await completionResponse(chat(), counted(head, { kind: "gone" })).text()).not.toContain("[DONE]");
  });

  it("pulls one event per SSE read and cancels the stream when the client does", async () => {
    const stream = counted(events);
    const reader = completionResponse(chat(), stream).body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.pulls).toBeLessThanOrEqual(2); // the chunk read, and at most one queued behind it
    await reader.cancel("bye");
    expect(stream.cancelled).toBe("bye");
  });

  it("the origin's parsers read our own output back into the same answer (SSE and JSON)", async () => {
    const req = chat({ includeUsage: true });
    const sent = await completionResponse(req, streamOf("edge", meta, events)).text();
    const bytes = new TextEncoder().encode(sent);
    const reader = new Response(bytes.slice(40)).body!.getReader();
    let ends: string[] = [];
    const parsed = new UpstreamSseStream({
      kind: "chat", meta, first: bytes.slice(0, 40), reader, classify: () => "upstream_failed", onEnd: (end) => void ends.push(end),
    });
    expect(await completionResponse(req, parsed).text()).toBe(sent);
    expect(ends).toEqual(["done"]);

    const whole = await completionResponse(chat({ stream: false }), streamOf("edge", meta, events)).json();
    const again = await completionResponse(chat({ stream: false }), streamOf("origin", meta, completionEvents(whole, "chat"))).json();
    expect(again).toEqual(whole);

    // A stream that just stops is an error for the client, not a complete answer.
    ends = [];
    const cut = new UpstreamSseStream({
      kind: "chat", meta, first: bytes.slice(0, 40), reader: new Response(bytes.slice(40, 200)).body!.getReader(),
      classify: () => "upstream_failed", onEnd: (end) => void ends.push(end),
    });
    expect(await completionResponse(req, cut).text()).toContain('"code":"upstream_error"');
    expect(ends).toEqual(["upstream_closed"]);
  });
});

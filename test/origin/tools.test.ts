/**
 * Where tool calls are served: on the edge when it can (an `auto` model small enough, its grammar fitting beside
 * it), else on the origin — a model too large for the edge sends its tool requests there, which come back in
 * OpenAI's shape unchanged, JSON and streamed, the tool fields and tool messages forwarded as sent. Legacy
 * `functions` stay origin-only: an edge-only model answers 400.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { RecordedRequest } from "./fault-server.js";
import { ssePayloads } from "./contract.js";
import { seedStories, workerFetch } from "./harness.js";

const faultUrl = inject("faultUrl");
const tools = [
  { type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string", maxLength: 16 } }, required: ["city"] } } },
];
const messages = [
  { role: "user", content: "Weather in Paris?" },
  { role: "assistant", content: null, tool_calls: [{ id: "call_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Lyon"}' } }] },
  { role: "tool", tool_call_id: "call_0", content: "12°C" },
  { role: "user", content: "And Paris?" },
];
const ask = (model: string, extra: object, requestId: string = crypto.randomUUID()) =>
  workerFetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model, messages, tools, tool_choice: "auto", max_tokens: 16, ...extra }),
  });
const recorded = async (id: string): Promise<RecordedRequest[]> => (await fetch(`${faultUrl}/__log/${id}`)).json();

describe.skipIf(!faultUrl)("tool requests: edge or origin", () => {
  beforeAll(seedStories);

  it("serves an auto model's tool request on the edge when the model and its grammar fit", async () => {
    // 140 prompt tokens + 100 fit the 256 positions of the tiny model that stands in without ../shared.
    const res = await ask("stories-auto", { tool_choice: "required", parallel_tool_calls: false, max_tokens: 100, temperature: 0 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ellm-backend")).toBe("edge");
    const body = (await res.json()) as { choices: Array<{ message: { tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }; finish_reason: string }> };
    const choice = body.choices[0]!;
    if (choice.finish_reason === "length") return; // cut by max_tokens: nothing to parse
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls![0]!.function.name).toBe("get_weather");
    expect(Object.keys(JSON.parse(choice.message.tool_calls![0]!.function.arguments) as object)).toEqual(["city"]);
  });

  it("sends a tool request for a model too large for the edge to the origin and returns its tool call unchanged", async () => {
    const id = `tools-${crypto.randomUUID()}`;
    const res = await ask("stories-huge", {}, id);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ellm-backend")).toBe("origin");
    const body = (await res.json()) as { model: string; choices: Array<{ message: { tool_calls: unknown[] }; finish_reason: string }> };
    expect(body.model).toBe("stories-huge");
    expect(body.choices[0]!.finish_reason).toBe("tool_calls");
    expect(body.choices[0]!.message.tool_calls).toEqual([
      { id: "call_up1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);
    const [up] = await recorded(id);
    const sent = up!.body as { model: string; tools: unknown; tool_choice: unknown; messages: unknown };
    expect(sent.model).toBe(inject("upstreamModel"));
    expect(sent.tools).toEqual(tools);
    expect(sent.tool_choice).toBe("auto");
    expect(sent.messages).toEqual(messages);
  });

  it("streams the origin's tool-call deltas through", async () => {
    const res = await ask("stories-huge", { stream: true });
    expect(res.status).toBe(200);
    const chunks = (await ssePayloads(res)).filter((p) => p !== "[DONE]").map((p) => JSON.parse(p) as { choices: Array<{ delta: { tool_calls?: Array<{ function: { arguments?: string } }> }; finish_reason: string | null }> });
    const args = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).map((t) => t.function.arguments ?? "").join("");
    expect(args).toBe('{"city":"Paris"}');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("refuses legacy functions on an edge-only model with a 400 naming the field", async () => {
    const res = await workerFetch("/v1/chat/completions", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "stories", messages: [{ role: "user", content: "hi" }], functions: [{ name: "f", parameters: {} }] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string; code: string } };
    expect(body.error).toMatchObject({ param: "functions", code: "unsupported_parameter" });
  });
});

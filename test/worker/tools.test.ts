/**
 * Tool calling on the edge, inside workerd: `tools` + `tool_choice` + `parallel_tool_calls` on
 * /v1/chat/completions, whole and streamed, through raw HTTP and the official openai client (its stream helper
 * accumulates the deltas into `tool_calls`; `chat.completions.parse` with zod tools and a zod response format);
 * the next request carries the call and its result; bad definitions are 400s naming the field; a grammar that
 * would not fit beside the model is a 503 the failover sends to an origin.
 * (ajv cannot run in workerd — no code generation — so arguments are checked field by field.)
 */
import { SELF } from "cloudflare:test";
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { completeWithFailover } from "../../worker/backend/failover.js";
import { checkGrammarFits, grammarFits } from "../../worker/backend/grammar-fit.js";
import { streamOf, type Backend } from "../../worker/backend/backend.js";
import type { CatalogEntry } from "../../worker/catalog/schema.js";
import { validateChatRequest } from "../../worker/openai/validate.js";
import { upstreamBody } from "../../worker/origin/upstream-request.js";
import { BASE, KEY, post, readSse, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(seedModels);

const tools = [
  {
    type: "function" as const,
    function: {
      name: "get_weather", description: "Weather in a city",
      parameters: { type: "object", properties: { city: { type: "string", maxLength: 16 }, unit: { enum: ["c", "f"] } }, required: ["city", "unit"], additionalProperties: false },
    },
  },
  {
    type: "function" as const,
    function: {
      name: "add",
      parameters: { type: "object", properties: { a: { type: "integer", minimum: 0, maximum: 99 }, b: { type: "integer", minimum: 0, maximum: 99 } }, required: ["a", "b"], additionalProperties: false },
    },
  },
];
const messages = [{ role: "user", content: "What is the weather in Paris?" }];

function checkCall(call: { id: string; type: string; function: { name: string; arguments: string } }) {
  expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
  expect(call.type).toBe("function");
  const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
  if (call.function.name === "get_weather") {
    expect(Object.keys(args).sort()).toEqual(["city", "unit"]);
    expect(typeof args.city === "string" && Array.from(args.city).length <= 16).toBe(true); // maxLength counts code points
    expect(["c", "f"]).toContain(args.unit);
  } else {
    expect(call.function.name).toBe("add");
    expect(Object.keys(args).sort()).toEqual(["a", "b"]);
    for (const v of [args.a, args.b]) expect(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 99).toBe(true);
  }
}

type ChatBody = { choices: Array<{ message: { content: string | null; tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }> }; finish_reason: string }> };

describe("tools on the edge", () => {
  it("tool_choice required: message.tool_calls with ids, content null, finish_reason tool_calls", async () => {
    let finished = 0;
    for (const [temperature, seed] of [[0, 0], [0.9, 1], [1.2, 2]] as const) {
      const res = await post("/v1/chat/completions", { model: "tiny-tools", messages, tools, tool_choice: "required", max_tokens: 160, temperature, seed });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ellm-backend")).toBe("edge");
      const choice = ((await res.json()) as ChatBody).choices[0]!;
      if (choice.finish_reason === "length") continue;
      expect(choice.finish_reason).toBe("tool_calls");
      expect(choice.message.content).toBeNull();
      expect(choice.message.tool_calls!.length).toBeGreaterThan(0);
      choice.message.tool_calls!.forEach(checkCall);
      finished++;
    }
    expect(finished).toBeGreaterThan(0);
  });

  it("a named tool and parallel_tool_calls false: exactly that one call", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-tools", messages, tools, tool_choice: { type: "function", function: { name: "add" } }, parallel_tool_calls: false, max_tokens: 160, temperature: 0,
    });
    const choice = ((await res.json()) as ChatBody).choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toHaveLength(1);
    expect(choice.message.tool_calls![0]!.function.name).toBe("add");
    checkCall(choice.message.tool_calls![0]!);
  });

  it("streams delta.tool_calls as OpenAI does: index, id, type, name and empty arguments first, then fragments", async () => {
    const res = await post("/v1/chat/completions", { model: "tiny-tools", messages, tools, tool_choice: "required", parallel_tool_calls: false, max_tokens: 160, temperature: 0, stream: true });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    type Chunk = { choices: Array<{ delta: { content?: string; tool_calls?: Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments: string } }> }; finish_reason: string | null }> };
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    const pieces = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(pieces[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: expect.any(String), arguments: "" } });
    expect(pieces.slice(1).every((p) => p.id === undefined && p.function.name === undefined && p.index === 0)).toBe(true);
    const streamed = { id: pieces[0]!.id!, type: "function", function: { name: pieces[0]!.function.name!, arguments: pieces.map((p) => p.function.arguments).join("") } };
    checkCall(streamed);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("tool_calls");
    // The same call as the whole response (greedy), apart from its fresh id.
    const whole = (await (await post("/v1/chat/completions", { model: "tiny-tools", messages, tools, tool_choice: "required", parallel_tool_calls: false, max_tokens: 160, temperature: 0 })).json()) as ChatBody;
    expect(whole.choices[0]!.message.tool_calls![0]!.function).toEqual(streamed.function);
  });

  it("auto lets the model answer in text (no tool_calls) or call; tool_choice none is plain text", async () => {
    const auto = (await (await post("/v1/chat/completions", { model: "tiny-tools", messages, tools, max_tokens: 24, temperature: 0.8, seed: 5 })).json()) as ChatBody;
    const a = auto.choices[0]!;
    if (a.message.tool_calls) a.message.tool_calls.forEach(checkCall);
    else expect(typeof a.message.content).toBe("string");
    const none = (await (await post("/v1/chat/completions", { model: "tiny-tools", messages, tools, tool_choice: "none", max_tokens: 8, temperature: 0 })).json()) as ChatBody;
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
    expect(none.choices[0]!.finish_reason).toBe("length");
  });

  it("accepts the assistant's call and the tool's result in the next request", async () => {
    const first = (await (await post("/v1/chat/completions", { model: "tiny-tools", messages, tools, tool_choice: "required", parallel_tool_calls: false, max_tokens: 160, temperature: 0 })).json()) as ChatBody;
    const call = first.choices[0]!.message.tool_calls![0]!;
    const res = await post("/v1/chat/completions", {
      model: "tiny-tools", tools, max_tokens: 8, temperature: 0,
      messages: [...messages, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "18 C" }],
    });
    expect(res.status).toBe(200);
    // A tool message without the id of its call is refused.
    const bad = await post("/v1/chat/completions", { model: "tiny-tools", max_tokens: 4, messages: [...messages, { role: "tool", content: "18 C" }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OpenAIError).error.param).toBe("messages[1].tool_call_id");
  });

  it("bad tool definitions are 400s naming the field", async () => {
    const cases: Array<[object, string]> = [
      [{ tools: "x" }, "tools"],
      [{ tools: [{ type: "function", function: { name: "has space" } }] }, "tools[0].function.name"],
      [{ tools: [{ type: "code_interpreter" }] }, "tools[0].type"],
      [{ tools: [{ type: "function", function: { name: "f", parameters: 3 } }] }, "tools[0].function.parameters"],
      [{ tools, tool_choice: { type: "function", function: { name: "nope" } } }, "tool_choice.function.name"],
      [{ tools, tool_choice: "always" }, "tool_choice"],
      [{ tools, parallel_tool_calls: "yes" }, "parallel_tool_calls"],
      [{ tool_choice: "required" }, "tool_choice"],
      [{ tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { not: {} } } } } }] }, "tools[0].function.parameters"],
    ];
    for (const [extra, param] of cases) {
      const res = await post("/v1/chat/completions", { model: "tiny-tools", messages, max_tokens: 4, ...extra });
      expect(res.status, param).toBe(400);
      const err = (await res.json()) as OpenAIError;
      expect(err.error.param, JSON.stringify(extra)).toBe(param);
      expect(err.error.type).toBe("invalid_request_error");
    }
  });
});

describe("openai npm client with tools", () => {
  const client = new OpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, maxRetries: 0, fetch: (url: RequestInfo | URL, init?: RequestInit) => SELF.fetch(String(url), init) });

  it("streams a tool call; the SDK's stream helper accumulates it into a valid tool_calls entry", async () => {
    const stream = client.chat.completions.stream({
      model: "tiny-tools", messages: [{ role: "user", content: "Weather in Paris?" }], tools, tool_choice: "required", parallel_tool_calls: false, max_tokens: 160, temperature: 0,
    });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe("function");
    checkCall(call as { id: string; type: string; function: { name: string; arguments: string } });
  });

  it("chat.completions.parse with zod tools gives parsed_arguments; with a zod response format, message.parsed", async () => {
    const Weather = z.object({ city: z.string().max(16), unit: z.enum(["c", "f"]) });
    const parsed = await client.chat.completions.parse({
      model: "tiny-tools", messages: [{ role: "user", content: "Weather in Paris?" }], max_tokens: 160, temperature: 0,
      tools: [zodFunction({ name: "get_weather", parameters: Weather, description: "Weather in a city" })], tool_choice: "required", parallel_tool_calls: false,
    });
    const call = parsed.choices[0]!.message.tool_calls![0]!;
    expect(call.function.name).toBe("get_weather");
    expect(Weather.parse(call.function.parsed_arguments)).toEqual(call.function.parsed_arguments);

    const Person = z.object({ name: z.string().max(12), mood: z.enum(["happy", "sad"]) });
    const r = await client.chat.completions.parse({
      model: "tiny-llama", messages: [{ role: "user", content: "A person" }], max_tokens: 190, temperature: 0,
      response_format: zodResponseFormat(Person, "person"),
    });
    const message = r.choices[0]!.message;
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(Person.parse(message.parsed)).toEqual(message.parsed);
  });
});

describe("where tools are served", () => {
  const entry = (backend: CatalogEntry["backend"]): CatalogEntry => ({
    id: "m", r2Key: "k", bytes: 1, sha256: "0".repeat(64), format: "gguf", quantization: "Q4_1", contextLength: 2048, backend, origin: { model: "up" },
  });
  const MiB = 2 ** 20;

  it("the grammar does not fit beside SmolLM2-135M at 2048 positions (122.8 MiB), fits beside a small model", () => {
    expect(grammarFits(122.8 * MiB, 49152)).toBe(false);
    expect(grammarFits(100 * MiB, 49152)).toBe(true);
    expect(grammarFits(2 * MiB, 512)).toBe(true);
    const info = { vocabSize: 49152, contextLength: 2048, memory: { wasmMemory: 122.8 * MiB } } as Parameters<typeof checkGrammarFits>[1];
    let thrown: unknown;
    try {
      checkGrammarFits("smollm2", info);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ status: 503, code: "grammar_memory" });
    expect((thrown as Error).message).toContain("CONTEXT_LENGTH");
  });

  it("an auto model whose grammar does not fit fails over to the origin; an edge model keeps the 503", async () => {
    const refused = (() => {
      try {
        checkGrammarFits("m", { vocabSize: 49152, contextLength: 2048, memory: { wasmMemory: 126 * MiB } } as Parameters<typeof checkGrammarFits>[1]);
      } catch (e) {
        return e;
      }
    })();
    const edge: Backend = { name: "edge", complete: () => Promise.reject(refused) };
    const meta = { id: "chatcmpl-o", created: 1, model: "m" };
    const origin: Backend = { name: "origin", complete: () => Promise.resolve(streamOf("origin", meta, [{ type: "delta", index: 0, text: "from origin" }])) };
    const request = validateChatRequest({ model: "m", messages, tools });
    const ctx = { requestId: "r", signal: new AbortController().signal, env: {} as never, timing: { add() {} } };
    const done = await completeWithFailover(edge, { edge, origin }, entry("auto"), request, ctx);
    expect(done.backend.name).toBe("origin");
    expect(await done.stream.next()).toEqual({ done: false, value: { type: "delta", index: 0, text: "from origin" } });
    await expect(completeWithFailover(edge, { edge, origin }, entry("edge"), request, ctx)).rejects.toMatchObject({ code: "grammar_memory" });
  });

  it("an origin gets the tool fields and tool messages as the client sent them", () => {
    const sent = [...messages, { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' } }] }, { role: "tool", tool_call_id: "call_1", content: "3" }];
    const body = upstreamBody(validateChatRequest({ model: "m", messages: sent, tools, tool_choice: "auto", parallel_tool_calls: false }), "up");
    expect(body.tools).toEqual(tools);
    expect(body.tool_choice).toBe("auto");
    expect(body.parallel_tool_calls).toBe(false);
    expect(body.messages).toEqual(sent);
  });
});

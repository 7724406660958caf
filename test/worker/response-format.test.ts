/**
 * response_format on /v1/chat/completions inside workerd: JSON mode and structured outputs (json_schema), whole and
 * streamed, through raw HTTP and the official openai client; unsupported schema keywords are a 400 naming them.
 * (ajv cannot run here — workerd forbids code generation — so outputs are checked field by field; the Node suite
 * test/lib/grammar.test.ts validates the full schema corpus with ajv.)
 */
import { SELF } from "cloudflare:test";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { validateChatRequest } from "../../worker/openai/validate.js";
import { upstreamBody } from "../../worker/origin/upstream-request.js";
import { BASE, KEY, post, readSse, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(seedModels);

const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 12 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    pets: { type: "array", items: { enum: ["cat", "dog", "fish"] }, maxItems: 3 },
    address: { $ref: "#/$defs/address" },
  },
  required: ["name", "age", "pets", "address"],
  additionalProperties: false,
  $defs: { address: { type: "object", properties: { zip: { type: "string", pattern: "^[0-9]{5}$" } }, required: ["zip"], additionalProperties: false } },
};

function checkPerson(text: string) {
  const v = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(v).sort()).toEqual(["address", "age", "name", "pets"]);
  expect(typeof v.name === "string" && v.name.length <= 12).toBe(true);
  expect(Number.isInteger(v.age) && (v.age as number) >= 0 && (v.age as number) <= 120).toBe(true);
  expect(Array.isArray(v.pets) && v.pets.length <= 3 && v.pets.every((p) => ["cat", "dog", "fish"].includes(p as string))).toBe(true);
  expect(v.address).toEqual({ zip: expect.stringMatching(/^[0-9]{5}$/) });
}

const request = (extra: object) => ({
  model: "tiny-llama",
  messages: [{ role: "user", content: "Describe a person as JSON." }],
  max_tokens: 150,
  response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
  ...extra,
});

describe("response_format on the edge", () => {
  it("json_schema: the content parses and matches the schema, for several seeds and temperatures", async () => {
    let finished = 0;
    for (const [temperature, seed] of [[0, 0], [0.8, 1], [1.2, 2], [1, 3]] as const) {
      const res = await post("/v1/chat/completions", request({ temperature, seed }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
      const choice = body.choices[0]!;
      if (choice.finish_reason === "length") continue;
      expect(choice.finish_reason).toBe("stop");
      checkPerson(choice.message.content);
      finished++;
    }
    expect(finished).toBeGreaterThan(0);
  });

  it("json_schema streamed: the deltas add up to the same JSON as the whole response", async () => {
    const whole = (await (await post("/v1/chat/completions", request({ temperature: 0 }))).json()) as {
      choices: { message: { content: string }; finish_reason: string }[];
    };
    const res = await post("/v1/chat/completions", request({ temperature: 0, stream: true }));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { content?: string }; finish_reason: string | null }[] });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe(whole.choices[0]!.finish_reason);
    if (whole.choices[0]!.finish_reason === "stop") checkPerson(text);
  });

  it("json_object gives a JSON object", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny-llama", messages: [{ role: "user", content: "JSON please" }], max_tokens: 150, temperature: 0.7, seed: 4,
      response_format: { type: "json_object" },
    });
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
    const { content } = body.choices[0]!.message;
    expect(content.startsWith("{")).toBe(true);
    if (body.choices[0]!.finish_reason === "stop") {
      const v: unknown = JSON.parse(content);
      expect(typeof v === "object" && v !== null && !Array.isArray(v)).toBe(true);
    }
  });

  it("an unsupported schema keyword is a 400 naming it, before any generation", async () => {
    const schema = { type: "object", properties: { a: { not: { type: "string" } } } };
    const res = await post("/v1/chat/completions", request({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } }));
    expect(res.status).toBe(400);
    const err = (await res.json()) as OpenAIError;
    expect(err.error.param).toBe("response_format.json_schema.schema");
    expect(err.error.message).toContain('"not"');
    expect(err.error.type).toBe("invalid_request_error");
    // A $ref to nothing is refused the same way.
    const dangling = await post("/v1/chat/completions", request({ response_format: { type: "json_schema", json_schema: { name: "x", schema: { $ref: "#/$defs/nope" } } } }));
    expect(dangling.status).toBe(400);
  });
});

describe("openai npm client with a json_schema response_format", () => {
  const client = new OpenAI({
    apiKey: KEY,
    baseURL: `${BASE}/v1`,
    maxRetries: 0,
    fetch: (url: RequestInfo | URL, init?: RequestInit) => SELF.fetch(String(url), init),
  });

  it("returns content that parses and matches the schema", async () => {
    const c = await client.chat.completions.create({
      model: "tiny-llama",
      messages: [{ role: "user", content: "Describe a person." }],
      max_tokens: 150,
      temperature: 0,
      response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
    });
    const choice = c.choices[0]!;
    if (choice.finish_reason === "stop") checkPerson(choice.message.content!);
    else expect(c.usage!.completion_tokens).toBe(150);
  });

  it("streams with json_object", async () => {
    const stream = await client.chat.completions.create({
      model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 120, temperature: 0.5, seed: 9, stream: true,
      response_format: { type: "json_object" },
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text.startsWith("{")).toBe(true);
    if (finish === "stop") expect(typeof JSON.parse(text)).toBe("object");
  });
});

describe("response_format towards the origin", () => {
  it("is written back in OpenAI's shape (the origin enforces it itself)", () => {
    const req = validateChatRequest(request({}));
    expect(upstreamBody(req, "big").response_format).toEqual({ type: "json_schema", json_schema: { name: "person", schema: person, strict: true } });
    const jsonMode = validateChatRequest(request({ response_format: { type: "json_object" } }));
    expect(upstreamBody(jsonMode, "big").response_format).toEqual({ type: "json_object" });
    const text = validateChatRequest(request({ response_format: { type: "text" } }));
    expect(upstreamBody(text, "big").response_format).toBeUndefined();
  });
});

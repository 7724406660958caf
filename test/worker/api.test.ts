/** HTTP surface without generation: auth, routing, validation errors, body limit, CORS, catalog listing. */
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index.js";
import { BASE, KEY, get, post, type OpenAIError } from "./helpers.js";

const chat = { model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 2 };

async function expectError(res: Response, status: number, param: string | null, code?: string): Promise<OpenAIError> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  expect(res.headers.get("x-request-id")).toBeTruthy();
  const body = (await res.json()) as OpenAIError;
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.param).toBe(param);
  if (code !== undefined) expect(body.error.code).toBe(code);
  return body;
}

describe("auth", () => {
  it("rejects a missing key with 401", async () => {
    const body = await expectError(await post("/v1/chat/completions", chat, { key: null }), 401, null, "missing_api_key");
    expect(body.error.type).toBe("authentication_error");
  });

  it("rejects a wrong key with 401, also on GET routes", async () => {
    await expectError(await post("/v1/chat/completions", chat, { key: "test-key-3" }), 401, null, "invalid_api_key");
    await expectError(await get("/v1/models", "nope"), 401, null, "invalid_api_key");
  });

  it("answers another scheme like a missing key, with the Bearer challenge (Hono's bearer auth)", async () => {
    const res = await SELF.fetch(`${BASE}/v1/models`, { headers: { authorization: "Basic dGVzdDp0ZXN0" } });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    await expectError(res, 401, null, "missing_api_key");
    const wrong = await get("/v1/models", "nope");
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(wrong.headers.get("x-request-id")).toBeTruthy(); // the request-id middleware still wraps the 401
  });

  it("accepts every configured key", async () => {
    expect((await get("/v1/models", "test-key-1")).status).toBe(200);
    expect((await get("/v1/models", "test-key-2")).status).toBe(200);
  });

  it("leaves /healthz public and reports whether auth is on", async () => {
    const res = await SELF.fetch(`${BASE}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { auth: string }).auth).toBe("enabled");
  });

  it("is disabled when API_KEYS is unset, and /healthz says so", async () => {
    const open = { ...env, API_KEYS: undefined };
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const models = await worker.fetch(new Request(`${BASE}/v1/models`), open, ctx);
    expect(models.status).toBe(200);
    await models.arrayBuffer();
    const health = await worker.fetch(new Request(`${BASE}/healthz`), open, ctx);
    expect(((await health.json()) as { auth: string }).auth).toBe("disabled");
  });
});

describe("routing and observability", () => {
  it("answers unknown routes with an OpenAI-shaped 404", async () => {
    const body = await expectError(await get("/v1/embeddings"), 404, null, "unknown_route");
    expect(body.error.type).toBe("not_found_error");
  });

  it("answers an unknown model with 404 naming 'model'", async () => {
    await expectError(await post("/v1/chat/completions", { ...chat, model: "gpt-9" }), 404, "model", "model_not_found");
    await expectError(await get("/v1/models/gpt-9"), 404, "model", "model_not_found");
  });

  it("sets x-request-id (echoing a sane incoming one) and x-ellm-backend on every response", async () => {
    const mine = await SELF.fetch(`${BASE}/healthz`, { headers: { "x-request-id": "req-123" } });
    expect(mine.headers.get("x-request-id")).toBe("req-123");
    expect(mine.headers.get("x-ellm-backend")).toBe("edge");
    await mine.arrayBuffer();
    const fresh = await get("/v1/nothing");
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await fresh.arrayBuffer();
    // Ours, wider than Hono's default rule ('.' and ':'), at most 128 characters.
    const dotted = await SELF.fetch(`${BASE}/healthz`, { headers: { "x-request-id": "trace.1:span-2" } });
    expect(dotted.headers.get("x-request-id")).toBe("trace.1:span-2");
    await dotted.arrayBuffer();
    for (const bad of ["a".repeat(129), "two words", "<script>"]) {
      const res = await SELF.fetch(`${BASE}/healthz`, { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      await res.arrayBuffer();
    }
  });

  it("refuses origin-only models with 503 + Retry-After while no origin is configured", async () => {
    for (const model of ["origin-only", "huge-auto"]) {
      const res = await post("/v1/chat/completions", { ...chat, model });
      expect(res.headers.get("retry-after")).toBe("60");
      await expectError(res, 503, "model", "backend_unavailable");
    }
  });
});

describe("catalog listing", () => {
  it("lists bundled and configured models in OpenAI's list shape", async () => {
    const res = await get("/v1/models");
    const body = (await res.json()) as { object: string; data: Array<{ id: string; object: string; owned_by: string; created: number }> };
    expect(body.object).toBe("list");
    const ids = body.data.map((m) => m.id);
    expect(ids).toContain("stories260k"); // bundled from models/
    expect(ids).toContain("tiny-llama"); // from the CATALOG variable
    for (const m of body.data) {
      expect(m.object).toBe("model");
      expect(m.owned_by).toBe("ellm-edge");
      expect(Number.isInteger(m.created)).toBe(true);
    }
  });

  it("returns one model by id", async () => {
    const res = await get("/v1/models/tiny-llama");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: "tiny-llama", object: "model", context_length: 256, edge_context_length: 256, backend: "edge" });
  });

  it("reports the context the edge allocates (CONTEXT_LENGTH caps it), and the catalog's where the origin serves", async () => {
    const capped = { ...env, CONTEXT_LENGTH: "128" };
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const auth = { authorization: `Bearer ${KEY}` };
    const tiny = await worker.fetch(new Request(`${BASE}/v1/models/tiny-llama`, { headers: auth }), capped, ctx);
    expect(await tiny.json()).toMatchObject({ context_length: 128, edge_context_length: 128 });
    const origin = (await (await get("/v1/models/origin-only")).json()) as Record<string, unknown>;
    expect(origin).toMatchObject({ context_length: 4096, backend: "origin" });
    expect(origin).not.toHaveProperty("edge_context_length");
    // An "auto" model without an origin configured can only use the edge's context.
    expect(await (await get("/v1/models/huge-auto")).json()).toMatchObject({ context_length: 2048, edge_context_length: 2048 });
  });
});

describe("playground page", () => {
  it("serves GET / as HTML without auth, with a CSP that allows only its own script", async () => {
    const res = await SELF.fetch(`${BASE}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain("/v1/chat/completions");
    expect(html).not.toContain("test-key"); // nothing from the server's configuration reaches the page
  });

  it("is gone with PLAYGROUND=off: GET / is the ordinary 404", async () => {
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request(`${BASE}/`), { ...env, PLAYGROUND: "off" }, ctx);
    await expectError(res, 404, null, "unknown_route");
  });
});

describe("request validation (400 naming the field)", () => {
  const cases: Array<[string, string, Record<string, unknown>, string | null, string]> = [
    ["missing model", "/v1/chat/completions", { messages: chat.messages }, "model", "missing_required_parameter"],
    ["missing messages", "/v1/chat/completions", { model: "tiny-llama" }, "messages", "missing_required_parameter"],
    ["empty messages", "/v1/chat/completions", { model: "tiny-llama", messages: [] }, "messages", "invalid_type"],
    ["bad role", "/v1/chat/completions", { ...chat, messages: [{ role: "robot", content: "x" }] }, "messages[0].role", "invalid_value"],
    ["null content", "/v1/chat/completions", { ...chat, messages: [{ role: "user", content: null }] }, "messages[0].content", "invalid_type"],
    ["message field", "/v1/chat/completions", { ...chat, messages: [{ role: "user", content: "x", foo: 1 }] }, "messages[0].foo", "unknown_parameter"],
    ["tool message without id", "/v1/chat/completions", { ...chat, messages: [{ role: "tool", content: "3" }] }, "messages[0].tool_call_id", "invalid_value"],
    ["tool_calls on a user message", "/v1/chat/completions", { ...chat, messages: [{ role: "user", content: "x", tool_calls: [] }] }, "messages[0].tool_calls", "invalid_value"],
    ["image part", "/v1/chat/completions", { ...chat, messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }, "messages[0].content[0].type", "unsupported_parameter"],
    ["temperature range", "/v1/chat/completions", { ...chat, temperature: 3 }, "temperature", "invalid_value"],
    ["temperature type", "/v1/chat/completions", { ...chat, temperature: "hot" }, "temperature", "invalid_type"],
    ["top_p range", "/v1/chat/completions", { ...chat, top_p: 1.5 }, "top_p", "invalid_value"],
    ["top_k type", "/v1/chat/completions", { ...chat, top_k: 2.5 }, "top_k", "invalid_type"],
    ["min_p range", "/v1/chat/completions", { ...chat, min_p: -0.1 }, "min_p", "invalid_value"],
    ["presence_penalty", "/v1/chat/completions", { ...chat, presence_penalty: 2.5 }, "presence_penalty", "invalid_value"],
    ["frequency_penalty", "/v1/chat/completions", { ...chat, frequency_penalty: -3 }, "frequency_penalty", "invalid_value"],
    ["repetition_penalty 0", "/v1/chat/completions", { ...chat, repetition_penalty: 0 }, "repetition_penalty", "invalid_value"],
    ["seed type", "/v1/chat/completions", { ...chat, seed: 1.5 }, "seed", "invalid_type"],
    ["max_tokens 0", "/v1/chat/completions", { ...chat, max_tokens: 0 }, "max_tokens", "invalid_value"],
    ["max_completion_tokens type", "/v1/chat/completions", { ...chat, max_completion_tokens: "9" }, "max_completion_tokens", "invalid_type"],
    ["stop too many", "/v1/chat/completions", { ...chat, stop: ["a", "b", "c", "d", "e"] }, "stop", "invalid_value"],
    ["stop type", "/v1/chat/completions", { ...chat, stop: 5 }, "stop", "invalid_type"],
    ["logit_bias key", "/v1/chat/completions", { ...chat, logit_bias: { abc: 1 } }, "logit_bias", "invalid_value"],
    ["logit_bias value", "/v1/chat/completions", { ...chat, logit_bias: { "5": 200 } }, "logit_bias", "invalid_value"],
    ["top_logprobs without logprobs", "/v1/chat/completions", { ...chat, top_logprobs: 2 }, "top_logprobs", "invalid_value"],
    ["top_logprobs range", "/v1/chat/completions", { ...chat, logprobs: true, top_logprobs: 21 }, "top_logprobs", "invalid_value"],
    ["n above MAX_N", "/v1/chat/completions", { ...chat, n: 5 }, "n", "invalid_value"],
    ["n type", "/v1/chat/completions", { ...chat, n: 0 }, "n", "invalid_value"],
    ["stream type", "/v1/chat/completions", { ...chat, stream: "yes" }, "stream", "invalid_type"],
    ["stream_options without stream", "/v1/chat/completions", { ...chat, stream_options: { include_usage: true } }, "stream_options", "invalid_value"],
    ["stream_options key", "/v1/chat/completions", { ...chat, stream: true, stream_options: { continuous_usage_stats: true } }, "stream_options.continuous_usage_stats", "unsupported_parameter"],
    ["user type", "/v1/chat/completions", { ...chat, user: 7 }, "user", "invalid_type"],
    ["tools empty", "/v1/chat/completions", { ...chat, tools: [] }, "tools", "invalid_value"],
    ["functions", "/v1/chat/completions", { ...chat, functions: [] }, "functions", "unsupported_parameter"],
    ["response_format type", "/v1/chat/completions", { ...chat, response_format: { type: "yaml" } }, "response_format.type", "invalid_value"],
    ["response_format shape", "/v1/chat/completions", { ...chat, response_format: "json" }, "response_format", "invalid_type"],
    ["json_schema missing", "/v1/chat/completions", { ...chat, response_format: { type: "json_schema" } }, "response_format.json_schema", "invalid_type"],
    ["json_schema name", "/v1/chat/completions", { ...chat, response_format: { type: "json_schema", json_schema: { name: "a b", schema: {} } } }, "response_format.json_schema.name", "invalid_value"],
    ["json_schema field", "/v1/chat/completions", { ...chat, response_format: { type: "json_schema", json_schema: { name: "x", schema: {}, extra: 1 } } }, "response_format.json_schema.extra", "unknown_parameter"],
    ["json_schema not object", "/v1/chat/completions", { ...chat, response_format: { type: "json_schema", json_schema: { name: "x", schema: [1] } } }, "response_format.json_schema.schema", "invalid_type"],
    ["unknown field", "/v1/chat/completions", { ...chat, frobnicate: 1 }, "frobnicate", "unknown_parameter"],
    ["suffix", "/v1/completions", { model: "tiny-llama", prompt: "a", suffix: "b" }, "suffix", "unsupported_parameter"],
    ["missing prompt", "/v1/completions", { model: "tiny-llama" }, "prompt", "missing_required_parameter"],
    ["batched prompt", "/v1/completions", { model: "tiny-llama", prompt: ["a", "b"] }, "prompt", "unsupported_parameter"],
    ["token prompt", "/v1/completions", { model: "tiny-llama", prompt: [1, 2, 3] }, "prompt", "invalid_type"],
    ["echo", "/v1/completions", { model: "tiny-llama", prompt: "a", echo: true }, "echo", "unsupported_parameter"],
    ["best_of", "/v1/completions", { model: "tiny-llama", prompt: "a", best_of: 3 }, "best_of", "unsupported_parameter"],
    ["completions logprobs range", "/v1/completions", { model: "tiny-llama", prompt: "a", logprobs: 30 }, "logprobs", "invalid_value"],
  ];
  for (const [name, path, body, param, code] of cases) {
    it(name, async () => {
      const err = await expectError(await post(path, body), 400, param, code);
      expect(err.error.type).toBe("invalid_request_error");
      if (param) expect(err.error.message).toContain(param.split(".").pop()!.replace(/\[\d+\]$/, ""));
    });
  }

  it("rejects a non-JSON body", async () => {
    await expectError(await post("/v1/chat/completions", "{not json"), 400, null, "invalid_json");
  });

  it("rejects a JSON body that is not an object", async () => {
    await expectError(await post("/v1/chat/completions", "[1,2]"), 400, null, "invalid_type");
  });

  it("rejects a body over MAX_BODY_BYTES with 413", async () => {
    const big = { ...chat, messages: [{ role: "user", content: "x".repeat(70_000) }] };
    await expectError(await post("/v1/chat/completions", big), 413, null, "request_too_large");
  });

  it("rejects an oversized chunked body (no Content-Length) with 413", async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...chat, messages: [{ role: "user", content: "y".repeat(70_000) }] }));
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.subarray(i, i + 8192));
        c.close();
      },
    });
    const res = await SELF.fetch(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer test-key-1", "content-type": "application/json" },
      body,
    });
    await expectError(res, 413, null, "request_too_large");
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin without requiring a key", async () => {
    const res = await SELF.fetch(`${BASE}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-headers")).toContain("authorization");
  });

  it("does not allow other origins", async () => {
    const res = await SELF.fetch(`${BASE}/healthz`, { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    await res.arrayBuffer();
  });
});

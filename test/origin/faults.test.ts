/**
 * OriginBackend against a fault-injecting origin (test/origin/fault-server.ts) over real loopback fetches from
 * workerd: model mapping, key handling, timeouts, retries, 5xx/4xx translation, malformed and broken streams,
 * client disconnects and the circuit breaker. Each test uses its own scenario URL, hence its own breaker.
 */
import { describe, expect, inject, it } from "vitest";
import { OriginBackend } from "../../worker/origin/backend.js";
import type { OriginEnv } from "../../worker/origin/config.js";
import type { RecordedRequest } from "./fault-server.js";
import { ssePayloads } from "./contract.js";
import { callOrigin, originEntry } from "./harness.js";

const faultUrl = inject("faultUrl");
const refusedUrl = inject("refusedUrl");
const entry = originEntry("our-model", "upstream-model");
const CHAT = "/v1/chat/completions" as const;
const TEXT = "/v1/completions" as const;
const chat = { model: "our-model", messages: [{ role: "user", content: "hi" }], max_tokens: 4 };

let seq = 0;
/** A fresh scenario URL (fresh counters on the fault server, a fresh breaker in the isolate). */
const scenario = (name: string) => `${faultUrl}/${name}-${++seq}`;
const fast: OriginEnv = { ORIGIN_RETRY_BACKOFF_MS: "10" };

async function recorded(requestId: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${faultUrl}/__log/${encodeURIComponent(requestId)}`);
  return res.json();
}

async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> { // returns as soon as ok: the bound only matters on a loaded machine
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function errorOf(res: Response) {
  expect(res.headers.get("content-type")).toContain("application/json");
  const text = await res.text();
  const body = JSON.parse(text) as { error: { message: string; type: string; param: string | null; code: string | null } };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  return { ...body.error, text };
}

// The worker project (vitest.worker.config.ts) also matches this file but provides no origins: nothing to run there.
describe.skipIf(!faultUrl)("origin proxy against a fault-injecting origin", () => {
  describe("forwarding", () => {
    it("maps the model both ways, sends the origin's key and no client header (JSON)", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, temperature: 0.5, stop: ["x"] }, {
        requestId, vars: { ORIGIN_URL: scenario("ok"), ORIGIN_API_KEY: "origin-secret" },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ellm-backend")).toBe("origin");
      const body = await res.json() as Record<string, any>;
      expect(body.model).toBe("our-model");
      expect(body.choices[0].message.content).toBe("Hi there");
      const [up] = await recorded(requestId);
      expect(up!.path).toBe(CHAT);
      expect(up!.body).toEqual({
        model: "upstream-model", messages: [{ role: "user", content: "hi" }], max_tokens: 4, temperature: 0.5, stop: ["x"], stream: false,
      });
      expect(up!.headers.authorization).toBe("Bearer origin-secret");
      expect(up!.headers["x-request-id"]).toBe(requestId);
      // Only headers the proxy builds itself (plus what the runtime's fetch adds) reach the origin.
      const names = Object.keys(up!.headers).filter((h) => !["host", "content-length", "accept-encoding", "connection", "user-agent", "cf-ray", "cf-worker"].includes(h));
      expect(names.sort()).toEqual(["accept", "authorization", "content-type", "x-request-id"]);
    });

    it("sends no Authorization at all when ORIGIN_API_KEY is unset", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, TEXT, { model: "our-model", prompt: "a" }, {
        requestId, vars: { ORIGIN_URL: scenario("ok"), ORIGIN_API_KEY: "" },
      });
      expect(res.status).toBe(200);
      expect((await res.json() as Record<string, any>).model).toBe("our-model");
      const [up] = await recorded(requestId);
      expect(up!.path).toBe(TEXT);
      expect(up!.headers.authorization).toBeUndefined();
    });

    it("maps the model in every SSE chunk and passes keep-alives and [DONE] through", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true, stream_options: { include_usage: true } }, {
        requestId, vars: { ORIGIN_URL: scenario("ok") },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const text = await res.clone().text();
      expect(text.startsWith(": ping\n\n")).toBe(true); // the origin's comment text is not passed on
      const payloads = await ssePayloads(res);
      expect(payloads.at(-1)).toBe("[DONE]");
      const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p) as Record<string, any>);
      expect(chunks).toHaveLength(3);
      for (const c of chunks) expect(c.model).toBe("our-model");
      expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe("Hi there");
      const [up] = await recorded(requestId);
      expect(up!.body).toMatchObject({ model: "upstream-model", stream: true, stream_options: { include_usage: true } });
      expect(up!.headers.accept).toBe("text/event-stream");
    });

    it("reassembles lines split across chunks, inside UTF-8 characters and CRLF endings", async () => {
      const res = await callOrigin(new OriginBackend(), entry, TEXT, { model: "our-model", prompt: "a", stream: true }, {
        vars: { ORIGIN_URL: scenario("split") },
      });
      const payloads = await ssePayloads(res);
      expect(payloads.at(-1)).toBe("[DONE]");
      const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p) as Record<string, any>);
      expect(chunks.map((c) => c.model)).toEqual(["our-model", "our-model"]);
      expect(chunks[0]!.choices[0].text).toBe("héllo €");
      expect(chunks[1]!.choices[0].finish_reason).toBe("stop");
    });
  });

  describe("failures before the first byte", () => {
    it("origin down (connection refused) → 502 upstream_unreachable, after the retries", async () => {
      const t0 = Date.now();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { vars: { ...fast, ORIGIN_URL: refusedUrl, ORIGIN_RETRIES: "2" } });
      expect(res.status).toBe(502);
      const err = await errorOf(res);
      expect(err.code).toBe("upstream_unreachable");
      expect(err.type).toBe("server_error");
      expect(err.text).not.toContain("127.0.0.1");
      expect(Date.now() - t0).toBeGreaterThanOrEqual(30); // two backoffs: 10 ms + 20 ms
    });

    it("no response headers within the connect timeout (stream) → 504, retried, each attempt closed", async () => {
      const requestId = crypto.randomUUID();
      const t0 = Date.now();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true }, {
        requestId, vars: { ...fast, ORIGIN_URL: scenario("hang"), ORIGIN_CONNECT_TIMEOUT_MS: "150", ORIGIN_RETRIES: "1" },
      });
      const ms = Date.now() - t0;
      expect(res.status).toBe(504);
      expect((await errorOf(res)).code).toBe("upstream_timeout");
      expect(ms).toBeGreaterThanOrEqual(300);
      expect(ms).toBeLessThan(3000);
      const ups = await waitFor(() => recorded(requestId), (r) => r.length === 2 && r.every((u) => u.closedEarly));
      expect(ups.map((u) => u.closedEarly)).toEqual([true, true]);
    });

    it("origin slow to send its first byte → 504 after the first-byte timeout, not retried", async () => {
      const requestId = crypto.randomUUID();
      const t0 = Date.now();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true }, {
        requestId, vars: { ...fast, ORIGIN_URL: scenario("slow-first-byte"), ORIGIN_FIRST_BYTE_TIMEOUT_MS: "200", ORIGIN_RETRIES: "2" },
      });
      expect(res.status).toBe(504);
      expect((await errorOf(res)).code).toBe("upstream_timeout");
      expect(Date.now() - t0).toBeLessThan(3000);
      const ups = await waitFor(() => recorded(requestId), (r) => r[0]?.closedEarly === true);
      expect(ups).toHaveLength(1);
      expect(ups[0]!.closedEarly).toBe(true);
    });

    it("a non-streaming request that outlives the deadline → 504", async () => {
      const requestId = crypto.randomUUID();
      const t0 = Date.now();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, {
        requestId, vars: { ORIGIN_URL: scenario("hang"), ORIGIN_DEADLINE_MS: "250" },
      });
      expect(res.status).toBe(504);
      expect((await errorOf(res)).code).toBe("upstream_timeout");
      expect(Date.now() - t0).toBeLessThan(3000);
      const ups = await waitFor(() => recorded(requestId), (r) => r[0]?.closedEarly === true);
      expect(ups[0]!.closedEarly).toBe(true);
    });

    it("503 is retried, then reported as 502 upstream_error without the upstream body", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, {
        requestId, vars: { ...fast, ORIGIN_URL: scenario("status-503"), ORIGIN_RETRIES: "2" },
      });
      expect(res.status).toBe(502);
      const err = await errorOf(res);
      expect(err.code).toBe("upstream_error");
      expect(err.text).not.toContain("overloaded");
      expect(await recorded(requestId)).toHaveLength(3);
    });

    it("a transient 502 is hidden by one retry", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true }, {
        requestId, vars: { ...fast, ORIGIN_URL: scenario("flaky") },
      });
      expect(res.status).toBe(200);
      expect((await ssePayloads(res)).at(-1)).toBe("[DONE]");
      expect(await recorded(requestId)).toHaveLength(2);
    });

    it("500 is not retried and leaks nothing (no traceback, address or upstream model name)", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { requestId, vars: { ...fast, ORIGIN_URL: scenario("status-500") } });
      expect(res.status).toBe(502);
      const err = await errorOf(res);
      expect(err.code).toBe("upstream_error");
      for (const leak of ["Traceback", "10.1.2.3", "upstream-model"]) expect(err.text).not.toContain(leak);
      expect(await recorded(requestId)).toHaveLength(1);
    });

    it("a well-formed 400 passes through with our model name and without the origin's address", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { vars: { ORIGIN_URL: scenario("bad-request") } });
      expect(res.status).toBe(400);
      const err = await errorOf(res);
      expect(err).toMatchObject({ type: "invalid_request_error", param: "max_tokens", code: "bad_max" });
      expect(err.message).toContain("our-model");
      expect(err.text).not.toContain("upstream-model");
      expect(err.text).not.toContain("10.1.2.3");
    });

    it("a 400 that is not OpenAI-shaped becomes a generic 400", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { vars: { ORIGIN_URL: scenario("bad-request-html") } });
      expect(res.status).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe("upstream_rejected");
      expect(err.text).not.toContain("nginx");
    });

    it("the origin refusing our key is our fault: 502, not the client's 401", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { vars: { ORIGIN_URL: scenario("unauthorized") } });
      expect(res.status).toBe(502);
      const err = await errorOf(res);
      expect(err.code).toBe("upstream_auth");
      expect(err.text).not.toContain("sk-origin");
    });

    it("a bad ORIGIN_URL is a 503 for the client and names nothing internal", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { vars: { ORIGIN_URL: "ftp://nope" } });
      expect(res.status).toBe(503);
      expect((await errorOf(res)).code).toBe("backend_unavailable");
    });
  });

  describe("failures after the first byte", () => {
    const events = async (res: Response) => (await ssePayloads(res)).map((p) => (p === "[DONE]" ? p : JSON.parse(p) as Record<string, any>));

    it("a data line that is not JSON ends the stream with an error event and [DONE]", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true }, { vars: { ORIGIN_URL: scenario("malformed") } });
      expect(res.status).toBe(200);
      const ev = await events(res);
      expect(ev).toHaveLength(3);
      expect((ev[0] as Record<string, any>).choices[0].delta.content).toBe("Hi");
      expect((ev[1] as Record<string, any>).error).toMatchObject({ type: "server_error", code: "upstream_error" });
      expect(ev[2]).toBe("[DONE]");
    });

    it("an in-band upstream error event is replaced by ours (no internals)", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true }, { vars: { ORIGIN_URL: scenario("upstream-error-event") } });
      const text = await res.clone().text();
      expect(text).not.toContain("CUDA");
      expect(text).not.toContain("/opt/vllm");
      const ev = await events(res);
      expect((ev[1] as Record<string, any>).error.code).toBe("upstream_error");
      expect(ev.at(-1)).toBe("[DONE]");
    });

    it("llama.cpp's `error:` line becomes our error event, then [DONE]", async () => {
      const res = await callOrigin(new OriginBackend(), entry, CHAT, { ...chat, stream: true }, { vars: { ORIGIN_URL: scenario("llama-error-line") } });
      const text = await res.clone().text();
      expect(text).not.toContain("ggml");
      const ev = await events(res);
      expect(ev).toHaveLength(3);
      expect((ev[1] as Record<string, any>).error.code).toBe("upstream_error");
      expect(ev[2]).toBe("[DONE]");
    });

    it("a connection that dies mid-stream ends with an error event and [DONE]", async () => {
      const res = await callOrigin(new OriginBackend(), entry, TEXT, { model: "our-model", prompt: "a", stream: true }, { vars: { ORIGIN_URL: scenario("drop") } });
      const ev = await events(res);
      expect((ev[0] as Record<string, any>).choices[0].text).toBe("Hi");
      expect((ev.at(-2) as Record<string, any>).error.code).toBe("upstream_error");
      expect(ev.at(-1)).toBe("[DONE]");
    });

    it("the deadline cuts a long stream with an upstream_timeout event", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, TEXT, { model: "our-model", prompt: "a", stream: true }, {
        requestId, vars: { ORIGIN_URL: scenario("endless"), ORIGIN_DEADLINE_MS: "300" },
      });
      const ev = await events(res);
      expect(ev.length).toBeGreaterThan(3);
      expect((ev.at(-2) as Record<string, any>).error.code).toBe("upstream_timeout");
      expect(ev.at(-1)).toBe("[DONE]");
      const [up] = await waitFor(() => recorded(requestId), (r) => r[0]?.closedEarly === true);
      expect(up!.closedEarly).toBe(true);
    });
  });

  describe("client disconnect", () => {
    it("cancelling the response body mid-stream cancels the upstream request", async () => {
      const requestId = crypto.randomUUID();
      const res = await callOrigin(new OriginBackend(), entry, TEXT, { model: "our-model", prompt: "a", stream: true }, {
        requestId, vars: { ORIGIN_URL: scenario("endless") },
      });
      const reader = res.body!.getReader();
      for (let i = 0; i < 3; i++) expect((await reader.read()).done).toBe(false);
      await reader.cancel();
      const [up] = await waitFor(() => recorded(requestId), (r) => r[0]?.closedEarly === true);
      expect(up!.closedEarly).toBe(true);
      const sent = up!.chunksSent;
      expect(sent).toBeLessThan(3000);
      await new Promise((r) => setTimeout(r, 100));
      expect((await recorded(requestId))[0]!.chunksSent).toBe(sent); // the origin stopped producing
    });

    it("the client's abort signal cancels the upstream request", async () => {
      const requestId = crypto.randomUUID();
      const client = new AbortController();
      const res = await callOrigin(new OriginBackend(), entry, TEXT, { model: "our-model", prompt: "a", stream: true }, {
        requestId, signal: client.signal, vars: { ORIGIN_URL: scenario("endless") },
      });
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      client.abort();
      const [up] = await waitFor(() => recorded(requestId), (r) => r[0]?.closedEarly === true);
      expect(up!.closedEarly).toBe(true);
      await reader.cancel().catch(() => {});
    });

    it("a client gone before the headers never reaches the origin", async () => {
      const requestId = crypto.randomUUID();
      const client = new AbortController();
      client.abort();
      const res = await callOrigin(new OriginBackend(), entry, CHAT, chat, { requestId, signal: client.signal, vars: { ORIGIN_URL: scenario("ok") } });
      expect(res.status).toBe(499);
      await res.arrayBuffer();
      expect(await recorded(requestId)).toHaveLength(0);
    });
  });

  describe("circuit breaker", () => {
    const vars = (url: string): OriginEnv => ({
      ORIGIN_URL: url, ORIGIN_RETRIES: "0", ORIGIN_BREAKER_THRESHOLD: "2", ORIGIN_BREAKER_COOLDOWN_MS: "300",
    });
    const setSwitch = (url: string, state: "fail" | "ok") => fetch(`${faultUrl}/__switch/${url.split("/").pop()}/${state}`, { method: "POST" });

    it("opens after consecutive failures (fail fast, 503 + Retry-After), half-opens after the cool-down, closes on success", async () => {
      const url = scenario("switch");
      const backend = new OriginBackend();
      await setSwitch(url, "fail");
      for (let i = 0; i < 2; i++) {
        const res = await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) });
        expect(res.status).toBe(502);
        await res.arrayBuffer();
      }
      const requestId = crypto.randomUUID();
      const open = await callOrigin(backend, entry, CHAT, chat, { requestId, vars: vars(url) });
      expect(open.status).toBe(503);
      expect(open.headers.get("retry-after")).toBe("1");
      expect((await errorOf(open)).code).toBe("origin_unavailable");
      expect(await recorded(requestId)).toHaveLength(0); // failed fast: the origin never saw it
      expect(backend.stats.rejected).toBe(1);
      expect(backend.breakerState({ ...vars(url) } as never)).toBe("open");

      await new Promise((r) => setTimeout(r, 350));
      expect(backend.breakerState({ ...vars(url) } as never)).toBe("half-open");
      await setSwitch(url, "ok");
      const trial = await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) });
      expect(trial.status).toBe(200);
      await trial.arrayBuffer();
      expect(backend.breakerState({ ...vars(url) } as never)).toBe("closed");
      const after = await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) });
      expect(after.status).toBe(200);
      await after.arrayBuffer();
    });

    it("a failed half-open trial re-opens it at once", async () => {
      const url = scenario("switch");
      const backend = new OriginBackend();
      await setSwitch(url, "fail");
      for (let i = 0; i < 2; i++) await (await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) })).arrayBuffer();
      await new Promise((r) => setTimeout(r, 350));
      const trial = await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) });
      expect(trial.status).toBe(502);
      await trial.arrayBuffer();
      const again = await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) });
      expect(again.status).toBe(503);
      await again.arrayBuffer();
    });

    it("client errors (4xx) do not count as origin failures", async () => {
      const url = scenario("bad-request");
      const backend = new OriginBackend();
      for (let i = 0; i < 4; i++) {
        const res = await callOrigin(backend, entry, CHAT, chat, { vars: vars(url) });
        expect(res.status).toBe(400);
        await res.arrayBuffer();
      }
      expect(backend.breakerState({ ...vars(url) } as never)).toBe("closed");
    });
  });
});

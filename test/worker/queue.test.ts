/** The isolate's generation queue (MAX_QUEUE=2 in the test config) and client aborts mid-stream. */
import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import worker from "../../worker/index.js";
import { BASE, KEY, health, post, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(seedModels);

/**
 * Requests whose client goes away are sent to the Worker in-process, with the abort signal on the Request (what
 * workerd's request.signal does on a real disconnect): aborting a SELF.fetch leaves the test runner's workerd waiting
 * on that request at shutdown, so the run would never end.
 */
function direct(body: object, signal?: AbortSignal): Promise<Response> {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const request = new Request(`${BASE}/v1/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  return Promise.resolve(worker.fetch(request, env, ctx));
}

const longStream = (signal?: AbortSignal) =>
  direct({ model: "stories", prompt: "Once upon a time", max_tokens: 400, temperature: 0, stream: true }, signal);

/** The isolate still serves generations after an abort (the model is not left blocked by the abandoned one). */
async function expectServed(): Promise<void> {
  const res = await post("/v1/completions", { model: "stories", prompt: "One day", max_tokens: 3, temperature: 0 });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(3);
}

/**
 * A live client that reads its stream slowly: it keeps the model's turn (each read pulls one token) until stopped.
 * A client that stops reading loses the turn to waiters within a quarter second.
 */
function keepReading(reader: ReadableStreamDefaultReader<Uint8Array>): () => void {
  let on = true;
  void (async () => {
    while (on) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return () => (on = false);
}

async function until(cond: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!env.HAVE_STORIES)("per-isolate generation queue", () => {
  it("queues up to MAX_QUEUE requests behind the running one and refuses the rest with 429 + Retry-After", async () => {
    // Holds the slot: a stream we do not read far (the SSE body only generates as the client reads).
    const holderGone = new AbortController();
    const holder = await longStream(holderGone.signal);
    expect(holder.status).toBe(200);
    const stopReading = keepReading(holder.body!.getReader());
    expect((await health()).queue.running).toBe(1);

    // Each waiter's body is read as soon as its headers come (its tokens are computed as it is read).
    const waiting = [0, 1].map(() =>
      post("/v1/completions", { model: "stories", prompt: "One day", max_tokens: 3, temperature: 0 }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { usage: { completion_tokens: number } },
      })),
    );
    await until(async () => (await health()).queue.waiting === 2, "two waiting requests");

    const refused = await post("/v1/completions", { model: "stories", prompt: "One day", max_tokens: 3 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as OpenAIError;
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.code).toBe("queue_full");

    // Releasing the slot lets the queued requests through, in order.
    stopReading();
    holderGone.abort();
    for (const res of await Promise.all(waiting)) {
      expect(res.status).toBe(200);
      expect(res.body.usage.completion_tokens).toBe(3);
    }
    const h = await health();
    expect(h.queue).toMatchObject({ running: 0, waiting: 0, max: 2 });
  });

  it("drops a queued request whose client goes away", async () => {
    const holderGone = new AbortController();
    const holder = await longStream(holderGone.signal);
    const stopReading = keepReading(holder.body!.getReader());
    const gone = new AbortController();
    const queued = direct({ model: "stories", prompt: "One day", max_tokens: 3 }, gone.signal);
    await until(async () => (await health()).queue.waiting === 1, "one waiting request");
    gone.abort();
    await queued.catch(() => undefined);
    await until(async () => (await health()).queue.waiting === 0, "the aborted request to leave the queue");
    expect((await health()).queue.running).toBe(1);
    stopReading();
    holderGone.abort();
    await until(async () => (await health()).queue.running === 0, "the holder to release the slot");
  });

  it("a holder that stops reading loses the turn to a waiter, and its stream says why", async () => {
    const holder = await longStream();
    const reader = holder.body!.getReader();
    await reader.read(); // then stops reading
    const waiter = await post("/v1/completions", { model: "stories", prompt: "One day", max_tokens: 3, temperature: 0 });
    expect(waiter.status).toBe(200);
    expect(((await waiter.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(3);
    let rest = "";
    const decoder = new TextDecoder();
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    expect(rest).toContain('"code":"client_too_slow"');
    expect(rest.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });
});

describe.skipIf(!env.HAVE_STORIES)("client abort mid-stream", () => {
  it("stops generation when the client cancels the SSE body", async () => {
    const before = await health();
    const res = await longStream();
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"text"')) text += decoder.decode((await reader.read()).value);
    await reader.cancel();
    await until(async () => (await health()).generations.aborted === before.generations.aborted + 1, "the generation to be counted as aborted");
    const after = await health();
    expect(after.queue.running).toBe(0);
    expect(after.generations.completed).toBe(before.generations.completed);
    await expectServed();
  });

  it("stops generation when the client aborts the request", async () => {
    const before = await health();
    const ac = new AbortController();
    const res = await longStream(ac.signal);
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.read().catch(() => undefined);
    await until(async () => (await health()).generations.aborted === before.generations.aborted + 1, "the generation to be counted as aborted");
    const after = await health();
    expect(after.queue.running).toBe(0);
    expect(after.generations.completed).toBe(before.generations.completed);
    await expectServed();
  });
});

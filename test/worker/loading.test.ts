/** Loading weights from R2: sha256 verified while streaming, failures reported as 503 and retried, one shared load. */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { health, post, seedModels, type OpenAIError } from "./helpers.js";

beforeAll(seedModels);

const ask = (model: string) => post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 2, temperature: 0 });

async function expectLoadFailure(res: Response, reason: RegExp): Promise<void> {
  expect(res.status).toBe(503);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = (await res.json()) as OpenAIError;
  expect(body.error.type).toBe("service_unavailable");
  expect(body.error.code).toBe("model_load_failed");
  expect(body.error.param).toBe("model");
  expect(body.error.message).toMatch(reason);
  // Clients never see storage internals: no R2 object key (all test keys start "test/"), no hash.
  expect(JSON.stringify(body)).not.toMatch(/test\/|\.gguf|[0-9a-f]{16,}/);
}

describe("model loading from R2", () => {
  it("refuses weights whose sha256 differs from the catalog, and keeps nothing loaded", async () => {
    const before = await health();
    await expectLoadFailure(await ask("bad-hash"), /Model 'bad-hash' could not be loaded: the stored weights do not match the catalog's sha256/);
    const after = await health();
    expect(after.model.loaded).toBeNull();
    expect(after.model.loadFailures).toBe(before.model.loadFailures + 1);
  });

  it("reports a missing object as 503, and retries on the next request once it exists", async () => {
    await expectLoadFailure(await ask("missing-object"), /its weights are not in storage/);
    await expectLoadFailure(await ask("missing-object"), /not in storage/); // no cached failure: it tried again
    const tiny = await env.MODELS.get("test/tiny-llama.gguf");
    await env.MODELS.put("test/not-uploaded.gguf", await tiny!.arrayBuffer());
    try {
      const res = await ask("missing-object");
      expect(res.status).toBe(200);
      expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
      expect((await health()).model.loaded).toBe("missing-object");
    } finally {
      await env.MODELS.delete("test/not-uploaded.gguf");
    }
  });

  it("reports a corrupt (truncated) GGUF as 503 saying why", async () => {
    await expectLoadFailure(await ask("truncated"), /the stored file is not a usable GGUF: .+/);
  });

  it("still serves a good model after failures", async () => {
    const res = await ask("tiny-llama");
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  it.skipIf(!env.HAVE_STORIES)("shares one load between concurrent first requests", async () => {
    const first = await ask("stories"); // make sure tiny-llama is not the loaded model
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const before = (await health()).model.loads;
    const responses = await Promise.all([ask("tiny-llama"), ask("tiny-llama"), ask("tiny-llama")]);
    for (const r of responses) {
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    expect((await health()).model.loads).toBe(before + 1);
  });

  it.skipIf(!env.HAVE_STORIES)("reports the load time in Server-Timing on the request that loaded, and 0 after", async () => {
    const other = await ask("stories");
    await other.arrayBuffer();
    const cold = await ask("tiny-llama");
    const warm = await ask("tiny-llama");
    const load = (r: Response) => Number(/load;dur=([\d.]+)/.exec(r.headers.get("server-timing") ?? "")?.[1]);
    expect(load(warm)).toBe(0);
    expect(load(cold)).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(load(cold))).toBe(false);
    await cold.arrayBuffer();
    await warm.arrayBuffer();
  });
});

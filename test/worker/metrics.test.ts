/** GET /metrics, read with a real Prometheus text-format parser: families, labels, and that they count what happened. */
import { SELF, env } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../worker/index.js";
import { BASE, get, post, seedModels } from "./helpers.js";

interface Sample { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }
interface Family { name: string; type: string; help: string; metrics: Sample[] }

async function scrape(): Promise<Map<string, Family>> {
  const res = await get("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of the sample whose labels include `labels` (0 when absent: a counter not yet incremented). */
function value(m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const sample = m.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return sample ? Number(sample.value ?? sample.count) : 0;
}

beforeAll(seedModels);

describe("GET /metrics", () => {
  it("is behind the API keys unless METRICS_PUBLIC is truthy", async () => {
    const denied = await get("/metrics", null);
    expect(denied.status).toBe(401);
    await denied.arrayBuffer();
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    for (const [flag, status] of [["1", 200], ["true", 200], ["0", 401], ["false", 401], ["", 401]] as const) {
      const res = await worker.fetch(new Request(`${BASE}/metrics`), { ...env, METRICS_PUBLIC: flag }, ctx);
      expect(res.status, `METRICS_PUBLIC=${JSON.stringify(flag)}`).toBe(status);
      await res.arrayBuffer();
    }
  });

  it("counts requests by route and status, tokens, timings and the first-token histogram of a completion", async () => {
    const before = await scrape();
    const res = await post("/v1/chat/completions", { model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_tokens: 4, temperature: 0 });
    expect(res.status).toBe(200);
    const usage = ((await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    await (await get("/v1/nowhere")).arrayBuffer();
    const after = await scrape();

    const route = { route: "/v1/chat/completions", status: "200" };
    expect(value(after, "ellm_http_requests_total", route) - value(before, "ellm_http_requests_total", route)).toBe(1);
    expect(value(after, "ellm_http_requests_total", { route: "unmatched", status: "404" })).toBeGreaterThanOrEqual(1);
    expect(value(after, "ellm_http_requests_total", { route: "/metrics", status: "200" })).toBeGreaterThanOrEqual(1);
    const model = { model: "tiny-llama" };
    expect(value(after, "ellm_prompt_tokens_total", model) - value(before, "ellm_prompt_tokens_total", model)).toBe(usage.prompt_tokens);
    expect(value(after, "ellm_completion_tokens_total", model) - value(before, "ellm_completion_tokens_total", model)).toBe(usage.completion_tokens);
    const completed = { model: "tiny-llama", outcome: "completed" };
    expect(value(after, "ellm_generations_total", completed) - value(before, "ellm_generations_total", completed)).toBe(1);
    expect(value(after, "ellm_prefill_seconds_total", model)).toBeGreaterThan(0);
    expect(value(after, "ellm_decode_seconds_total", model)).toBeGreaterThanOrEqual(0);

    const ttft = after.get("ellm_time_to_first_token_seconds")!;
    expect(ttft.type).toBe("HISTOGRAM");
    expect(ttft.metrics).toHaveLength(1);
    const series = ttft.metrics[0]!;
    expect(Number(series.count)).toBe(value(before, "ellm_time_to_first_token_seconds") + 1);
    const byBound = Object.entries(series.buckets!).map(([le, n]) => [Number(le), Number(n)] as const).sort((a, b) => a[0] - b[0]);
    expect(byBound.length).toBeGreaterThan(2);
    const counts = byBound.map(([, n]) => n);
    expect(counts).toEqual([...counts].sort((a, b) => a - b)); // cumulative
    expect(series.buckets!["+Inf"]).toBe(series.count);
    expect(Number(series.sum)).toBeGreaterThan(0);
  });

  it("reports the turn, the model store and (with an origin) the breaker's state", async () => {
    const m = await scrape();
    for (const [name, type] of [
      ["ellm_queue_waiting", "GAUGE"], ["ellm_generations_running", "GAUGE"], ["ellm_turns_reclaimed_total", "COUNTER"],
      ["ellm_model_loads_total", "COUNTER"], ["ellm_model_load_failures_total", "COUNTER"],
    ] as const) expect(m.get(name)?.type, name).toBe(type);
    expect(value(m, "ellm_queue_waiting")).toBe(0);
    expect(value(m, "ellm_generations_running")).toBe(0);
    const health = (await (await SELF.fetch(`${BASE}/healthz`)).json()) as { model: { loads: number; loadFailures: number }; queue: { reclaimed: number } };
    expect(value(m, "ellm_model_loads_total")).toBe(health.model.loads);
    expect(value(m, "ellm_model_load_failures_total")).toBe(health.model.loadFailures);
    expect(value(m, "ellm_turns_reclaimed_total")).toBe(health.queue.reclaimed);
    expect(m.has("ellm_origin_breaker_state")).toBe(false); // no origin configured

    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request(`${BASE}/metrics`, { headers: { authorization: "Bearer test-key-1" } }),
      { ...env, ORIGIN_URL: "http://127.0.0.1:9/v1" }, ctx);
    const withOrigin = new Map((parsePrometheusTextFormat(await res.text()) as Family[]).map((f) => [f.name, f]));
    expect(value(withOrigin, "ellm_origin_breaker_state", { state: "closed" })).toBe(1);
    expect(value(withOrigin, "ellm_origin_breaker_state", { state: "open" })).toBe(0);
  });
});

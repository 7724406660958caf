/**
 * What the Worker's origin proxy adds to time-to-first-byte, on loopback: the same streaming request sent (a) straight
 * from workerd to the origin and (b) through the OriginBackend (config, breaker, request rebuild, first-byte wait,
 * SSE line mapping), alternating, against both the fault server's instant answer (pure proxy cost) and the real
 * upstream. Prints median/p90 for the report; like every speed figure here it is measured, never asserted.
 */
import { describe, expect, inject, it } from "vitest";
import { OriginBackend } from "../../worker/origin/backend.js";
import { callOrigin, originEntry } from "./harness.js";

const faultUrl = inject("faultUrl");
const upstreamUrl = inject("upstreamUrl");
const ROUNDS = 30;

async function firstByteMs(start: () => Promise<Response>): Promise<number> {
  const t0 = performance.now();
  const res = await start();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reader = res.body!.getReader();
  const first = await reader.read();
  const ms = performance.now() - t0;
  if (first.done) throw new Error("empty body");
  while (!(await reader.read()).done); // drain so the origin finishes cleanly between rounds
  return ms;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function measure(label: string, originUrl: string, upstreamModel: string) {
  const backend = new OriginBackend();
  const entry = originEntry("measured", upstreamModel);
  const body = { prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true };
  const direct: number[] = [];
  const proxied: number[] = [];
  for (let i = 0; i < ROUNDS + 3; i++) {
    const d = await firstByteMs(() =>
      fetch(`${originUrl}/v1/completions`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, model: upstreamModel }),
      }),
    );
    const p = await firstByteMs(() => callOrigin(backend, entry, "/v1/completions", { ...body, model: "measured" }, { vars: { ORIGIN_URL: originUrl } }));
    if (i >= 3) { // the first rounds warm up connections and JIT
      direct.push(d);
      proxied.push(p);
    }
  }
  const row = {
    origin: label, rounds: ROUNDS,
    directMedianMs: +pct(direct, 0.5).toFixed(2), directP90Ms: +pct(direct, 0.9).toFixed(2),
    proxiedMedianMs: +pct(proxied, 0.5).toFixed(2), proxiedP90Ms: +pct(proxied, 0.9).toFixed(2),
    overheadMedianMs: +(pct(proxied, 0.5) - pct(direct, 0.5)).toFixed(2),
  };
  console.log(`TTFB ${JSON.stringify(row)}`);
  return row;
}

describe("origin proxy TTFB overhead (loopback)", () => {
  it("streams every round through the proxy from an instant origin", async () => {
    const row = await measure("fault-server ok", `${faultUrl}/ok-9999`, "m");
    expect(row.rounds).toBe(ROUNDS);
  });

  it("streams every round through the proxy from the real upstream", async () => {
    const row = await measure(`${inject("upstreamKind")} stories`, upstreamUrl, inject("upstreamModel"));
    expect(row.rounds).toBe(ROUNDS);
  });
});

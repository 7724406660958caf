/**
 * npm run soak -- [model.gguf] [--requests 10000] [--vanish 0.3] [--concurrency 8] [--max-seconds 3600]
 *
 * A storm against the deploy bundle in local workerd on a loopback port (never any other address): N mixed
 * requests (streamed and JSON, short and long prompts), a share of whose clients vanish at a random moment
 * (before the headers, queued, in prefill, mid-stream). Bounded in count and time; stops by itself. Prints the status
 * histogram, latency percentiles of the answered requests, workerd's RSS over time, the final /healthz after a few
 * ordinary requests, and whether anything wedged. Clients back off 100-300 ms after a 429. Default model: the stories15M-shaped Q4_0 fixture.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { makeFixture } from "./make-fixtures.mjs";
import { buildBundle, startBundle } from "./workerd/bundle-server.js";
import { socketRequest, type SocketResult } from "../test/helpers/socket-client.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: "string", default: "10000" },
    vanish: { type: "string", default: "0.3" },
    concurrency: { type: "string", default: "8" },
    "max-seconds": { type: "string", default: "3600" },
    context: { type: "string", default: "256" },
  },
});
const total = Number(values.requests);
const vanishShare = Number(values.vanish);
const concurrency = Number(values.concurrency);
const deadline = Date.now() + Number(values["max-seconds"]) * 1000;
const file = positionals[0] ?? (await makeFixture("stories15M-Q4_0"));

let seed = 12345;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** workerd's resident memory (MiB), summed over the workerd processes under this one. */
function workerdRssMiB(): number {
  let kb = 0;
  const walk = (pid: number) => {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const c of children) {
      try {
        const status = readFileSync(`/proc/${c}/status`, "utf8");
        if (/^Name:\s*workerd/m.test(status)) kb += Number(/^VmRSS:\s*(\d+)/m.exec(status)?.[1] ?? 0);
      } catch {
        // exited
      }
      walk(Number(c));
    }
  };
  walk(process.pid);
  return kb / 1024;
}

const bundle = await buildBundle();
const server = await startBundle(bundle, [{ id: "m", file, contextLength: Number(values.context) }], {
  bindings: { MAX_QUEUE: "8" },
});
const url = (p: string) => `${server.url}${p}`;
const complete = (body: object, extra: { destroyAfterMs?: number; timeoutMs?: number }) =>
  socketRequest(url("/v1/completions"), { body: { model: "m", temperature: 0.8, seed: 1, ...body }, ...extra });
const LONG = "Once upon a time there was a little dog who liked to run in the park with his friends. ".repeat(3);

const statuses = new Map<string, number>();
const latencies: number[] = [];
const rss: Array<[number, number]> = [];
const t0 = Date.now();
let sent = 0;
let lastReport = 0;

try {
  const warm = await complete({ prompt: "Once", max_tokens: 1 }, { timeoutMs: 120_000 });
  if (warm.status !== 200) throw new Error(`warm-up failed: ${warm.status} ${warm.body}`);
  rss.push([0, workerdRssMiB()]);
  const client = async () => {
    while (sent < total && Date.now() < deadline) {
      sent++;
      const vanish = random() < vanishShare;
      const body = { prompt: random() < 0.3 ? LONG : "Once upon a time", max_tokens: 8 + Math.floor(random() * 56), stream: random() < 0.6 };
      const r: SocketResult = await complete(body, vanish ? { destroyAfterMs: Math.floor(random() * 400) } : { timeoutMs: 120_000 });
      const key = r.timedOut ? "timeout" : r.vanished ? "vanished" : String(r.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (!r.vanished && r.status === 200) latencies.push(r.ms);
      // As real clients do after a 429, back off a little (not the full Retry-After, to keep the pressure on).
      if (r.status === 429) await new Promise((res) => setTimeout(res, 100 + random() * 200));
      const elapsed = (Date.now() - t0) / 1000;
      if (elapsed - lastReport >= 10) {
        lastReport = elapsed;
        rss.push([elapsed, workerdRssMiB()]);
        console.error(`soak: ${sent}/${total} sent, ${elapsed.toFixed(0)} s, workerd RSS ${rss.at(-1)![1].toFixed(0)} MiB`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const stormSeconds = (Date.now() - t0) / 1000;

  // Afterwards: ordinary requests must all be answered, and the turn must end idle.
  const after: SocketResult[] = [];
  for (let i = 0; i < 10; i++) after.push(await complete({ prompt: "One day", max_tokens: 4 }, { timeoutMs: 30_000 }));
  const health = JSON.parse((await socketRequest(url("/healthz"))).body) as { queue: Record<string, number>; generations: Record<string, number> };
  rss.push([(Date.now() - t0) / 1000, workerdRssMiB()]);

  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(0) : "-");
  const served = after.filter((r) => r.status === 200).length;
  const wedged = served < after.length || health.queue.running !== 0 || health.queue.waiting !== 0;
  const fiveXX = [...statuses].filter(([k]) => k.startsWith("5")).reduce((n, [, v]) => n + v, 0);
  console.log(`soak: ${sent} requests (${(vanishShare * 100).toFixed(0)}% vanish at 0-400 ms), concurrency ${concurrency}, ${stormSeconds.toFixed(0)} s`);
  console.log(`statuses: ${[...statuses].sort().map(([k, v]) => `${k}=${v}`).join(" ")}`);
  console.log(`answered 200 latency ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}`);
  const every = Math.max(1, Math.ceil(rss.length / 12));
  const shown = rss.filter((_, i) => i % every === 0 || i === rss.length - 1);
  console.log(`workerd RSS MiB over time: ${shown.map(([t, m]) => `${t.toFixed(0)}s:${m.toFixed(0)}`).join(" ")}`);
  console.log(`after the storm: ${served}/${after.length} ordinary requests served; /healthz queue ${JSON.stringify(health.queue)} generations ${JSON.stringify(health.generations)}`);
  console.log(`wedged: ${wedged ? "YES" : "no"}; 5xx: ${fiveXX}`);
  process.exitCode = wedged || fiveXX > 0 ? 1 : 0;
} finally {
  await server.stop();
  bundle.remove();
}

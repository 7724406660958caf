/**
 * The `ellm` CLI as a user runs it (`node bin/ellm.js …`, what `npx ellm` runs in a clone): run, chat, serve, bench,
 * a model by URL (downloaded with a progress bar), and usage errors. On the generated fixture, and on stories260K
 * where ../shared has it.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Llama } from "../../lib/node/index.js";
import { fixturePath } from "../helpers/fixtures.js";
import { hasShared, sharedModel } from "../helpers/shared.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = `${root}bin/ellm.js`;
const cache = mkdtempSync(join(tmpdir(), "ellm-cli-cache-"));

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the URL test serves the model from here). */
function ellm(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ELLM_CACHE_DIR: cache, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

let model: string;
const prompt = "Once upon a time";

beforeAll(async () => {
  model = hasShared ? sharedModel("stories260K.gguf") : await fixturePath("tiny-llama");
});

afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe("ellm run / chat / bench", () => {
  it("run: streams the greedy continuation to stdout and a load progress bar to stderr", async () => {
    const r = await ellm(["run", model, prompt, "--max-tokens", "16", "--temperature", "0", "--context", "256"]);
    expect(r.status, r.stderr).toBe(0);
    const llama = await Llama.load({ model, contextLength: 256 });
    const expected = await llama.generate(prompt, { maxTokens: 16, temperature: 0 });
    llama.dispose();
    expect(r.stdout).toBe(`${prompt}${expected.text}\n`);
    expect(r.stderr).toMatch(/loading \[#+\] 100%/);
    expect(r.stderr).toMatch(/16 tokens/);
  });

  it("chat: answers each line typed at the prompt", async () => {
    const r = await ellm(["chat", model, "--max-tokens", "8", "--temperature", "0", "--context", "256"], { input: "Hello\n/exit\n" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/8 tokens/);
  });

  it("bench: load, prefill and decode figures as JSON", async () => {
    const r = await ellm(["bench", model, "--runs", "1", "--prompt", "8", "--gen", "8", "--context", "64", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { runs: number; decodeTokS: { median: number }; prefillTokS: { median: number }; memory: { total: number } };
    expect(s.runs).toBe(1);
    expect(s.decodeTokS.median).toBeGreaterThan(0);
    expect(s.prefillTokS.median).toBeGreaterThan(0);
    expect(s.memory.total).toBeGreaterThan(0);
  });

  it("usage errors exit 2 and name the commands; a bad number is named", async () => {
    const none = await ellm([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/ellm serve <model.gguf\|url>/);
    const unknown = await ellm(["fly", model]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "fly"/);
    const bad = await ellm(["run", model, "hi", "--max-tokens", "lots"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--max-tokens must be a number/);
  });

  it("a missing file fails with a clear message, exit 1", async () => {
    const r = await ellm(["run", join(cache, "nope.gguf"), "hi"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ellm: .*nope\.gguf/m);
  });
});

describe("ellm with a model URL", () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const bytes = readFileSync(model);
    server = createServer((req, res) => {
      if (req.url !== "/m/model.gguf") return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": bytes.byteLength });
      res.end(bytes);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m/model.gguf`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("run streams it while downloading, with a progress bar", async () => {
    const r = await ellm(["run", url, prompt, "--max-tokens", "4", "--temperature", "0", "--context", "64"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/downloading \[#+\] 100%/);
    expect(r.stdout.startsWith(prompt)).toBe(true);
  });

  it("a 404 is a clear error", async () => {
    const r = await ellm(["run", url.replace("model.gguf", "other.gguf"), prompt]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/HTTP 404/);
  });
});

describe("ellm serve", () => {
  it("serves the OpenAI routes in Node: same text as the library, streaming, auth, the playground, and a disconnect stops the generation", async () => {
    // stories15M's shape (random weights): slow enough that a dropped stream is still generating when it drops.
    const model = await fixturePath("stories15M-Q4_0");
    const child = spawn(process.execPath, [bin, "serve", model, "--port", "0", "--context", "2048"], {
      env: { ...process.env, API_KEYS: "serve-key" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      let stderr = "";
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 60_000);
        child.stderr.on("data", (d) => {
          stderr += d;
          const m = /serving \S+ on (http:\/\/[\d.]+:\d+)\/v1/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}:\n${stderr}`)));
      });
      expect(stderr).toMatch(/hashing .*100%/);
      expect(stderr).toMatch(/loading .*100%/);
      const headers = { authorization: "Bearer serve-key", "content-type": "application/json" };

      expect((await fetch(`${base}/v1/models`)).status).toBe(401);
      const list = (await (await fetch(`${base}/v1/models`, { headers })).json()) as { data: Array<{ id: string; context_length: number }> };
      expect(list.data).toHaveLength(1);
      const id = list.data[0]!.id;
      const context = list.data[0]!.context_length;
      expect(context).toBeLessThanOrEqual(2048);

      const body = { model: id, prompt, max_tokens: 12, temperature: 0.8, seed: 7 };
      const res = await fetch(`${base}/v1/completions`, { method: "POST", headers, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { choices: Array<{ text: string }>; usage: { completion_tokens: number } };
      const llama = await Llama.load({ model, contextLength: context });
      const expected = await llama.generate(prompt, { maxTokens: 12, temperature: 0.8, seed: 7 });
      llama.dispose();
      expect(json.choices[0]!.text).toBe(expected.text);

      const bad = await fetch(`${base}/v1/completions`, { method: "POST", headers, body: JSON.stringify({ ...body, temperature: 9 }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("temperature");

      const page = await fetch(`${base}/`);
      expect(page.headers.get("content-type")).toContain("text/html");
      expect(await page.text()).toContain("eLLM Edge playground");

      // A streamed request for the whole context, dropped after its first chunk: the server stops generating (healthz
      // counts it aborted) instead of running on for nobody.
      const abort = new AbortController();
      const stream = await fetch(`${base}/v1/chat/completions`, {
        method: "POST", headers, signal: abort.signal,
        body: JSON.stringify({ model: id, messages: [{ role: "user", content: "Hi" }], max_tokens: context - 80, stream: true }),
      });
      expect(stream.headers.get("content-type")).toContain("text/event-stream");
      const reader = stream.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      abort.abort();
      await expect
        .poll(async () => ((await (await fetch(`${base}/healthz`)).json()) as { generations: { aborted: number } }).generations.aborted, { timeout: 10_000 })
        .toBe(1);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("refuses a file that is not a GGUF, before listening", async () => {
    const r = await ellm(["serve", join(root, "package.json"), "--port", "0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a readable GGUF/);
  });
});

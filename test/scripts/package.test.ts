/**
 * The package as a user installs it: `npm pack`, installed into an empty project (dependencies from the npm cache or
 * registry), then from there: `ellm-edge` and `ellm-edge/node` import and generate, the `ellm` bin runs, and a
 * minimal Worker importing `ellm-edge/workers` bundles with `wrangler deploy --dry-run` and, run in
 * workerd, generates the same text.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Llama } from "../../lib/node/index.js";
import { ensureDist, ROOT } from "../helpers/dist.js";
import { fixturePath } from "../helpers/fixtures.js";
import { runOk } from "../helpers/run.js";
import { hasShared, sharedModel } from "../helpers/shared.js";

const PROMPT = "Once upon a time";
const OPTIONS = { maxTokens: 16, temperature: 0.8, seed: 3 };

const run = (cmd: string, args: string[], cwd: string) =>
  runOk(cmd, args, { cwd, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, timeoutMs: 240_000 });

describe("the packed package, installed", () => {
  let dir: string;
  let model: string;
  let expected: string;

  beforeAll(async () => {
    model = hasShared ? sharedModel("stories260K.gguf") : await fixturePath("tiny-llama");
    const llama = await Llama.load({ model, contextLength: 128 });
    expected = (await llama.generate(PROMPT, OPTIONS)).text;
    llama.dispose();

    await ensureDist();
    dir = mkdtempSync(join(tmpdir(), "ellm-installed-"));
    // dist/ is built above (prepack would build it again, racing the browser test's build).
    const packed = JSON.parse(await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = join(dir, packed[0]!.filename);
    expect(packed[0]!.files.map((f) => f.path)).toContain("dist/wasm/pkg/ellm_engine_bg.wasm");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "probe", private: true, type: "module" }));
    await run("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], dir);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("imports ellm-edge and ellm-edge/node and generates what the sources generate", async () => {
    writeFileSync(
      join(dir, "generate.mjs"),
      `import * as core from "ellm-edge";
import { Llama } from "ellm-edge/node";
const llama = await Llama.load({ model: process.argv[2], contextLength: 128 });
const r = await llama.generate(${JSON.stringify(PROMPT)}, ${JSON.stringify(OPTIONS)});
console.log(JSON.stringify({ text: r.text, core: [typeof core.Llama, typeof core.initEngine, typeof core.Transformer] }));`,
    );
    const out = JSON.parse(await run(process.execPath, ["generate.mjs", model], dir)) as { text: string; core: string[] };
    expect(out.core).toEqual(["function", "function", "function"]);
    expect(out.text).toBe(expected);
  });

  it("the ellm bin runs from the installed package (dist/)", async () => {
    const out = await run(join(dir, "node_modules/.bin/ellm"), ["run", model, PROMPT, "--max-tokens", "16", "--temperature", "0.8", "--seed", "3", "--context", "128"], dir);
    expect(out).toBe(`${PROMPT}${expected}\n`);
  });

  it("ellm serve runs the Worker's routes from the installed package", async () => {
    const child = spawn(join(dir, "node_modules/.bin/ellm"), ["serve", model, "--port", "0", "--context", "128"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    try {
      let stderr = "";
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 60_000);
        child.stderr.on("data", (d) => {
          stderr += d;
          const m = /serving \S+ on (http:\/\/[\d.]+:\d+)\/v1/.exec(stderr);
          if (m) resolve(m[1]!), clearTimeout(timer);
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}:\n${stderr}`)));
      });
      const res = await fetch(`${base}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: JSON.parse(await (await fetch(`${base}/v1/models`)).text()).data[0].id, prompt: PROMPT, max_tokens: 16, temperature: 0.8, seed: 3 }),
      });
      expect(((await res.json()) as { choices: Array<{ text: string }> }).choices[0]!.text).toBe(expected);
    } finally {
      child.kill("SIGTERM");
    }
  });

  describe("a minimal Worker on the package", () => {
    let server: Server;
    let modelUrl: string;

    beforeAll(async () => {
      const bytes = readFileSync(model);
      server = createServer((_req, res) => res.writeHead(200, { "content-length": bytes.byteLength }).end(bytes));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      modelUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.gguf`;
    });

    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("bundles with wrangler deploy --dry-run and generates the same text in workerd", async () => {
      writeFileSync(
        join(dir, "worker.js"),
        `import { Llama } from "ellm-edge/workers";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const llama = await Llama.load({ model: url.searchParams.get("model"), contextLength: 128 });
    const format = url.searchParams.has("enum") ? { responseFormat: { type: "json_schema", schema: { enum: ["yes", "no"] } } } : {};
    const r = await llama.generate(${JSON.stringify(PROMPT)}, { ...${JSON.stringify(OPTIONS)}, ...format });
    llama.dispose();
    return new Response(r.text);
  },
};`,
      );
      writeFileSync(
        join(dir, "wrangler.toml"),
        `name = "probe"\nmain = "worker.js"\ncompatibility_date = "2025-09-01"\n[[rules]]\ntype = "CompiledWasm"\nglobs = ["**/*.wasm"]\nfallthrough = false\n`,
      );
      const out = join(dir, "out");
      await run(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], dir);
      const files = readdirSync(out);
      const wasm = files.filter((f) => f.endsWith(".wasm"));
      const main = files.find((f) => f.endsWith(".js"));
      expect(wasm, "both engine builds, the relaxed-SIMD probe and the grammar module are modules of the bundle").toHaveLength(4);

      const mf = new Miniflare({
        modules: [
          { type: "ESModule", path: join(out, main!) },
          ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(out, f) })),
        ],
        modulesRoot: out,
        compatibilityDate: "2025-09-01",
      });
      try {
        const res = await mf.dispatchFetch(`http://worker/?model=${encodeURIComponent(modelUrl)}`);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(expected);
        // A response format instantiates the bundled grammar module.
        const constrained = await mf.dispatchFetch(`http://worker/?enum=1&model=${encodeURIComponent(modelUrl)}`);
        expect(["\"yes\"", "\"no\""]).toContain(await constrained.text());
      } finally {
        await mf.dispose();
      }
    });
  });
});

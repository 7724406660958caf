/**
 * The library in a browser: a page imports the package's browser entry (`ellm-edge` → dist/lib/index.js, the built
 * package) through an import map, compiles the engine .wasm with compileStreaming, loads a GGUF by URL with progress
 * and generates — in headless Chromium, with the same text Node produces for the same seed.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Llama } from "../../lib/node/index.js";
import { chromiumPath, launchChromium } from "../helpers/chromium.js";
import { ensureDist, ROOT } from "../helpers/dist.js";
import { fixturePath } from "../helpers/fixtures.js";
import { hasShared, sharedModel } from "../helpers/shared.js";

const PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="importmap">
{ "imports": { "ellm-edge": "/dist/lib/index.js", "@huggingface/jinja": "/node_modules/@huggingface/jinja/dist/index.js" } }
</script>
<progress id="bar" value="0" max="1"></progress> <output id="out"></output>
<script type="module">
import { Llama, initEngine } from "ellm-edge";
const params = new URLSearchParams(location.search);
try {
  initEngine(await WebAssembly.compileStreaming(fetch("/dist/wasm/pkg/ellm_engine_bg.wasm")));
  const progress = [];
  const llama = await Llama.load({
    model: new URL("/model.gguf", location.href).href,
    contextLength: 256,
    onProgress: (p) => {
      progress.push(p);
      document.getElementById("bar").value = p.total ? p.loaded / p.total : 0;
    },
  });
  const result = await llama.generate(params.get("prompt"), { maxTokens: 24, temperature: 0.8, topP: 0.95, seed: 42 });
  document.getElementById("out").textContent = result.text;
  window.done = { text: result.text, usage: result.usage, progress };
} catch (e) {
  window.done = { error: String(e && e.stack || e) };
}
</script>`;

const TYPES: Record<string, string> = { ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json" };

describe.skipIf(!chromiumPath)("the library in Chromium", () => {
  let server: Server;
  let browser: Browser;
  let base: string;
  let model: string;

  beforeAll(async () => {
    model = hasShared ? sharedModel("stories260K.gguf") : await fixturePath("tiny-llama");
    await ensureDist();
    // Only the page, the built package, its one dependency and the model are served.
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url!, "http://x").pathname));
      if (path === "/") return void res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      if (path === "/model.gguf") {
        const bytes = readFileSync(model);
        return void res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.byteLength }).end(bytes);
      }
      if (!path.startsWith("/dist/") && !path.startsWith("/node_modules/@huggingface/jinja/")) return void res.writeHead(404).end();
      try {
        const body = readFileSync(join(ROOT, path));
        res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("loads a GGUF by URL with progress and generates what Node generates for the same seed", async () => {
    const prompt = "Once upon a time";
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${base}/?prompt=${encodeURIComponent(prompt)}`);
    await page.waitForFunction(() => (window as { done?: unknown }).done !== undefined, undefined, { timeout: 30_000 });
    const done = (await page.evaluate(() => (window as { done?: unknown }).done)) as {
      error?: string;
      text: string;
      usage: { completionTokens: number };
      progress: Array<{ loaded: number; total?: number }>;
    };
    expect(done.error, done.error).toBeUndefined();
    expect(errors).toEqual([]);

    const size = readFileSync(model).byteLength;
    expect(done.progress.length).toBeGreaterThan(0);
    expect(done.progress.at(-1)).toEqual({ loaded: size, total: size });
    expect(await page.locator("#bar").evaluate((el) => (el as HTMLProgressElement).value)).toBe(1);

    const llama = await Llama.load({ model, contextLength: 256 });
    const node = await llama.generate(prompt, { maxTokens: 24, temperature: 0.8, topP: 0.95, seed: 42 });
    llama.dispose();
    expect(done.text).toBe(node.text);
    expect(done.usage.completionTokens).toBe(node.usage.completionTokens);
    expect(done.text.length).toBeGreaterThan(0);
  });
});

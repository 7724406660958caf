/**
 * The playground at `GET /`, in headless Chromium against the deploy bundle in workerd on a real port: the key field
 * unlocks the model list, a message streams back, Stop ends a stream midway, and the numbers are shown.
 * Screenshots: test/.artifacts/playground-{reply,stopped}.png.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, chromiumPath, launchChromium } from "../helpers/chromium.js";
import { fixturePath } from "../helpers/fixtures.js";
import { hasShared, sharedModel } from "../helpers/shared.js";
import { buildBundle, startBundle, type Bundle, type BundleServer } from "../../scripts/workerd/bundle-server.js";

const KEY = "playground-key";

describe.skipIf(!chromiumPath)("playground in Chromium", () => {
  let bundle: Bundle;
  let server: BundleServer;
  let browser: Browser;
  let page: Page;
  // Real text where ../shared has the TinyStories model; otherwise the random-weight fixture (gibberish, same paths).
  const model = hasShared ? "stories260k" : "tiny-llama";

  beforeAll(async () => {
    const path = hasShared ? sharedModel("stories260K.gguf") : await fixturePath("tiny-llama");
    const serve = async () => {
      bundle = await buildBundle();
      return startBundle(bundle, [{ id: model, file: path, contextLength: hasShared ? 512 : 256 }], { bindings: { API_KEYS: KEY } });
    };
    [server, browser] = await Promise.all([serve(), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    bundle?.remove();
  });

  const stats = () => page.locator("#stats");
  const lastReply = () => page.locator(".msg.assistant .text").last();

  it("asks for a key, then lists the models once one is typed (and keeps it in localStorage)", async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => stats().textContent()).toMatch(/HTTP 401.*enter an API key/);
    await page.fill("#key", KEY);
    await page.dispatchEvent("#key", "change");
    // The bundled catalog (models/) is listed too; ours is the one with weights in this R2.
    await expect.poll(() => page.locator("#model option").allTextContents()).toContainEqual(expect.stringContaining(model));
    await page.selectOption("#model", model);
    expect(await page.evaluate(() => localStorage.getItem("ellm.apiKey"))).toBe(KEY);
  });

  it("streams a reply and shows time to first token and tokens/s", async () => {
    await page.fill("#temperature", "0");
    await page.fill("#max_tokens", "48");
    await page.fill("#input", "Tell me a story about a cat.");
    await page.click("#send");
    await expect.poll(() => stats().textContent(), { timeout: 30_000 }).toMatch(/^done/);
    const text = await stats().textContent();
    expect(text).toMatch(/first token \d+ ms/);
    expect(text).toMatch(/[\d.]+ tok\/s · 48 tokens · finish: length/);
    expect((await lastReply().textContent())!.length).toBeGreaterThan(0);
  });

  it("Stop ends a stream midway and keeps what arrived", async () => {
    // A slow network (4 kB/s, about 15 SSE chunks a second) so the stream is still running when Stop is pressed.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: 4000, uploadThroughput: -1 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("playground-reply.png", ARTIFACTS).pathname });
    await page.click("#clear"); // a short prompt, so a long reply fits the fixture's 256 positions
    expect(await page.locator(".msg").count()).toBe(0);
    await page.fill("#max_tokens", "150");
    await page.fill("#input", "And another one.");
    await page.click("#send");
    await expect.poll(() => stats().textContent(), { timeout: 30_000 }).toMatch(/^streaming/);
    expect(await page.isDisabled("#send")).toBe(true);
    await page.click("#stop");
    await expect.poll(() => stats().textContent()).toMatch(/^stopped/);
    const kept = await lastReply().textContent();
    expect(kept!.length).toBeGreaterThan(0);
    const tokens = Number(/(\d+) tokens/.exec((await stats().textContent())!)![1]);
    expect(tokens).toBeGreaterThan(0);
    expect(tokens).toBeLessThan(150);
    await page.waitForTimeout(300);
    expect(await lastReply().textContent()).toBe(kept); // nothing arrives after Stop
    expect(await page.isEnabled("#send")).toBe(true);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    await page.screenshot({ path: new URL("playground-stopped.png", ARTIFACTS).pathname });
  });
});

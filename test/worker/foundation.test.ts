import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("worker inside workerd", () => {
  it("instantiates the bundled WASM engine and calls a Rust export", async () => {
    const res = await SELF.fetch("https://edge.test/healthz");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { engine: { version: string; simd128: boolean } };
    expect(body.engine.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(body.engine.simd128).toBe(true);
  });

  it("has a real R2 binding", async () => {
    await env.MODELS.put("probe.txt", "hello r2");
    const obj = await env.MODELS.get("probe.txt");
    expect(await obj?.text()).toBe("hello r2");
  });
});

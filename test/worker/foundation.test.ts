import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { relaxedSimdSupported } from "../../lib/engine/wasm.js";
import probeModule from "../../lib/engine/relaxed-probe.wasm";

describe("worker inside workerd", () => {
  it("instantiates the bundled WASM engine and calls a Rust export", async () => {
    const res = await SELF.fetch("https://edge.test/healthz");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { engine: { version: string; simd128: boolean; build: string } };
    expect(body.engine.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(body.engine.simd128).toBe(true);
    // workerd's V8 has exact relaxed SIMD: the Worker runs the relaxed build (the faster one there).
    expect(relaxedSimdSupported()).toBe(true);
    expect(body.engine.build).toBe("relaxed");
  });

  it("bundles the relaxed-SIMD probe that lib/engine/wasm.ts defines, and it answers -90", () => {
    // lib/engine/relaxed-probe.wasm is RELAXED_PROBE written to a file (Workers cannot compile bytes at run time).
    const instance = new WebAssembly.Instance(probeModule);
    expect((instance.exports.f as () => number)()).toBe(-90);
    expect(WebAssembly.Module.exports(probeModule)).toEqual([{ name: "f", kind: "function" }]);
  });

  it("has a real R2 binding", async () => {
    await env.MODELS.put("probe.txt", "hello r2");
    const obj = await env.MODELS.get("probe.txt");
    expect(await obj?.text()).toBe("hello r2");
  });
});

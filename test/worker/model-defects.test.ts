/**
 * Broken model files in R2, inside workerd: each is a 503 model_load_failed (a model error, not the caller's 400)
 * that exposes no object key; the 1 GiB header claim is refused before allocating (WASM memory checked); the
 * good model keeps answering after every one.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { engineMemory, isEngineInitialised } from "../../lib/engine/wasm.js";
import { post, seedFixture, seedModels, type OpenAIError } from "./helpers.js";

interface Defect {
  name: string;
  file: string;
  error: string;
  atSampling: boolean;
}
const defects = JSON.parse(env.DEFECTS) as Defect[];

beforeAll(async () => {
  await seedModels();
  for (const d of defects) await seedFixture(d.file);
});

const ask = (model: string) => post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 2, temperature: 0 });
const MiB = 1 << 20;

describe("defective models in workerd", () => {
  defects.forEach((d, i) => {
    it(`${d.name}: 503 model_load_failed, then the good model answers`, { timeout: 60_000 }, async () => {
      const res = await ask(`defect-${i}`);
      const body = (await res.json()) as OpenAIError;
      expect(res.status, JSON.stringify(body)).toBe(503);
      expect(body.error.code).toBe("model_load_failed");
      expect(body.error.type).toBe("service_unavailable");
      expect(body.error.message).toMatch(new RegExp(d.error));
      expect(JSON.stringify(body)).not.toMatch(/test\/|\.gguf|[0-9a-f]{16,}/);
      const good = await ask("tiny-llama");
      expect(good.status).toBe(200);
      await good.arrayBuffer();
    });
  });

  it("the [64, 2^22] F32 claim leaves WebAssembly memory as it was (nothing allocated for it)", { timeout: 60_000 }, async () => {
    const i = defects.findIndex((d) => d.name === "claims 1 GiB");
    await (await ask("tiny-llama")).arrayBuffer();
    expect(isEngineInitialised(), "the test shares the Worker's engine module").toBe(true);
    const before = engineMemory().buffer.byteLength;
    for (let k = 0; k < 3; k++) {
      const res = await ask(`defect-${i}`);
      expect(res.status).toBe(503);
      await res.arrayBuffer();
    }
    const after = engineMemory().buffer.byteLength;
    expect(after - before).toBeLessThan(4 * MiB);
    expect(after).toBeLessThan(64 * MiB);
  });
});

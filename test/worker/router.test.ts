/** chooseBackend: explicit backends, and "auto" counting the weights plus the KV cache the edge would allocate. */
import { describe, expect, it } from "vitest";
import type { Backend } from "../../worker/backend/backend.js";
import { chooseBackend, EDGE_MEMORY_BUDGET } from "../../worker/backend/router.js";
import type { CatalogEntry } from "../../worker/catalog/schema.js";

const edge = { name: "edge" } as Backend;
const origin = { name: "origin" } as Backend;
const MiB = 1024 * 1024;
// SmolLM2-135M at Q4_0: 72 MiB of weights; f16 KV = 4 × 30 layers × 3 KV heads × 64 dims = 23 040 bytes per position.
const smollm: CatalogEntry = {
  id: "smollm2", r2Key: "k", bytes: 72 * MiB, sha256: "0".repeat(64), format: "gguf", quantization: "Q4_0",
  contextLength: 8192, backend: "auto", origin: { model: "up" }, kvBytesPerToken: 23_040,
};

describe("chooseBackend", () => {
  it("auto: the edge when weights + KV at the edge's context fit the budget (f16, else q8_0), else the origin", () => {
    const small = chooseBackend(smollm, { edge, origin }, 1024); // 72 MiB + 22.5 MiB of f16 KV
    expect(small.backend.name).toBe("edge");
    expect(small.reason).toContain("f16 KV cache fit");
    const q8 = chooseBackend(smollm, { edge, origin }, 3072); // f16 would be 72 + 67.5 MiB; q8_0 is 72 + 35.9 MiB
    expect(72 * MiB + 3072 * 23_040).toBeGreaterThan(EDGE_MEMORY_BUDGET);
    expect(q8.backend.name).toBe("edge");
    expect(q8.reason).toContain("12240 bytes of q8_0 KV cache fit");
    const large = chooseBackend(smollm, { edge, origin }, 8192); // 72 + 95.6 MiB even in q8_0
    expect(large.backend.name).toBe("origin");
    expect(large.reason).toContain("exceed");
  });

  it("auto counts the real default model (SmolLM2 Q4_1) at 2048 positions on the edge, as the engine loads it", () => {
    const q4_1 = { ...smollm, bytes: 98_362_432 }; // models/smollm2-135m-instruct.json
    expect(chooseBackend(q4_1, { edge, origin }, 2048).backend.name).toBe("edge");
  });

  it("auto without a KV size: the weights alone decide", () => {
    const { kvBytesPerToken: _, ...noKv } = smollm;
    expect(chooseBackend(noKv, { edge, origin }, 8192).backend.name).toBe("edge");
    expect(chooseBackend({ ...noKv, bytes: 200 * MiB }, { edge, origin }).backend.name).toBe("origin");
  });

  it("explicit backends; an origin model without a configured origin is a 503", () => {
    expect(chooseBackend({ ...smollm, backend: "edge" }, { edge }, 8192).backend.name).toBe("edge");
    expect(() => chooseBackend({ ...smollm, backend: "origin" }, { edge })).toThrow(/has not configured/);
  });
});

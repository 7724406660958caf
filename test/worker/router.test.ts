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
  it("auto: the edge when weights + KV at the edge's context fit the budget, else the origin, with the reason", () => {
    const small = chooseBackend(smollm, { edge, origin }, 1024);
    expect(small.backend.name).toBe("edge");
    expect(small.reason).toContain("fit");
    const large = chooseBackend(smollm, { edge, origin }, 2048); // 72 MiB + 45 MiB > 112 MiB
    expect(72 * MiB + 2048 * 23_040).toBeGreaterThan(EDGE_MEMORY_BUDGET);
    expect(large.backend.name).toBe("origin");
    expect(large.reason).toContain("exceed");
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

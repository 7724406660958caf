/** scripts/models-add.mjs: the catalog entry it derives from a GGUF's header is what the Worker's validator accepts. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateCatalogEntry } from "../../worker/catalog/schema.js";
import { fixturePath } from "../helpers/fixtures.js";

describe("models-add --print", () => {
  it("derives size, sha256, architecture, quantization, context and KV bytes per position from the file", async () => {
    const file = await fixturePath("tiny-qwen2-Q8_0");
    const run = spawnSync("npx", ["tsx", "scripts/models-add.mjs", file, "--id", "probe", "--backend", "auto", "--origin-model", "up", "--print", "--no-upload"], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const entry = validateCatalogEntry(JSON.parse(run.stdout), "models-add output");
    const bytes = readFileSync(file);
    expect(entry).toMatchObject({
      id: "probe", backend: "auto", origin: { model: "up" }, format: "gguf", architecture: "qwen2", quantization: "Q8_0",
      bytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex"),
    });
    expect(entry.r2Key).toBe(`probe/${entry.sha256!.slice(0, 16)}.gguf`);
    // tiny-qwen2: 2 layers × (K, V) × 2 KV heads × head dim 16 × 2 bytes (f16).
    expect(entry.contextLength).toBe(512);
    expect(entry.kvBytesPerToken).toBe(2 * 2 * 2 * 16 * 2);
  });

  it("refuses a file the engine cannot parse", () => {
    const run = spawnSync("npx", ["tsx", "scripts/models-add.mjs", "package.json", "--print", "--no-upload"], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/models-add: .*GGUF/i);
  });
});

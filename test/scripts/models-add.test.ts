/** scripts/models-add.mjs: the catalog entry it derives from a GGUF's header is what the Worker's validator accepts. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { addModel } from "../../scripts/models-add.mjs";
import { defectiveModels } from "../helpers/defective-models.js";
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

describe("models-add refuses files the engine cannot serve (the loader's own header checks)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ellm-models-add-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const add = (file: string, backend = "edge") => addModel(file, { print: true, upload: false, backend });

  it("unsupported tensor types, absurd dimensions, truncated files; the same files are accepted for origin", async () => {
    const models = await defectiveModels();
    const cases: [string, Uint8Array, RegExp][] = [
      ["q5.gguf", models["Q8_1 matrix (no kernel)"]!.bytes, /cannot serve this file: unsupported_model: .*Q8_1.*supported weight types: F32/],
      ["liar.gguf", models["claims 1 GiB"]!.bytes, /cannot serve this file: model_format: GGUF: the header describes \d+ bytes/],
      ["truncated.gguf", models["NaN in a norm"]!.bytes.subarray(0, 300_000), /cannot serve this file: model_format: .*file has 300000 bytes/],
    ];
    for (const [name, bytes, why] of cases) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      await expect(add(file), name).rejects.toThrow(why);
    }
    await expect(add(join(dir, "q5.gguf"), "origin")).resolves.toMatchObject({ entry: { backend: "origin" } });
    // An unknown ggml type fails the header parse itself, naming the supported types.
    const iq = join(dir, "iq.gguf");
    writeFileSync(iq, models["IQ2_XXS tensor (unknown type)"]!.bytes);
    await expect(add(iq)).rejects.toThrow(/IQ2_XXS.*supported weight types/);
  });
});

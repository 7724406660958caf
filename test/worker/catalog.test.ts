/** Every file in models/ is a valid catalog entry and is bundled; the validator names the bad field. */
import { describe, expect, it } from "vitest";
import { validateCatalog, validateCatalogEntry } from "../../worker/catalog/schema.js";
import { bundledCatalog } from "../../models/index.js";

// Vite resolves this glob at build time, so the test sees the folder even though workerd has no file system.
const files = import.meta.glob("../../models/*.json", { eager: true, import: "default" }) as Record<string, unknown>;

const good = {
  id: "m", r2Key: "m.gguf", bytes: 10, sha256: "a".repeat(64), format: "gguf", quantization: "Q4_0", contextLength: 512, backend: "edge",
};

describe("models/ catalog", () => {
  it("has at least one entry and every file validates", () => {
    expect(Object.keys(files).length).toBeGreaterThan(0);
    for (const [path, value] of Object.entries(files)) expect(() => validateCatalogEntry(value, path), path).not.toThrow();
  });

  it("models/index.ts bundles exactly the JSON files in the folder", () => {
    expect(bundledCatalog.length).toBe(Object.keys(files).length);
    expect(new Set(bundledCatalog)).toEqual(new Set(Object.values(files)));
    expect(() => validateCatalog(bundledCatalog)).not.toThrow();
  });

  it("names file names after ids", () => {
    for (const [path, value] of Object.entries(files)) {
      const id = (value as { id: string }).id;
      expect(path.endsWith(`/${id.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`), path).toBe(true);
    }
  });
});

describe("validateCatalogEntry", () => {
  it("accepts a minimal entry", () => {
    expect(validateCatalogEntry(good, "x")).toEqual(good);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["bad sha256", { ...good, sha256: "ABC" }, /'sha256' must be 64 lowercase hex/],
    ["bytes 0", { ...good, bytes: 0 }, /'bytes' must be a positive integer/],
    ["format", { ...good, format: "safetensors" }, /'format' must be "gguf"/],
    ["backend", { ...good, backend: "gpu" }, /'backend' must be/],
    ["origin without model", { ...good, backend: "origin" }, /'origin' is required/],
    ["origin shape", { ...good, origin: { url: "x" } }, /'origin' must be/],
    ["unknown field", { ...good, colour: "red" }, /'colour' is not a catalog field/],
    ["id chars", { ...good, id: "has space" }, /'id' may only contain/],
    ["missing contextLength", { ...good, contextLength: undefined }, /'contextLength' must be a positive integer/],
  ];
  for (const [name, value, message] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => validateCatalogEntry(JSON.parse(JSON.stringify(value)), "entry.json")).toThrow(message);
    });
  }

  it("rejects duplicate ids", () => {
    expect(() => validateCatalog([good, good], "list")).toThrow(/"m" appears twice/);
  });
});

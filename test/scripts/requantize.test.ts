/**
 * scripts/requantize.mjs on a generated fixture (no ../shared needed): metadata comes back with its exact GGUF types,
 * every matrix is re-quantized into the target type and dequantizes close to the source, the engine loads the result.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EngineModel } from "../../lib/engine/model.js";
import { GGML_TYPES, tensorByteSize, type GgmlTypeName } from "../../lib/gguf/writer.js";
import { readGgufHeader } from "../../lib/node/gguf-file.js";
import { makeFixture } from "../../scripts/make-fixtures.mjs";
import { REQUANT_FORMATS, requantize } from "../../scripts/requantize.mjs";
import { loadEngine } from "../helpers/engine.js";

const dir = mkdtempSync(join(tmpdir(), "ellm-requant-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("requantize: a GGUF rewritten into another block format", () => {
  it.each(REQUANT_FORMATS.map((f) => f.type))("tiny-llama-Q8_0 → %s keeps metadata types and the weights", async (type) => {
    const src = await makeFixture("tiny-llama-Q8_0");
    const out = join(dir, `tiny-${type}.gguf`);
    await requantize(src, type, out);
    const a = await readGgufHeader(src);
    const b = await readGgufHeader(out);
    const format = REQUANT_FORMATS.find((f) => f.type === type)!;
    for (const [key, value] of Object.entries(a.metadata)) {
      expect(b.types[key], key).toBe(a.types[key]);
      expect(b.metadata[key], key).toEqual(key === "general.file_type" ? format.ftype : value);
    }
    const engine = await loadEngine();
    const bytes = (file: string, t: { offset: number }, layout: { dataOffset: number }, len: number) =>
      readFileSync(file).subarray(layout.dataOffset + t.offset, layout.dataOffset + t.offset + len);
    for (const t of a.tensors!) {
      const u = b.tensors!.find((x) => x.name === t.name)!;
      expect(u.dims).toEqual(t.dims);
      const n = t.dims.reduce((x: number, y: number) => x * y, 1);
      if (t.type === "F32") {
        expect(u.type, t.name).toBe("F32"); // F32 norms are copied
        expect(bytes(out, u, b, 4 * n)).toEqual(bytes(src, t, a, 4 * n));
        continue;
      }
      // Rows that are not whole `type` blocks take the format's fallback (llama.cpp's choice).
      const to = (t.dims[0]! % GGML_TYPES[type as GgmlTypeName].blockLen === 0 ? type : format.fallback) as GgmlTypeName;
      expect(u.type, t.name).toBe(to);
      const before = engine.dequantize("Q8_0", bytes(src, t, a, tensorByteSize(t.dims, "Q8_0")));
      const after = engine.dequantize(to, bytes(out, u, b, tensorByteSize(u.dims, to)));
      let err = 0;
      let amax = 0;
      for (let i = 0; i < n; i++) {
        err = Math.max(err, Math.abs(after[i]! - before[i]!));
        amax = Math.max(amax, Math.abs(before[i]!));
      }
      expect(err, `${t.name} → ${to}`).toBeLessThanOrEqual(amax / 6);
    }
    const file = readFileSync(out);
    const model = await EngineModel.load(engine, (async function* () { yield file; })(), { contextLength: 64 });
    expect(model.forward(0, [1, 2, 3], 0).every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});

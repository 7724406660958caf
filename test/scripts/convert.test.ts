/**
 * scripts/convert-llama2c.mjs: stories260K.bin + tok512 → GGUF, checked against llama.cpp's own conversion
 * (stories260K.gguf) tensor by tensor, bit for bit; both tokenizer formats; quantized output through the engine.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertLlama2c, readLlama2cTokenizer, readSentencePieceModel } from "../../scripts/convert-llama2c.mjs";
import { loadEngine } from "../helpers/engine.js";

type Engine = Awaited<ReturnType<typeof loadEngine>>;
interface Header {
  dataOffset: number;
  metadata: Record<string, any>;
  tensors: { name: string; type: string; dims: number[]; offset: number; bytes: number }[];
}

const MODELS = new URL("../../../shared/models/", import.meta.url);
const path = (name: string) => new URL(name, MODELS).pathname;
const haveModels = ["stories260K.bin", "stories260K.gguf", "tok512.bin", "tok512.model"].every((f) => existsSync(path(f)));

let e: Engine;
let dir: string;
const read = (p: string) => new Uint8Array(readFileSync(p));
const header = (bytes: Uint8Array): Header => e.readGgufHeader(bytes, true) as Header;
const tensorBytes = (bytes: Uint8Array, h: Header, name: string) => {
  const t = h.tensors.find((x) => x.name === name)!;
  return bytes.subarray(h.dataOffset + t.offset, h.dataOffset + t.offset + t.bytes);
};

beforeAll(async () => {
  e = await loadEngine();
  dir = mkdtempSync(join(tmpdir(), "ellm-convert-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveModels)("convert-llama2c", () => {
  it("F32 output has llama.cpp's tensors, bit-identical, and its vocabulary", async () => {
    const out = join(dir, "s260-f32.gguf");
    await convertLlama2c(path("stories260K.bin"), path("tok512.bin"), out, "F32");
    const mine = read(out), ref = read(path("stories260K.gguf"));
    const hm = header(mine), hr = header(ref);
    expect(hm.tensors.map((t) => [t.name, t.type, t.dims])).toEqual(hr.tensors.map((t) => [t.name, t.type, t.dims]));
    for (const t of hr.tensors) {
      expect(Buffer.compare(tensorBytes(mine, hm, t.name), tensorBytes(ref, hr, t.name)), t.name).toBe(0);
    }
    for (const key of Object.keys(hr.metadata).filter((k) => !/seperator|padding|context_length/.test(k))) {
      expect(hm.metadata[key], key).toEqual(hr.metadata[key]);
    }
    expect(hm.metadata["tokenizer.ggml.add_bos_token"]).toBe(true);
    expect(hm.metadata["llama.context_length"]).toBe(512); // the trained context (llama.cpp's file says 2048)
  });

  it("reads tok512.model (SentencePiece protobuf) to the same vocabulary as tok512.bin", async () => {
    const fromModel = readSentencePieceModel(read(path("tok512.model")));
    const fromBin = readLlama2cTokenizer(read(path("tok512.bin")), 512);
    expect(fromModel.map((v) => [v.piece, v.score])).toEqual(fromBin.map((v) => [v.piece, v.score]));
    const out = join(dir, "s260-model.gguf");
    await convertLlama2c(path("stories260K.bin"), path("tok512.model"), out, "F32");
    const ref = header(read(path("stories260K.gguf")));
    expect(header(read(out)).metadata["tokenizer.ggml.token_type"]).toEqual(ref.metadata["tokenizer.ggml.token_type"]);
  });

  it.each(["F16", "Q8_0", "Q4_0"])("%s output dequantizes close to the F32 weights", async (type) => {
    if (type !== "F16" && typeof (e as any).quantize !== "function") return; // engine without the quantize binding
    const out = join(dir, `s260-${type}.gguf`);
    await convertLlama2c(path("stories260K.bin"), path("tok512.bin"), out, type);
    const mine = read(out), ref = read(path("stories260K.gguf"));
    const hm = header(mine), hr = header(ref);
    const tol = { F16: 1e-3, Q8_0: 0.01, Q4_0: 0.15 }[type]!;
    for (const t of hm.tensors) {
      const exact = new Float32Array(tensorBytes(ref, hr, t.name).slice().buffer);
      const expectedType = t.dims.length === 1 ? "F32" : t.dims[0]! % 32 === 0 || type === "F16" ? type : "F16";
      expect(t.type, t.name).toBe(expectedType);
      const got = (e as any).dequantize(t.type, tensorBytes(mine, hm, t.name)) as Float32Array;
      let err = 0, norm = 0;
      for (let i = 0; i < exact.length; i++) {
        err += (got[i]! - exact[i]!) ** 2;
        norm += exact[i]! ** 2;
      }
      expect(Math.sqrt(err / norm), `${t.name} relative error`).toBeLessThan(t.type === "F16" ? 1e-3 : tol);
    }
  });

  it("fails clearly on a tokenizer that does not match the model", async () => {
    await expect(convertLlama2c(path("stories260K.bin"), path("tok512.bin"), join(dir, "x.gguf"), "Q5_K")).rejects.toThrow(/--type must be one of/);
    const fake = join(dir, "short.bin");
    (await import("node:fs")).writeFileSync(fake, read(path("stories260K.bin")).subarray(0, 5000));
    await expect(convertLlama2c(fake, path("tok512.bin"), join(dir, "y.gguf"))).rejects.toThrow(/rms_att needs bytes|token_embedding needs bytes/);
  });
});

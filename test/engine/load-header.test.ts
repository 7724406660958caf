/**
 * EngineModel.load hands the header over while the weights still stream: the metadata without the tokens and merges
 * string arrays, and those in the compact form (tokens split from one string, merges as ids), once; a tokenizer
 * error thrown there stops the load.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EngineModel, type LoadedHeader } from "../../lib/engine/model.js";
import { ModelFormatError } from "../../lib/errors.js";
import { tokenizerFromGguf } from "../../lib/tokenizer/index.js";
import { loadEngine } from "../helpers/engine.js";

const MODEL = new URL("../../../shared/models/stories260K.gguf", import.meta.url);
const have = existsSync(MODEL);
if (!have) console.warn("note: ../shared/models/stories260K.gguf is absent; skipping the load-header tests");

async function* chunks(bytes: Uint8Array, size: number, sent: { bytes: number }): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) {
    sent.bytes = Math.min(at + size, bytes.length);
    yield bytes.subarray(at, at + size);
  }
}

describe.skipIf(!have)("the header during a streamed load", () => {
  const bytes = have ? new Uint8Array(readFileSync(MODEL)) : new Uint8Array();

  it("arrives once, before the last chunk, without the vocabulary's string arrays but with the vocabulary", async () => {
    const e = await loadEngine();
    const sent = { bytes: 0 };
    const seen: Array<LoadedHeader & { at: number }> = [];
    const model = await EngineModel.load(e, chunks(bytes, 64 << 10, sent), {
      contextLength: 64,
      onHeader: (h) => void seen.push({ ...h, at: sent.bytes }),
    });
    try {
      expect(seen).toHaveLength(1);
      const [{ metadata, vocabulary, at }] = seen as [LoadedHeader & { at: number }];
      expect(at).toBeLessThan(bytes.length);
      expect(metadata["tokenizer.ggml.tokens"]).toBeUndefined();
      expect(metadata["tokenizer.ggml.scores"]).toBeInstanceOf(Float32Array);
      expect(vocabulary.tokens).toHaveLength(512);
      expect(vocabulary.tokens!.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
      expect(model.metadata).toBe(metadata);
      const full = (e.readGgufHeader(bytes, false) as { metadata: Record<string, unknown> }).metadata;
      expect(tokenizerFromGguf(metadata, vocabulary).encode("Once upon a time")).toEqual(tokenizerFromGguf(full).encode("Once upon a time"));
    } finally {
      model.dispose();
    }
  });

  it("stops the load when onHeader throws", async () => {
    const e = await loadEngine();
    const sent = { bytes: 0 };
    const load = EngineModel.load(e, chunks(bytes, 64 << 10, sent), {
      onHeader: () => {
        throw new ModelFormatError("bad tokenizer");
      },
    });
    await expect(load).rejects.toThrow("bad tokenizer");
    expect(sent.bytes).toBeLessThan(bytes.length);
  });
});

/**
 * Every case of the shared reference files: ids identical and decode identical, for the SentencePiece .model,
 * tokenizer.json and (when the engine's readGgufHeader is built) GGUF loaders.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tokenizerFromHfJson, tokenizerFromSentencePieceModel } from "../../lib/tokenizer/index.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const readJson = (name: string): any => JSON.parse(readFileSync(new URL(name, MODELS), "utf8"));
const readBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, MODELS)));

interface SpmCase {
  text: string;
  ids: number[];
  with_bos: number[];
  decoded: string;
}
interface HfCase {
  text: string;
  ids: number[];
  decoded: string;
}

describe("SentencePiece .model tokenizers match sentencepiece", () => {
  for (const name of ["tok512", "llama2-tokenizer"]) {
    const ref = readJson(`${name}.reference.json`) as { cases: SpmCase[] };
    const tok = tokenizerFromSentencePieceModel(readBytes(`${name}.model`));
    it(`${name}: ${ref.cases.length} cases, ids and decode`, () => {
      expect(ref.cases.length).toBeGreaterThan(50);
      for (const c of ref.cases) {
        // sentencepiece never parses control-token text, so neither do we here.
        expect(tok.encode(c.text, { addBos: false, parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.ids);
        expect(tok.encode(c.text, { parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.with_bos);
        expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
      }
    });
  }
});

describe("tokenizer.json tokenizers match Hugging Face tokenizers", () => {
  for (const name of ["qwen3", "llama3"]) {
    const ref = readJson(`${name}-tokenizer.reference.json`) as { cases: HfCase[] };
    const tok = tokenizerFromHfJson(readJson(`${name}-tokenizer.json`), readJson(`${name}-tokenizer_config.json`));
    it(`${name}: ${ref.cases.length} cases, ids and decode`, () => {
      expect(ref.cases.length).toBeGreaterThan(50);
      for (const c of ref.cases) {
        expect(tok.encode(c.text, { addBos: false }), JSON.stringify(c.text)).toEqual(c.ids);
        expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
      }
    });
  }

  it("llama.cpp vocab test strings: llama-bpe = Llama 3, qwen2 = Qwen3's regular vocabulary", () => {
    const ref = readJson("llamacpp-vocab-tests.reference.json") as { cases: { text: string; ids: Record<string, number[]> }[] };
    const llama3 = tokenizerFromHfJson(readJson("llama3-tokenizer.json"), readJson("llama3-tokenizer_config.json"));
    const qwen = tokenizerFromHfJson(readJson("qwen3-tokenizer.json"), readJson("qwen3-tokenizer_config.json"));
    for (const c of ref.cases) {
      expect(llama3.encode(c.text, { addBos: false }), JSON.stringify(c.text)).toEqual(c.ids["llama-bpe"]);
      expect(qwen.encode(c.text, { addBos: false }), JSON.stringify(c.text)).toEqual(c.ids["qwen2"]);
    }
  });

  it("llama.cpp vocab test strings: llama-spm = Llama 2 SentencePiece", () => {
    const ref = readJson("llamacpp-vocab-tests.reference.json") as { cases: { text: string; ids: Record<string, number[]> }[] };
    const tok = tokenizerFromSentencePieceModel(readBytes("llama2-tokenizer.model"));
    for (const c of ref.cases) expect(tok.encode(c.text, { addBos: false }), JSON.stringify(c.text)).toEqual(c.ids["llama-spm"]);
  });
});

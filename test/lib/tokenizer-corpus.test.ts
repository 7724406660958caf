/**
 * test/fixtures/tokenizer-corpus.json (≥ 300 strings) against the pure-JS reference `@huggingface/tokenizers`
 * (which agrees with the Rust `tokenizers` on the shared reference cases): ids identical, decode identical, and the
 * round trip gives back the input (NFC-normalized for Qwen, whose normalizer is NFC).
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tokenizerFromHfJson } from "../../lib/tokenizer/index.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const readJson = (name: string): any => JSON.parse(readFileSync(new URL(name, MODELS), "utf8"));
const corpus = (JSON.parse(readFileSync(new URL("../fixtures/tokenizer-corpus.json", import.meta.url), "utf8")) as { strings: string[] }).strings;

describe("tokenizer corpus vs @huggingface/tokenizers", () => {
  it("has at least 300 strings", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
  });

  for (const [name, nfc] of [
    ["llama3", false],
    ["qwen3", true],
  ] as const) {
    it(`${name}: ids, decode and round trip identical on every corpus string`, () => {
      const json = readJson(`${name}-tokenizer.json`);
      const config = readJson(`${name}-tokenizer_config.json`);
      const ours = tokenizerFromHfJson(json, config);
      const ref = new HfTokenizer(json, config);
      let tokens = 0;
      for (const text of corpus) {
        const expected = ref.encode(text, { add_special_tokens: false }).ids;
        const got = ours.encode(text, { addBos: false });
        expect(got, JSON.stringify(text)).toEqual(expected);
        // clean_up_tokenization_spaces is a transformers-level post-edit (Llama 3's config turns it on); the Rust
        // `tokenizers` decode, and ours, return the exact text.
        const refText = expected.length === 0 ? "" : ref.decode(expected, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
        expect(ours.decode(got), JSON.stringify(text)).toBe(refText);
        expect(ours.decode(got), JSON.stringify(text)).toBe(nfc ? text.normalize("NFC") : text);
        tokens += got.length;
      }
      expect(tokens).toBeGreaterThan(corpus.length);
    });
  }
});

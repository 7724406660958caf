/**
 * SentencePiece's whitespace rules on the two real .model files, against sentencepiece itself
 * (test/fixtures/sentencepiece-whitespace.reference.json): leading-space stripping on decode (Llama 2 strips one `▁`
 * from the first piece only; tok512, which removes extra whitespace, strips while the output is empty; byte pieces
 * are never stripped), and a trailing literal `▁` dropped on encode by tok512's whitespace clean-up.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tokenizerFromSentencePieceModel } from "../../lib/tokenizer/index.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const ref = JSON.parse(readFileSync(new URL("../fixtures/sentencepiece-whitespace.reference.json", import.meta.url), "utf8")) as {
  models: Record<string, { cases: [string, number[], string][]; decode: [number[], string][] }>;
};

describe("SentencePiece whitespace rules match sentencepiece", () => {
  for (const [name, { cases, decode }] of Object.entries(ref.models)) {
    const tok = tokenizerFromSentencePieceModel(new Uint8Array(readFileSync(new URL(`${name}.model`, MODELS))));
    it(`${name}: ${cases.length} whitespace/▁ strings encode and decode as sentencepiece does`, () => {
      for (const [text, ids, decoded] of cases) {
        expect(tok.encode(text, { addBos: false, parseSpecial: false }), JSON.stringify(text)).toEqual(ids);
        expect(tok.decode(ids), JSON.stringify(text)).toBe(decoded);
      }
    });
    it(`${name}: ${decode.length} id sequences of space, byte and control pieces decode as sentencepiece does`, () => {
      for (const [ids, decoded] of decode) expect(tok.decode(ids, { skipSpecialTokens: true }), JSON.stringify(ids)).toBe(decoded);
    });
  }

  it("Llama 2 keeps the space of \" Hello world\"; tok512 drops a trailing literal ▁", () => {
    const llama2 = tokenizerFromSentencePieceModel(new Uint8Array(readFileSync(new URL("llama2-tokenizer.model", MODELS))));
    const tok512 = tokenizerFromSentencePieceModel(new Uint8Array(readFileSync(new URL("tok512.model", MODELS))));
    expect(llama2.encode(" Hello world", { addBos: false })).toEqual([29871, 15043, 3186]);
    expect(llama2.decode([29871, 15043, 3186])).toBe(" Hello world");
    expect(llama2.decode([29871])).toBe("");
    expect(tok512.encode("\n\n\n\u2581", { addBos: false })).toEqual(tok512.encode("\n\n\n", { addBos: false }));
  });
});

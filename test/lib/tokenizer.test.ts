/** Tokenizer behaviour beyond the reference ids: streaming decode, special tokens, end-of-generation, errors, speed. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EllmError, InvalidArgumentError, ModelFormatError, UnsupportedModelError } from "../../lib/errors.js";
import { tokenizerFromGguf, tokenizerFromHfJson, tokenizerFromSentencePieceModel, type Tokenizer } from "../../lib/tokenizer/index.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const readJson = (name: string): any => JSON.parse(readFileSync(new URL(name, MODELS), "utf8"));
const readBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, MODELS)));

const qwen = tokenizerFromHfJson(readJson("qwen3-tokenizer.json"), readJson("qwen3-tokenizer_config.json"));
const llama3 = tokenizerFromHfJson(readJson("llama3-tokenizer.json"), readJson("llama3-tokenizer_config.json"));
const llama2 = tokenizerFromSentencePieceModel(readBytes("llama2-tokenizer.model"));

const MULTIBYTE = "Emoji 👨‍👩‍👧‍👦 and 🇯🇵, CJK 日本語の文章, Hangul 한국어, Thai ภาษาไทย, combining e\u0301, math ∑ ≤ ∞ 🦙.";

function streamAll(tok: Tokenizer, ids: number[]): string[] {
  const dec = tok.createStreamDecoder();
  const chunks = ids.map((id) => dec.push(id));
  chunks.push(dec.flush());
  return chunks;
}

describe("streaming decoder", () => {
  for (const [name, tok, expected] of [
    ["qwen3 (byte-level pieces, NFC input)", qwen, MULTIBYTE.normalize("NFC")],
    ["llama3 (byte-level pieces)", llama3, MULTIBYTE],
    ["llama2 (<0xNN> byte fallback)", llama2, MULTIBYTE],
  ] as const) {
    it(`${name}: never emits part of a character; chunks join to decode()`, () => {
      const ids = tok.encode(MULTIBYTE, { addBos: false });
      // The test is only meaningful if some token holds part of a character.
      const partial = ids.filter((id) => {
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(tok.tokenToBytes(id));
          return false;
        } catch {
          return true;
        }
      });
      expect(partial.length).toBeGreaterThan(0);
      const chunks = streamAll(tok, ids);
      for (const c of chunks) expect(c).not.toContain("\uFFFD");
      expect(chunks.join("")).toBe(tok.decode(ids));
      expect(chunks.join("")).toBe(expected);
    });
  }

  it("an unfinished character at the end of the stream becomes U+FFFD on flush", () => {
    const lead = llama2.pieceToId("<0xE6>")!;
    const dec = llama2.createStreamDecoder();
    expect(dec.push(llama2.pieceToId("▁a")!)).toBe("a"); // dummy-prefix space stripped at the start
    expect(dec.push(lead)).toBe("");
    expect(dec.flush()).toBe("\uFFFD");
  });

  it("an invalid byte does not hold back the following text", () => {
    const dec = llama2.createStreamDecoder();
    expect(dec.push(llama2.pieceToId("<0xFF>")!)).toBe("\uFFFD");
    expect(dec.push(llama2.pieceToId("▁b")!)).toBe(" b");
  });
});

describe("special tokens", () => {
  it("matches control tokens only when parseSpecial (default true)", () => {
    const text = "<|im_start|>user\nHi<|im_end|>";
    const parsed = qwen.encode(text);
    expect(parsed[0]).toBe(qwen.pieceToId("<|im_start|>"));
    expect(parsed.at(-1)).toBe(qwen.pieceToId("<|im_end|>"));
    const literal = qwen.encode(text, { parseSpecial: false });
    expect(literal).not.toContain(qwen.pieceToId("<|im_start|>"));
    expect(qwen.decode(literal)).toBe(text);
  });

  it("skipSpecialTokens drops control tokens from decoded text", () => {
    const ids = qwen.encode("<|im_start|>assistant\nHello<|im_end|>");
    expect(qwen.decode(ids, { skipSpecialTokens: true })).toBe("assistant\nHello");
    expect(qwen.decode(ids)).toBe("<|im_start|>assistant\nHello<|im_end|>");
  });

  it("knows BOS/EOS/EOT and end-of-generation ids", () => {
    expect(qwen.eotId).toBe(qwen.pieceToId("<|im_end|>"));
    expect(qwen.isEndOfGeneration(qwen.pieceToId("<|im_end|>")!)).toBe(true);
    expect(qwen.isEndOfGeneration(qwen.pieceToId("<|endoftext|>")!)).toBe(true);
    expect(qwen.isEndOfGeneration(qwen.pieceToId("<|im_start|>")!)).toBe(false);
    expect(qwen.bosId).toBeUndefined();
    expect(qwen.addBosByDefault).toBe(false);
    expect(llama3.bosId).toBe(128000);
    expect(llama3.eotId).toBe(llama3.pieceToId("<|eot_id|>"));
    expect(llama3.isEndOfGeneration(128001)).toBe(true);
    expect(llama3.isEndOfGeneration(llama3.pieceToId("<|eot_id|>")!)).toBe(true);
    expect(llama3.chatTemplate).toContain("<|start_header_id|>");
    expect(llama2.bosId).toBe(1);
    expect(llama2.eosId).toBe(2);
    expect(llama2.encode("Hi")[0]).toBe(1); // SentencePiece models add BOS by default
    expect(llama2.isEndOfGeneration(2)).toBe(true);
  });
});

describe("errors", () => {
  const tiny = (extra: Record<string, unknown>): Record<string, unknown> => ({
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.tokens": ["a", "b", "ab"],
    "tokenizer.ggml.merges": ["a b"],
    ...extra,
  });

  it("unknown GGUF pre-tokenizer names the value", () => {
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.pre": "mystery-pre" }))).toThrow(UnsupportedModelError);
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.pre": "mystery-pre" }))).toThrow(/mystery-pre/);
  });

  it("unknown GGUF tokenizer model names the value", () => {
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.model": "t5" }))).toThrow(/tokenizer\.ggml\.model="t5"/);
  });

  it("malformed GGUF fields are ModelFormatError naming the key", () => {
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.tokens": [1, 2] }))).toThrow(/tokenizer\.ggml\.tokens/);
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.merges": ["ab"] }))).toThrow(ModelFormatError);
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.merges": ["a c"] }))).toThrow(/merge #0/);
    expect(() => tokenizerFromGguf(tiny({ "tokenizer.ggml.token_type": [1, 1] }))).toThrow(/token_type/);
    expect(() => tokenizerFromGguf({ ...tiny({}), "tokenizer.ggml.model": "llama" })).toThrow(/scores/);
  });

  it("a tiny GGUF gpt2 vocabulary merges, and text outside it is a clear error", () => {
    const tok = tokenizerFromGguf(tiny({ "tokenizer.ggml.pre": "gpt-2" }));
    expect(tok.encode("ab")).toEqual([2]);
    expect(tok.encode("ba")).toEqual([1, 0]);
    expect(() => tok.encode("abc")).toThrow(InvalidArgumentError);
  });

  it("truncated or foreign SentencePiece files are ModelFormatError / UnsupportedModelError", () => {
    const bytes = readBytes("tok512.model");
    expect(() => tokenizerFromSentencePieceModel(bytes.subarray(0, 1001))).toThrow(ModelFormatError);
    expect(() => tokenizerFromSentencePieceModel(Uint8Array.of(0x0f))).toThrow(EllmError);
  });

  it("decode rejects ids outside the vocabulary", () => {
    expect(() => qwen.decode([1, 999_999])).toThrow(InvalidArgumentError);
    expect(() => qwen.decode([-1])).toThrow(/outside the vocabulary/);
  });

  it("tokenizer.json with an unsupported model type names it", () => {
    expect(() => tokenizerFromHfJson({ model: { type: "Unigram", vocab: [] } })).toThrow(/Unigram/);
    expect(() => tokenizerFromHfJson("{not json")).toThrow(ModelFormatError);
  });
});

describe("speed", () => {
  it("encodes a 4 KB prompt well under 1 ms per KB, with and without cached words", () => {
    const paragraph =
      "Once upon a time, in a small village by the sea, there lived a curious girl named Lily. She loved to explore the rocky shore, " +
      "collecting shells and watching the waves (all 1,234 of them!). Her friend Tom said: \"Let's build a boat\" — and they did, in 2024.\n";
    let prompt = "";
    while (prompt.length < 4096) prompt += paragraph;
    prompt = prompt.slice(0, 4096);
    const kb = new TextEncoder().encode(prompt).length / 1024;
    const results: string[] = [];
    const loaded: [string, Tokenizer, number][] = [];
    let worstWarm = 0;
    let worstCold = 0;
    for (const [name, make] of [
      ["qwen3", () => tokenizerFromHfJson(readJson("qwen3-tokenizer.json"))],
      ["llama3", () => tokenizerFromHfJson(readJson("llama3-tokenizer.json"))],
      ["llama2-spm", () => tokenizerFromSentencePieceModel(readBytes("llama2-tokenizer.model"))],
    ] as const) {
      const t0 = performance.now();
      loaded.push([name, make(), performance.now() - t0]);
    }
    // Measure only after every load, so their garbage is not collected inside the timed runs.
    for (const [name, tok, load] of loaded) {
      // "Cold" = text none of whose words are cached yet (a new request): the median over prompts whose letters are
      // shifted by 1..11 places, so every round's words are new to the cache.
      // Shifts 13..15 first only get the JIT compiled, as it would be on a server that has served a request.
      const shifted = (shift: number): string => prompt.replace(/[a-z]/g, (c) => String.fromCharCode(97 + ((c.charCodeAt(0) - 97 + shift) % 26)));
      for (let shift = 13; shift <= 15; shift++) tok.encode(shifted(shift));
      const colds: number[] = [];
      for (let shift = 1; shift <= 11; shift++) {
        const fresh = shifted(shift);
        const c0 = performance.now();
        tok.encode(fresh);
        colds.push(performance.now() - c0);
      }
      const cold = colds.sort((a, b) => a - b)[5]!;
      const n = tok.encode(prompt).length;
      expect(n, name).toBeGreaterThan(kb * 100); // ≤ ~10 bytes per token: the prompt really was tokenized
      // Median of single runs: a GC of the just-parsed tokenizer.json can land in any one of them.
      const times: number[] = [];
      for (let i = 0; i < 21; i++) {
        const w0 = performance.now();
        tok.encode(prompt);
        times.push(performance.now() - w0);
      }
      const warm = times.sort((a, b) => a - b)[10]!;
      worstWarm = Math.max(worstWarm, warm / kb);
      worstCold = Math.max(worstCold, cold / kb);
      results.push(
        `${name}: load ${load.toFixed(0)} ms; ${n} tokens from ${kb.toFixed(1)} KB: cold ${(cold / kb).toFixed(3)} ms/KB, warm ${(warm / kb).toFixed(3)} ms/KB`,
      );
    }
    // A benchmark printout, not a timed assertion: speeds swing with machine load.
    console.log(`[tokenizer speed] worst warm ${worstWarm.toFixed(3)} ms/KB, worst cold ${worstCold.toFixed(3)} ms/KB\n` + results.join("\n"));
  });
});

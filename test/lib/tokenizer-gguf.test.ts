/**
 * Tokenizers built from real GGUF metadata, read by the engine's `readGgufHeader`: the Llama 2 SentencePiece vocab,
 * the GPT-2 byte-level vocab, and stories260K's tok512; and the same vocabularies in the compact form a model load
 * hands over (`readGgufVocabulary`: tokens as one string, merges as ids), which must build the same tokenizer.
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { existsSync, openSync, readFileSync, readSync, closeSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineBindings } from "../../lib/engine/wasm.js";
import { unpackVocabulary } from "../../lib/engine/vocabulary.js";
import { ModelFormatError } from "../../lib/errors.js";
import { GgufWriter } from "../../lib/gguf/writer.js";
import { tokenizerFromGguf, type GgufMetadata } from "../../lib/tokenizer/index.js";
import { loadEngine } from "../helpers/engine.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const readJson = (name: string): any => JSON.parse(readFileSync(new URL(name, MODELS), "utf8"));
const corpus = (JSON.parse(readFileSync(new URL("../fixtures/tokenizer-corpus.json", import.meta.url), "utf8")) as { strings: string[] }).strings;

let metadata: (file: string) => GgufMetadata;
let engine: EngineBindings;

beforeAll(async () => {
  engine = await loadEngine();
  metadata = (file) => {
    const bytes = new Uint8Array(readFileSync(new URL(file, MODELS)));
    return (engine.readGgufHeader(bytes, false) as { metadata: GgufMetadata }).metadata;
  };
});

describe("GGUF llama (SentencePiece) vocabularies", () => {
  it("decodes like llama.cpp: only the first token loses its dummy-prefix space", () => {
    const tok = tokenizerFromGguf(metadata("ggml-vocab-llama-spm.gguf"));
    expect(tok.encode(" Hello World", { addBos: false })).toEqual([29871, 15043, 2787]);
    expect(tok.decode([29871, 15043, 2787])).toBe(" Hello World");
  });

  it("ggml-vocab-llama-spm.gguf equals sentencepiece on every llama2-tokenizer case", () => {
    const meta = metadata("ggml-vocab-llama-spm.gguf");
    expect(meta["tokenizer.ggml.model"]).toBe("llama");
    const tok = tokenizerFromGguf(meta);
    expect(tok.vocabSize).toBe(32000);
    expect(tok.addBosByDefault).toBe(true);
    const ref = readJson("llama2-tokenizer.reference.json") as { cases: { text: string; ids: number[]; with_bos: number[]; decoded: string }[] };
    for (const c of ref.cases) {
      expect(tok.encode(c.text, { addBos: false, parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.encode(c.text, { parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.with_bos);
      expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
    }
    const cpp = readJson("llamacpp-vocab-tests.reference.json") as { cases: { text: string; ids: Record<string, number[]> }[] };
    for (const c of cpp.cases) expect(tok.encode(c.text, { addBos: false }), JSON.stringify(c.text)).toEqual(c.ids["llama-spm"]);
  });

  it("stories260K.gguf (tok512 without SentencePiece's whitespace collapsing) equals sentencepiece where whitespace is already clean", () => {
    const meta = metadata("stories260K.gguf");
    const tok = tokenizerFromGguf(meta);
    expect(tok.vocabSize).toBe(512);
    expect([tok.bosId, tok.eosId, tok.unkId]).toEqual([1, 2, 0]);
    const ref = readJson("tok512.reference.json") as { cases: { text: string; ids: number[]; decoded: string; runc_ids?: number[] }[] };
    let compared = 0;
    for (const c of ref.cases) {
      const collapsed = c.text.replace(/ {2,}/g, " ").replace(/^ | $/g, "");
      if (collapsed !== c.text) continue; // the GGUF cannot say remove_extra_whitespaces (see README)
      expect(tok.encode(c.text, { addBos: false, parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.ids);
      // A literal "▁" at the start decodes differently: llama.cpp strips the first token's space only, SentencePiece
      // every leading one while the output is empty.
      if (!c.text.startsWith("\u2581")) expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
      compared++;
    }
    expect(compared).toBeGreaterThan(40);
    // With llama.cpp's tokenizer.ggml.remove_extra_whitespaces flag set, every case matches.
    const collapsing = tokenizerFromGguf({ ...meta, "tokenizer.ggml.remove_extra_whitespaces": true });
    for (const c of ref.cases) expect(collapsing.encode(c.text, { addBos: false, parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.ids);
  });
});

describe("GGUF gpt2 (byte-level BPE) vocabulary", () => {
  it("ggml-vocab-gpt-2.gguf equals Hugging Face on every gpt2-vocab case and llama.cpp's strings", () => {
    const meta = metadata("ggml-vocab-gpt-2.gguf");
    expect(meta["tokenizer.ggml.pre"]).toBe("gpt-2");
    const tok = tokenizerFromGguf(meta);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.isEndOfGeneration(50256)).toBe(true);
    const ref = readJson("gpt2-vocab.reference.json") as { cases: { text: string; ids: number[]; decoded: string }[] };
    for (const c of ref.cases) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
    }
    const cpp = readJson("llamacpp-vocab-tests.reference.json") as { cases: { text: string; ids: Record<string, number[]> }[] };
    for (const c of cpp.cases) expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids["gpt-2"]);
  });

  it("matches @huggingface/tokenizers built from the same tokens and merges on the whole corpus", () => {
    const meta = metadata("ggml-vocab-gpt-2.gguf");
    const tokens = meta["tokenizer.ggml.tokens"] as string[];
    const json = {
      model: { type: "BPE", vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges: meta["tokenizer.ggml.merges"], ignore_merges: false },
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      added_tokens: [{ id: 50256, content: "<|endoftext|>", special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }],
      normalizer: null,
      post_processor: null,
    };
    const ref = new HfTokenizer(json, {});
    const tok = tokenizerFromGguf(meta);
    for (const text of corpus) {
      const expected = ref.encode(text, { add_special_tokens: false }).ids;
      const got = tok.encode(text);
      expect(got, JSON.stringify(text)).toEqual(expected);
      expect(tok.decode(got), JSON.stringify(text)).toBe(text);
    }
  });
});

/** GGUF metadata the way llama.cpp's converter writes it for a byte-level tokenizer.json. */
function ggufMetaFromTokenizerJson(name: string, pre: string): GgufMetadata {
  const json = readJson(`${name}-tokenizer.json`);
  const ids = [...(Object.values(json.model.vocab) as number[]), ...json.added_tokens.map((a: { id: number }) => a.id)];
  const size = ids.reduce((m, id) => Math.max(m, id), 0) + 1;
  const tokens = new Array<string>(size).fill("");
  const types = new Array<number>(size).fill(1);
  for (const [piece, id] of Object.entries(json.model.vocab as Record<string, number>)) tokens[id] = piece;
  for (const a of json.added_tokens as { id: number; content: string; special: boolean }[]) {
    tokens[a.id] = a.content;
    types[a.id] = a.special ? 3 : 4;
  }
  return {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": pre,
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": types,
    "tokenizer.ggml.merges": (json.model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(" ") : m)),
  };
}

describe("GGUF gpt2 pre-tokenizer presets on the real Llama 3 and Qwen vocabularies", () => {
  for (const [name, pre, nfc] of [
    ["llama3", "llama-bpe", false],
    ["qwen3", "qwen2", true],
  ] as const) {
    it(`pre=${pre} equals Hugging Face on the ${name} reference cases and the corpus`, () => {
      const tok = tokenizerFromGguf(ggufMetaFromTokenizerJson(name, pre));
      const ref = readJson(`${name}-tokenizer.reference.json`) as { cases: { text: string; ids: number[]; decoded: string }[] };
      for (const c of ref.cases) {
        expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
        expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
      }
      const hf = new HfTokenizer(readJson(`${name}-tokenizer.json`), {});
      for (const text of corpus) {
        const got = tok.encode(text);
        expect(got, JSON.stringify(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids);
        expect(tok.decode(got)).toBe(nfc ? text.normalize("NFC") : text);
      }
    });
  }

  it("pre=smollm splits every digit before GPT-2's regex", () => {
    const meta = metadata("ggml-vocab-gpt-2.gguf");
    const gpt2 = tokenizerFromGguf(meta);
    const smollm = tokenizerFromGguf({ ...meta, "tokenizer.ggml.pre": "smollm" });
    const single = (s: string): number[] => gpt2.encode(s);
    expect(gpt2.encode("12345")).toEqual([10163, 2231]); // GPT-2 itself keeps digit runs: "123" "45"
    expect(smollm.encode("12345")).toEqual(["1", "2", "3", "4", "5"].flatMap(single));
    // " 42" loses its space-digit pairing: the space stands alone once digits are cut out first.
    expect(smollm.encode("a 42b")).toEqual([...single("a"), ...single(" "), ...single("4"), ...single("2"), ...single("b")]);
    expect(smollm.encode("Hello world")).toEqual(gpt2.encode("Hello world"));
  });
});

/** The first `max` bytes of a shared model file (its header, for the large ones). */
function head(file: string, max = 8 << 20): Uint8Array {
  const fd = openSync(new URL(file, MODELS), "r");
  try {
    const buf = new Uint8Array(max);
    return buf.subarray(0, readSync(fd, buf, 0, max, 0));
  } finally {
    closeSync(fd);
  }
}

/** The tokenizer as a model load builds it: metadata without the two string arrays, plus the compact vocabulary. */
function compactTokenizer(bytes: Uint8Array) {
  const meta = (engine.readGgufHeader(bytes, false, false) as { metadata: GgufMetadata }).metadata;
  expect(meta["tokenizer.ggml.tokens"]).toBeUndefined();
  return tokenizerFromGguf(meta, unpackVocabulary(engine.readGgufVocabulary(bytes)));
}

describe("the compact vocabulary a model load hands over", () => {
  const smollm = "SmolLM2-135M-Instruct.Q4_1.gguf";
  const files = ["ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "stories260K.gguf", ...(existsSync(new URL(smollm, MODELS)) ? [smollm] : [])];
  for (const file of files) {
    it(`${file}: the same pieces, token types and ids on every corpus string`, () => {
      const bytes = head(file);
      const full = tokenizerFromGguf((engine.readGgufHeader(bytes, false) as { metadata: GgufMetadata }).metadata);
      const compact = compactTokenizer(bytes);
      expect(compact.vocabSize).toBe(full.vocabSize);
      const every = <T>(f: (id: number) => T): T[] => Array.from({ length: full.vocabSize }, (_, id) => f(id));
      expect(every((id) => compact.tokenToPiece(id))).toEqual(every((id) => full.tokenToPiece(id)));
      expect(every((id) => compact.tokenType(id))).toEqual(every((id) => full.tokenType(id)));
      const cpp = readJson("llamacpp-vocab-tests.reference.json") as { cases: { text: string }[] };
      for (const text of [...corpus, ...cpp.cases.map((c) => c.text)]) {
        expect(compact.encode(text), JSON.stringify(text)).toEqual(full.encode(text));
      }
    });
  }

  it("reports a malformed merge and a merge over a missing piece as the metadata's strings do", () => {
    const vocab = (merges: string[]): Uint8Array =>
      new GgufWriter()
        .addMetadata("tokenizer.ggml.model", "gpt2")
        .addMetadata("tokenizer.ggml.tokens", ["a", "b", "ab", "c"])
        .addMetadata("tokenizer.ggml.merges", merges)
        .headerBytes();
    for (const [merges, message] of [
      [["a b", "ab"], 'GGUF metadata tokenizer.ggml.merges[1] = "ab" is not "left right"'],
      [["a c", "a b"], 'merge #0 "a c" refers to a piece missing from the vocabulary'],
      [["b a", "a "], 'GGUF metadata tokenizer.ggml.merges[1] = "a " is not "left right"'],
    ] as const) {
      const bytes = vocab([...merges]);
      const viaStrings = (): unknown => tokenizerFromGguf((engine.readGgufHeader(bytes, false) as { metadata: GgufMetadata }).metadata);
      expect(viaStrings).toThrow(message);
      expect(() => compactTokenizer(bytes)).toThrow(ModelFormatError);
      expect(() => compactTokenizer(bytes)).toThrow(message);
    }
    expect(compactTokenizer(vocab(["a b"])).encode("ab")).toEqual([2]);
  });
});

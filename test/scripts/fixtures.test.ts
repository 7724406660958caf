/**
 * scripts/make-fixtures.mjs: fixtures are valid GGUF (read back by the engine), deterministic, cached, statistically
 * what they claim (N(0, 0.02) weights, 1 + N(0, 0.02) norms), and their quantized variants encode the same weights.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture, GENERATOR_VERSION, makeFixture } from "../../scripts/make-fixtures.mjs";
import { loadEngine } from "../helpers/engine.js";

type Engine = Awaited<ReturnType<typeof loadEngine>>;
interface Header {
  dataOffset: number;
  metadata: Record<string, any>;
  tensors: { name: string; type: string; dims: number[]; offset: number; bytes: number }[];
}

let e: Engine;
let dir: string;
const header = (bytes: Uint8Array): Header => e.readGgufHeader(bytes, true) as Header;
const tensor = (bytes: Uint8Array, h: Header, name: string) => {
  const t = h.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return { t, data: bytes.subarray(h.dataOffset + t.offset, h.dataOffset + t.offset + t.bytes) };
};
const floats = (b: Uint8Array) => new Float32Array(b.slice().buffer);
const stats = (x: Float32Array) => {
  let s = 0, s2 = 0;
  for (const v of x) (s += v), (s2 += v * v);
  const mean = s / x.length;
  return { mean, std: Math.sqrt(s2 / x.length - mean * mean) };
};

beforeAll(async () => {
  e = await loadEngine();
  dir = mkdtempSync(join(tmpdir(), "ellm-fixtures-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("make-fixtures", () => {
  it("tiny-llama: llama shapes, SPM vocabulary, N(0, 0.02) weights; cached by name and version", async () => {
    const p = await makeFixture("tiny-llama", dir);
    const bytes = new Uint8Array(readFileSync(p));
    const h = header(bytes);
    const m = h.metadata;
    expect(m["general.architecture"]).toBe("llama");
    expect(m["tokenizer.ggml.model"]).toBe("llama");
    expect(m["tokenizer.ggml.tokens"]).toHaveLength(512);
    expect(new Set(m["tokenizer.ggml.tokens"]).size).toBe(512);
    expect(m["tokenizer.ggml.tokens"].slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(h.tensors).toHaveLength(3 + 2 * 9);
    const emb = floats(tensor(bytes, h, "token_embd.weight").data);
    const s = stats(emb);
    expect(Math.abs(s.mean)).toBeLessThan(0.001);
    expect(s.std).toBeGreaterThan(0.0195);
    expect(s.std).toBeLessThan(0.0205);
    const norm = stats(floats(tensor(bytes, h, "blk.0.attn_norm.weight").data));
    expect(Math.abs(norm.mean - 1)).toBeLessThan(0.01);
    // Output rows of the special tokens are zero; others are not.
    const out = floats(tensor(bytes, h, "output.weight").data);
    expect(out.subarray(0, 3 * 64).every((v) => v === 0)).toBe(true);
    expect(out.subarray(3 * 64, 4 * 64).some((v) => v !== 0)).toBe(true);

    const meta = JSON.parse(readFileSync(`${p}.meta.json`, "utf8"));
    expect(meta.generator).toBe(GENERATOR_VERSION);
    expect(meta.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(Buffer.compare(await buildFixture("tiny-llama").toBytes(), bytes)).toBe(0); // deterministic
    const mtime = statSync(p).mtimeMs;
    expect(await makeFixture("tiny-llama", dir)).toBe(p);
    expect(statSync(p).mtimeMs).toBe(mtime); // reused, not regenerated
  });

  it.each(["Q8_0", "Q4_0"])("tiny-llama-%s encodes the same weights as the F32 fixture", async (type) => {
    const f32 = new Uint8Array(readFileSync(await makeFixture("tiny-llama", dir)));
    const q = new Uint8Array(readFileSync(await makeFixture(`tiny-llama-${type}`, dir)));
    const hf = header(f32), hq = header(q);
    expect(hq.tensors.map((t) => t.name)).toEqual(hf.tensors.map((t) => t.name));
    const exact = floats(tensor(f32, hf, "blk.1.ffn_down.weight").data);
    const { t, data } = tensor(q, hq, "blk.1.ffn_down.weight");
    expect(t.type).toBe(type);
    const got = e.dequantize(type, data);
    let err = 0, n = 0;
    for (let i = 0; i < exact.length; i++) (err += (got[i]! - exact[i]!) ** 2), (n += exact[i]! ** 2);
    expect(Math.sqrt(err / n)).toBeLessThan(type === "Q8_0" ? 0.01 : 0.15);
  });

  it("tiny-qwen2: qwen2 architecture with q/k/v biases and a valid byte-level BPE vocabulary", async () => {
    const bytes = new Uint8Array(readFileSync(await makeFixture("tiny-qwen2", dir)));
    const h = header(bytes);
    const m = h.metadata;
    expect(m["general.architecture"]).toBe("qwen2");
    expect(m["qwen2.rope.freq_base"]).toBe(1e6);
    expect(m["tokenizer.ggml.model"]).toBe("gpt2");
    expect(m["tokenizer.ggml.pre"]).toBe("qwen2");
    const tokens: string[] = m["tokenizer.ggml.tokens"];
    expect(tokens).toHaveLength(1024);
    expect(tokens.slice(-3)).toEqual(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
    expect(m["tokenizer.ggml.eos_token_id"]).toBe(1023);
    const vocab = new Set(tokens);
    for (const merge of m["tokenizer.ggml.merges"] as string[]) {
      const [a, b] = merge.split(" ");
      expect(vocab.has(a!) && vocab.has(b!) && vocab.has(a! + b!), merge).toBe(true);
    }
    expect(m["tokenizer.chat_template"]).toContain("<|im_start|>");
    for (const b of ["attn_q.bias", "attn_k.bias", "attn_v.bias"]) expect(tensor(bytes, h, `blk.0.${b}`).t.dims).toEqual([b === "attn_q.bias" ? 64 : 32]);
  });

  it("smollm2-135m-Q4_0 has SmolLM2's shapes and is generated in seconds", async () => {
    const t0 = performance.now();
    const p = await makeFixture("smollm2-135m-Q4_0", dir);
    const seconds = (performance.now() - t0) / 1000;
    const fd = readFileSync(p).subarray(0, 4 << 20); // the header is in the first MiBs
    const h = header(new Uint8Array(fd));
    const m = h.metadata;
    expect([m["llama.embedding_length"], m["llama.block_count"], m["llama.attention.head_count"], m["llama.attention.head_count_kv"]]).toEqual([576, 30, 9, 3]);
    expect([m["llama.feed_forward_length"], m["llama.context_length"], m["llama.rope.freq_base"], m["tokenizer.ggml.pre"]]).toEqual([1536, 8192, 1e5, "smollm"]);
    expect(m["tokenizer.ggml.tokens"]).toHaveLength(49152);
    expect(h.tensors.some((t) => t.name === "output.weight")).toBe(false); // tied embeddings
    expect(h.tensors.find((t) => t.name === "token_embd.weight")!.type).toBe("Q4_0");
    expect(statSync(p).size).toBe(h.dataOffset + h.tensors.reduce((a, t) => Math.max(a, t.offset + t.bytes), 0));
    console.log(`smollm2-135m-Q4_0: ${(statSync(p).size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s`);
  });
});

import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, ModelArgs, Transformer, type StateDict } from "../../lib/node/index.js";
import { plain } from "../../lib/engine/wasm.js";
import { loadEngine } from "../helpers/engine.js";
import { hasShared, sharedModel, storiesReference, type StoriesCase } from "../helpers/shared.js";

interface HeaderJson {
  dataOffset: number;
  metadata: Record<string, unknown>;
  tensors: Array<{ name: string; type: string; dims: number[]; offset: number; bytes: number }>;
}

/** The F32 tensors of a GGUF file as a state dict with GGUF names and HF-order shapes. */
async function ggufStateDict(path: string): Promise<{ header: HeaderJson; dict: StateDict; args: ModelArgs }> {
  const engine = await loadEngine();
  const bytes = new Uint8Array(readFileSync(path));
  const header = engine.readGgufHeader(bytes, true) as HeaderJson;
  const dict: StateDict = {};
  for (const t of header.tensors) {
    const start = header.dataOffset + t.offset;
    const data = new Float32Array(bytes.slice(start, start + t.bytes).buffer);
    dict[t.name] = { dtype: "F32", shape: [...t.dims].reverse(), data };
  }
  return { header, dict, args: ModelArgs.fromGGUF(plain(engine.readHyperParams(bytes))) };
}

const HF_NAMES: Record<string, string> = {
  attn_q: "self_attn.q_proj", attn_k: "self_attn.k_proj", attn_v: "self_attn.v_proj", attn_output: "self_attn.o_proj",
  ffn_gate: "mlp.gate_proj", ffn_up: "mlp.up_proj", ffn_down: "mlp.down_proj",
  attn_norm: "input_layernorm", ffn_norm: "post_attention_layernorm",
};

/** Undo llama.cpp's Q/K row permutation: GGUF adjacent-pair rows → HF rotate-half rows. */
function unpermute(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const headDim = rows / heads, half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const gguf = h * headDim + 2 * i + j, hf = h * headDim + j * half + i;
        out.set(data.subarray(gguf * cols, (gguf + 1) * cols), hf * cols);
      }
  return out;
}

function toHuggingFace(dict: StateDict, args: ModelArgs): StateDict {
  const out: StateDict = {};
  for (const [name, t] of Object.entries(dict)) {
    const tensor = t as { dtype: "F32"; shape: number[]; data: Float32Array };
    const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
    if (!m) {
      const global = { "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight" }[name]!;
      out[global] = tensor;
      continue;
    }
    let data = tensor.data;
    if (m[2] === "attn_q" || m[2] === "attn_k") {
      const heads = m[2] === "attn_q" ? args.numAttentionHeads : args.numKeyValueHeads;
      data = unpermute(data, tensor.shape[0]!, tensor.shape[1]!, heads);
    }
    out[`model.layers.${m[1]}.${HF_NAMES[m[2]!]}.weight`] = { dtype: "F32", shape: tensor.shape, data };
  }
  return out;
}

function safetensorsBytes(dict: StateDict): Uint8Array {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(dict)) {
    const { shape, data } = t as { shape: number[]; data: Float32Array };
    const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + b.length] };
    parts.push(b);
    offset += b.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.skipIf(!hasShared)("Transformer on the real TinyStories 260K weights", () => {
  let cases: StoriesCase[];
  let dict: StateDict;
  let args: ModelArgs;
  beforeAll(async () => {
    cases = storiesReference().cases.filter((c) => c.name !== "long_to_seq_len");
    const loaded = await ggufStateDict(sharedModel("stories260K.gguf"));
    dict = loaded.dict;
    args = loaded.args;
  });

  it("fromGGUF: batched forward over several sequences reproduces each reference within 1e-4", async () => {
    const t = await Transformer.fromGGUF(sharedModel("stories260K.gguf"), { maxBatchSize: 4, contextLength: 512, kvType: "f32" });
    const batch = cases.slice(0, 4);
    const logits = t.forward(batch.map((c) => c.prompt), 0);
    batch.forEach((c, i) => expect(maxAbsDiff(logits[i]!, c.last_logits), c.name).toBeLessThan(1e-4));
    t.dispose();
  });

  it("loadStateDict with GGUF names, HF names (Q/K permuted back) and safetensors bytes all give the reference logits", async () => {
    const hf = toHuggingFace(dict, args);
    for (const weights of [dict, hf, safetensorsBytes(hf)]) {
      const t = new Transformer(args, { contextLength: 512, kvType: "f32" });
      await t.loadStateDict(weights);
      const c = cases[1]!;
      const [logits] = t.forward([c.prompt], 0);
      expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(1e-4);
      expect(t.model.memory().weights).toBeGreaterThan(1_000_000);
      t.dispose();
    }
  });

  it("generate(): greedy ids equal the reference continuations, per sequence in one batch", async () => {
    const t = new Transformer(args, { contextLength: 512, maxBatchSize: 3 });
    await t.loadStateDict(dict);
    const batch = cases.slice(1, 4);
    const out = await t.generate(batch.map((c) => c.prompt), { maxGenLen: 16, temperature: 0 });
    batch.forEach((c, i) => expect(out[i], c.name).toEqual(c.greedy.slice(0, 16)));
    t.dispose();
  });

  it("quantizes float weights to Q8_0 on load and stays close to the F32 logits", async () => {
    const t = new Transformer(args, { contextLength: 512, weightType: "Q8_0" });
    await t.loadStateDict(dict);
    const c = cases[2]!;
    const [logits] = t.forward([c.prompt], 0);
    expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(0.5);
    t.dispose();
  });

  it("rejects state dicts that do not fit the arguments, naming the tensor", async () => {
    const t = new Transformer(args);
    const wrong = { ...dict, "blk.0.attn_q.weight": { dtype: "F32" as const, shape: [3, 3], data: new Float32Array(9) } };
    await expect(t.loadStateDict(wrong)).rejects.toThrow(/blk\.0\.attn_q\.weight.*shape/);
    const missing = { ...dict };
    delete missing["blk.4.ffn_up.weight"];
    await expect(t.loadStateDict(missing)).rejects.toThrow(/missing/);
    await expect(t.loadStateDict({ ...dict, "model.vision.weight": new Float32Array(4) })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => t.forward([[1]], 0)).toThrow(/no weights loaded/);
  });
});

describe("ModelArgs", () => {
  const smollm = {
    model_type: "llama", hidden_size: 576, vocab_size: 49152, num_hidden_layers: 30, num_attention_heads: 9,
    num_key_value_heads: 3, intermediate_size: 1536, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
    rope_theta: 100000, tie_word_embeddings: true,
  };

  it("reads a Hugging Face config.json", () => {
    const a = ModelArgs.fromConfig(smollm);
    expect(a).toMatchObject({ hiddenSize: 576, numKeyValueHeads: 3, ropeTheta: 100000, tieWordEmbeddings: true, architecture: "llama" });
    expect(a.headDim).toBe(64);
    expect(a.kvCacheBytes(1024, "f16")).toBe(2 * 30 * 192 * 1024 * 2);
  });

  it("reads config files through the Node entry point", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const dir = mkdtempSync("/tmp/ellm-args-");
    writeFileSync(`${dir}/config.json`, JSON.stringify({ ...smollm, model_type: "qwen2" }));
    const a = await ModelArgs.fromConfigFile(`${dir}/config.json`);
    expect(a.architecture).toBe("qwen2");
  });

  it("names the offending field in its errors", () => {
    expect(() => ModelArgs.fromConfig({ ...smollm, hidden_size: -1 })).toThrow(expect.objectContaining({ code: "invalid_argument", param: "hiddenSize" }));
    expect(() => ModelArgs.fromConfig({ ...smollm, num_key_value_heads: 4 })).toThrow(expect.objectContaining({ param: "numKeyValueHeads" }));
    expect(() => ModelArgs.fromConfig({ ...smollm, vocab_size: undefined })).toThrow(expect.objectContaining({ param: "vocab_size" }));
    expect(() => ModelArgs.fromConfig({ ...smollm, model_type: "gpt_neox" })).toThrow(expect.objectContaining({ code: "unsupported_model" }));
    expect(() => ModelArgs.fromConfig("nope")).toThrow(InvalidArgumentError);
  });
});

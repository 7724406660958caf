/**
 * Defective copies of the tiny-llama fixture, each a file the engine must refuse with a typed error (or, for
 * NaN embeddings, fail on at sampling time) without growing WASM memory. Built in Node (the lib tests and the
 * Worker test config); the engine reads the good file's header for the vocabulary.
 */
import { buildFixture } from "../../scripts/make-fixtures.mjs";
import { loadEngineNode } from "../../lib/node/engine.js";

const TINY = { vocab: 512, dim: 64 };
/** Rows the lying header claims for output.weight: 64 × 2^22 F32 = 1 GiB. */
export const CLAIMED_ROWS = 1 << 22;

const floats = (n: number, value: number) => new Uint8Array(new Float32Array(n).fill(value).buffer);

/** `bytes` with the ggml type id of tensor `name` set to `id` (the writer only writes types it knows). */
function patchTensorType(bytes: Uint8Array, name: string, id: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const key = new TextEncoder().encode(name);
  for (let i = 8; i + key.length < out.length; i++) {
    if (view.getUint32(i - 8, true) !== key.length || !key.every((b, j) => out[i + j] === b)) continue;
    const dimsAt = i + key.length;
    const nDims = view.getUint32(dimsAt, true);
    view.setUint32(dimsAt + 4 + 8 * nDims, id, true);
    return out;
  }
  throw new Error(`tensor ${name} not found in the header`);
}

export interface DefectiveModel {
  bytes: Uint8Array;
  /** What the load error says. */
  error: RegExp;
  /** Fails when sampling rather than at load. */
  atSampling?: boolean;
}

export async function defectiveModels(): Promise<Record<string, DefectiveModel>> {
  const good = await buildFixture("tiny-llama").toBytes();
  const engine = await loadEngineNode();
  const meta = (engine.readGgufHeader(good, false) as { metadata: Record<string, ArrayLike<unknown> & { slice(a: number, b: number): unknown }> }).metadata;

  // The header says output.weight (the last tensor) is [64, 2^22] F32; the data is the good file's.
  const liar = buildFixture("tiny-llama", { tensors: { "output.weight": { dims: [TINY.dim, CLAIMED_ROWS] } } }).headerBytes();
  const claims1GiB = new Uint8Array(good.length);
  claims1GiB.set(good);
  claims1GiB.set(liar);

  const q5 = await buildFixture("tiny-llama", {
    tensors: { "blk.0.attn_q.weight": { type: "Q8_1", source: new Uint8Array(TINY.dim * (TINY.dim / 32) * 36) } },
  }).toBytes();

  const short = 500;
  return {
    "claims 1 GiB": { bytes: claims1GiB, error: /describes \d+ bytes of header and tensor data, but the file has \d+ bytes/ },
    "NaN in a norm": {
      bytes: await buildFixture("tiny-llama", { tensors: { "output_norm.weight": { source: floats(TINY.dim, NaN) } } }).toBytes(),
      error: /output_norm\.weight has a non-finite value \(NaN\)/,
    },
    "infinite norm": {
      bytes: await buildFixture("tiny-llama", { tensors: { "blk.1.ffn_norm.weight": { source: floats(TINY.dim, Infinity) } } }).toBytes(),
      error: /blk\.1\.ffn_norm\.weight has a non-finite value \(inf\)/,
    },
    "NaN embeddings": {
      bytes: await buildFixture("tiny-llama", { tensors: { "token_embd.weight": { source: floats(TINY.dim * TINY.vocab, NaN) } } }).toBytes(),
      error: /no finite logit/,
      atSampling: true,
    },
    "fewer tokens than embedding rows": {
      bytes: await buildFixture("tiny-llama", {
        metadata: {
          "tokenizer.ggml.tokens": [meta["tokenizer.ggml.tokens"]!.slice(0, short) as string[], "array<string>"],
          "tokenizer.ggml.scores": [Float32Array.from(meta["tokenizer.ggml.scores"]!.slice(0, short) as number[]), "array<f32>"],
          "tokenizer.ggml.token_type": [Int32Array.from(meta["tokenizer.ggml.token_type"]!.slice(0, short) as number[]), "array<i32>"],
        },
      }).toBytes(),
      error: /tokenizer has 500 tokens but token_embd\.weight has 512 rows/,
    },
    "Q8_1 matrix (no kernel)": { bytes: q5, error: /blk\.0\.attn_q\.weight has type Q8_1, which has no matmul kernel \(supported weight types: F32, F16, .*Q8_0.*\)/ },
    "IQ2_XXS tensor (unknown type)": {
      bytes: patchTensorType(q5, "blk.0.attn_q.weight", 16),
      error: /ggml type 16 \(IQ2_XXS\), which this engine cannot run \(supported weight types: F32, F16, .*\)/,
    },
  };
}

/**
 * Transformer: the seed design's low-level model API over token ids. Built from `ModelArgs` plus a state dict
 * (Hugging Face tensor names, or GGUF names), from a `.safetensors` stream, or straight from a GGUF.
 * `forward(sequences, startPos)` runs several sequences (one KV cache slot each); `generate` samples from them.
 */
import { EngineModel } from "./engine/model.js";
import type { EngineBindings } from "./engine/wasm.js";
import { InvalidArgumentError } from "./errors.js";
import { GGML_TYPES, GgufWriter, type GgmlTypeName } from "./gguf/writer.js";
import { ModelArgs, type ModelArgsInit } from "./model-args.js";
import { SafetensorsReader } from "./safetensors.js";
import { idsOnly } from "./generation.js";
import { GenerationSession } from "./session.js";
import { openModelSource, resolveEngine } from "./source.js";
import { streamChunks } from "./platform.js";
import type { KvType, ModelSource, SamplingOptions } from "./types.js";

/** One tensor of a state dict. A bare Float32Array is F32 with the shape the name implies. */
export type TensorInput =
  | Float32Array
  | { dtype: "F32"; shape: number[]; data: Float32Array }
  | { dtype: "F16" | "BF16"; shape: number[]; data: Uint16Array }
  | { dtype: Exclude<GgmlTypeName, "F32" | "F16" | "BF16">; shape: number[]; data: Uint8Array };

export type StateDict = Record<string, TensorInput>;

export interface TransformerOptions {
  /** KV cache positions (default: min(maxSeqLen, 2048)). */
  contextLength?: number;
  /** KV cache type (default f16); q8_0 needs a head size that is a multiple of 32. */
  kvType?: KvType;
  /** How many sequences `forward`/`generate` take at once (KV cache slots). Default 4. */
  maxBatchSize?: number;
  /** Quantize float matrices to this type on load (norms and biases stay F32). Default: keep as given. */
  weightType?: "F32" | "F16" | "Q8_0" | "Q4_0";
}

export interface TransformerGenerateOptions extends Pick<SamplingOptions, "temperature" | "topP" | "topK" | "minP"> {
  maxGenLen: number;
  /** Sequence i samples with seed + i (omitted: random). Unset sampling fields take SAMPLING_DEFAULTS (lib/sampling/params.ts). */
  seed?: number;
  /** Stop a sequence at this token, which ends its output (default: none; generation runs maxGenLen tokens). */
  eosId?: number;
  signal?: AbortSignal;
}

/** Hugging Face → GGUF tensor names of the llama family. */
const HF_LAYER_NAMES: Record<string, string> = {
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.bias": "attn_v.bias",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
  "input_layernorm.weight": "attn_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
};
const HF_GLOBAL_NAMES: Record<string, string> = {
  "model.embed_tokens.weight": "token_embd.weight",
  "model.norm.weight": "output_norm.weight",
  "lm_head.weight": "output.weight",
};

export function ggufTensorName(name: string): string {
  const global = HF_GLOBAL_NAMES[name];
  if (global) return global;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const local = HF_LAYER_NAMES[m[2]!];
    if (local) return `blk.${m[1]}.${local}`;
  }
  if (/^(token_embd|output_norm|output)\.weight$/.test(name) || /^blk\.\d+\.[a-z_]+\.(weight|bias)$/.test(name)) return name;
  throw new InvalidArgumentError(`unknown tensor name "${name}" (expected Hugging Face llama/qwen2 names or GGUF names)`, "weights");
}

/** Expected [rows, cols] (HF order: out × in) of a GGUF-named tensor; vectors have rows = 1. */
function expectedShape(args: ModelArgs, gguf: string): [number, number] {
  const d = args.hiddenSize;
  const local = gguf.replace(/^blk\.\d+\./, "");
  const table: Record<string, [number, number]> = {
    "token_embd.weight": [args.vocabSize, d],
    "output.weight": [args.vocabSize, d],
    "output_norm.weight": [1, d],
    "attn_norm.weight": [1, d],
    "ffn_norm.weight": [1, d],
    "attn_q.weight": [d, d],
    "attn_k.weight": [args.kvDim, d],
    "attn_v.weight": [args.kvDim, d],
    "attn_output.weight": [d, d],
    "attn_q.bias": [1, d],
    "attn_k.bias": [1, args.kvDim],
    "attn_v.bias": [1, args.kvDim],
    "ffn_gate.weight": [args.intermediateSize, d],
    "ffn_up.weight": [args.intermediateSize, d],
    "ffn_down.weight": [d, args.intermediateSize],
  };
  const shape = table[local];
  if (!shape) throw new InvalidArgumentError(`tensor ${gguf} is not part of a ${args.architecture} model`, "weights");
  const layer = /^blk\.(\d+)\./.exec(gguf);
  if (layer && Number(layer[1]) >= args.numHiddenLayers) {
    throw new InvalidArgumentError(`tensor ${gguf}: the model has ${args.numHiddenLayers} layers`, "weights");
  }
  return shape;
}

/**
 * HF checkpoints rotate half of each head; GGUF `llama` pairs adjacent elements. Reorders the rows of a Q or K
 * projection (of `heads` heads) the way llama.cpp's converter does, so the engine's RoPE applies unchanged.
 */
function permuteRows(bytes: Uint8Array, rows: number, heads: number): Uint8Array {
  const rowBytes = bytes.length / rows;
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Uint8Array(bytes.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const to = h * headDim + 2 * i + j;
        const from = h * headDim + j * half + i;
        out.set(bytes.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return out;
}

interface PreparedTensor {
  gguf: string;
  rows: number;
  cols: number;
  dtype: GgmlTypeName;
  bytes: Uint8Array;
}

function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class Transformer {
  readonly args: ModelArgs;
  readonly options: Readonly<TransformerOptions>;
  /** The loaded model's session: its turn, KV bookkeeping (one slot per sequence) and cancellation. */
  #session: GenerationSession | undefined;

  constructor(args: ModelArgs | ModelArgsInit, options: TransformerOptions = {}) {
    this.args = args instanceof ModelArgs ? args : new ModelArgs(args);
    const batch = options.maxBatchSize ?? 4;
    if (!Number.isInteger(batch) || batch < 1 || batch > 64) {
      throw new InvalidArgumentError("maxBatchSize must be an integer from 1 to 64", "maxBatchSize");
    }
    this.options = { ...options, maxBatchSize: batch };
  }

  /** Loads a GGUF (path in Node, URL, bytes or stream); the arguments come from its metadata. */
  static async fromGGUF(source: ModelSource, options: TransformerOptions = {}): Promise<Transformer> {
    const bindings = await resolveEngine();
    const opened = await openModelSource(source);
    const model = await EngineModel.load(bindings, opened.chunks, {
      ...engineOptions(options, undefined),
      ...(opened.size !== undefined ? { sizeHint: opened.size } : {}),
    });
    const t = new Transformer(ModelArgs.fromGGUF(model.config), options);
    t.#session = new GenerationSession(model);
    return t;
  }

  /**
   * Loads weights: a record of tensors (HF or GGUF names), or the bytes / a stream of a `.safetensors` file.
   * Shapes are checked against `args`; the weights are assembled into a GGUF stream and land in WASM memory once.
   */
  async loadStateDict(weights: StateDict | Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    const bindings = await resolveEngine();
    const writer = new GgufWriter();
    for (const [key, value, type] of this.args.toGGUFMetadata()) writer.addMetadata(key, value, type);
    const seen = new Set<string>();
    const add = (t: PreparedTensor) => {
      if (seen.has(t.gguf)) throw new InvalidArgumentError(`tensor ${t.gguf} given twice`, "weights");
      seen.add(t.gguf);
      const dims = t.rows === 1 ? [t.cols] : [t.cols, t.rows];
      writer.addTensor(t.gguf, dims, t.dtype, t.bytes);
    };
    if (weights instanceof Uint8Array || (typeof ReadableStream !== "undefined" && weights instanceof ReadableStream)) {
      const source = weights instanceof Uint8Array ? (async function* () { yield weights; })() : streamChunks(weights);
      const reader = await SafetensorsReader.open(source);
      for (const entry of reader.entries) {
        const raw = await reader.readTensor(entry);
        add(this.#prepare(bindings, entry.name, { dtype: entry.dtype, shape: entry.shape, bytes: raw }));
      }
    } else if (weights && typeof weights === "object") {
      for (const [name, tensor] of Object.entries(weights)) {
        add(this.#prepare(bindings, name, normaliseInput(name, tensor)));
      }
    } else {
      throw new InvalidArgumentError("weights must be a record of tensors, safetensors bytes, or a ReadableStream", "weights");
    }
    this.#checkComplete(seen);
    const model = await EngineModel.load(bindings, writer.chunks(), engineOptions(this.options, this.args));
    this.#session?.model.dispose();
    this.#session = new GenerationSession(model);
  }

  /**
   * One forward pass per sequence: sequence i runs in KV slot i from `startPos` (a number for all, or one per
   * sequence). Returns each sequence's logits after its last token (copies: they outlive the next call).
   */
  forward(sequences: number[][], startPos: number | number[] = 0): Float32Array[] {
    const session = this.#loaded();
    this.#checkBatch(sequences);
    return sequences.map((tokens, i) => {
      const pos = Array.isArray(startPos) ? startPos[i] : startPos;
      if (pos === undefined || !Number.isInteger(pos) || pos < 0) {
        throw new InvalidArgumentError(`startPos for sequence ${i} must be a non-negative integer`, "startPos");
      }
      if (pos > session.model.sequenceLength(i)) {
        throw new InvalidArgumentError(
          `sequence ${i}: startPos ${pos} is past the ${session.model.sequenceLength(i)} cached positions`,
          "startPos",
        );
      }
      return session.forward(i, tokens, pos).slice();
    });
  }

  /**
   * Samples up to `maxGenLen` tokens after each prompt (sequence i in KV slot i, one after another in one turn of
   * the model, on the same loop as `Llama`); returns the generated ids per sequence.
   */
  async generate(promptTokens: number[][], options: TransformerGenerateOptions): Promise<number[][]> {
    const session = this.#loaded();
    this.#checkBatch(promptTokens);
    const { maxGenLen, eosId, seed, signal, ...sampling } = options;
    if (!Number.isInteger(maxGenLen) || maxGenLen < 1) throw new InvalidArgumentError("maxGenLen must be a positive integer", "maxGenLen");
    const longest = Math.max(...promptTokens.map((p) => p.length));
    if (longest + maxGenLen > session.model.contextLength) {
      throw new InvalidArgumentError(
        `longest prompt (${longest}) + maxGenLen (${maxGenLen}) exceeds the context of ${session.model.contextLength}`,
        "maxGenLen",
      );
    }
    const lease = await session.acquire({ signal });
    try {
      const outputs: number[][] = [];
      for (const [i, prompt] of promptTokens.entries()) {
        const ids: number[] = [];
        const steps = session.generate(
          i,
          prompt,
          { ...sampling, maxTokens: maxGenLen, lease, signal, ...(seed !== undefined ? { seed: seed + i } : {}) },
          { vocabulary: idsOnly(eosId), onToken: (id) => ids.push(id) },
        );
        while (!(await steps.next()).done);
        outputs.push(ids);
      }
      return outputs;
    } finally {
      lease.release();
    }
  }

  /** Frees the engine memory. */
  dispose(): void {
    this.#session?.model.dispose();
    this.#session = undefined;
  }

  /** The loaded engine model (memory report, metadata). */
  get model(): EngineModel {
    return this.#loaded().model;
  }

  /** The loaded model's generation session (its turn, KV bookkeeping, cancellation). */
  get session(): GenerationSession {
    return this.#loaded();
  }

  #loaded(): GenerationSession {
    if (!this.#session) throw new InvalidArgumentError("no weights loaded: call loadStateDict() or use Transformer.fromGGUF()", "weights");
    return this.#session;
  }

  #checkBatch(sequences: number[][]): void {
    if (!Array.isArray(sequences) || sequences.length === 0 || !sequences.every((s) => Array.isArray(s) && s.length > 0)) {
      throw new InvalidArgumentError("sequences must be a non-empty array of non-empty token arrays", "sequences");
    }
    const max = this.options.maxBatchSize!;
    if (sequences.length > max) {
      throw new InvalidArgumentError(`${sequences.length} sequences exceed maxBatchSize ${max}`, "sequences");
    }
  }

  #checkComplete(seen: Set<string>): void {
    const need = ["token_embd.weight", "output_norm.weight"];
    for (let l = 0; l < this.args.numHiddenLayers; l++) {
      for (const t of ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]) {
        need.push(`blk.${l}.${t}.weight`);
      }
    }
    if (!this.args.tieWordEmbeddings && !seen.has("output.weight")) {
      // Untied models need their own output projection (HF `lm_head.weight`).
      need.push("output.weight");
    }
    const missing = need.filter((n) => !seen.has(n));
    if (missing.length > 0) {
      throw new InvalidArgumentError(`state dict is missing ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(", ")}`, "weights");
    }
  }

  /** Checks one tensor against the arguments and turns it into GGUF-ready bytes. */
  #prepare(bindings: EngineBindings, name: string, input: { dtype: string; shape: number[]; bytes: Uint8Array }): PreparedTensor {
    const gguf = ggufTensorName(name);
    const [rows, cols] = expectedShape(this.args, gguf);
    // A flat array stands for the expected shape when its length matches (bare Float32Array inputs).
    const given = input.shape.length === 1 ? (input.shape[0] === rows * cols ? [rows, cols] : [1, input.shape[0]]) : input.shape;
    if (given.length !== 2 || given[0] !== rows || given[1] !== cols) {
      throw new InvalidArgumentError(
        `tensor ${name}: shape ${JSON.stringify(input.shape)}, expected ${JSON.stringify(rows === 1 ? [cols] : [rows, cols])}`,
        "weights",
      );
    }
    let dtype = input.dtype.toUpperCase() as GgmlTypeName;
    let bytes = input.bytes;
    const isMatrix = rows > 1;
    const target = this.options.weightType;
    // Like llama.cpp, a matrix whose rows do not split into whole blocks keeps its float type.
    if (isMatrix && target && target !== dtype && cols % GGML_TYPES[target].blockLen === 0) {
      const values = dtype === "F32" ? new Float32Array(bytes.slice().buffer) : bindings.dequantize(dtype, bytes);
      bytes = dtype === target ? bytes : target === "F32" ? asBytes(values) : bindings.quantize(target, values);
      dtype = target;
    } else if (!isMatrix && dtype !== "F32") {
      // Norms and biases are F32 in GGUF.
      bytes = asBytes(bindings.dequantize(dtype, bytes));
      dtype = "F32";
    }
    const local = gguf.replace(/^blk\.\d+\./, "");
    if (this.args.architecture === "llama" && (local === "attn_q.weight" || local === "attn_k.weight") && /^model\./.test(name)) {
      bytes = permuteRows(bytes, rows, local === "attn_q.weight" ? this.args.numAttentionHeads : this.args.numKeyValueHeads);
    }
    return { gguf, rows, cols, dtype, bytes };
  }
}

function normaliseInput(name: string, t: TensorInput): { dtype: string; shape: number[]; bytes: Uint8Array } {
  if (t instanceof Float32Array) return { dtype: "F32", shape: [t.length], bytes: asBytes(t) };
  if (!t || typeof t !== "object" || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data)) {
    throw new InvalidArgumentError(`tensor ${name} must be a Float32Array or {dtype, shape, data}`, "weights");
  }
  return { dtype: t.dtype, shape: t.shape, bytes: asBytes(t.data) };
}

function engineOptions(options: TransformerOptions, args: ModelArgs | undefined) {
  // Without arguments (a GGUF), the engine's own default applies: min(the file's context length, 2048).
  const contextLength = options.contextLength ?? (args ? Math.min(args.maxSeqLen, 2048) : undefined);
  return {
    ...(contextLength !== undefined ? { contextLength } : {}),
    kvType: options.kvType ?? "f16",
    sequences: options.maxBatchSize ?? 4,
  };
}


/**
 * ModelArgs: the hyper-parameters of a llama-family model, from a Hugging Face `config.json`, GGUF metadata, or by hand.
 * Mirrors the seed design's `ModelArgs`; field names are the camelCase of the usual HF ones.
 */
import { InvalidArgumentError, UnsupportedModelError } from "./errors.js";
import { platform } from "./platform.js";
import type { HyperParams } from "./engine/model.js";
import type { KvType } from "./types.js";

export const SUPPORTED_ARCHITECTURES = ["llama", "qwen2"] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export interface ModelArgsInit {
  architecture?: Architecture;
  hiddenSize: number;
  vocabSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads?: number;
  intermediateSize: number;
  maxSeqLen: number;
  rmsNormEps?: number;
  ropeTheta?: number;
  /** Linear RoPE scaling factor (positions are divided by it); 1 = none. */
  ropeScalingFactor?: number;
  /** Output projection shares the token embedding matrix. */
  tieWordEmbeddings?: boolean;
}

export class ModelArgs {
  readonly architecture: Architecture;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly intermediateSize: number;
  readonly maxSeqLen: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScalingFactor: number;
  readonly tieWordEmbeddings: boolean;

  constructor(init: ModelArgsInit) {
    this.architecture = architectureOf(init.architecture ?? "llama", "architecture");
    this.hiddenSize = positiveInt(init.hiddenSize, "hiddenSize");
    this.vocabSize = positiveInt(init.vocabSize, "vocabSize");
    this.numHiddenLayers = positiveInt(init.numHiddenLayers, "numHiddenLayers");
    this.numAttentionHeads = positiveInt(init.numAttentionHeads, "numAttentionHeads");
    this.numKeyValueHeads = positiveInt(init.numKeyValueHeads ?? init.numAttentionHeads, "numKeyValueHeads");
    this.intermediateSize = positiveInt(init.intermediateSize, "intermediateSize");
    this.maxSeqLen = positiveInt(init.maxSeqLen, "maxSeqLen");
    this.rmsNormEps = positiveFinite(init.rmsNormEps ?? 1e-5, "rmsNormEps");
    this.ropeTheta = positiveFinite(init.ropeTheta ?? 10000, "ropeTheta");
    this.ropeScalingFactor = positiveFinite(init.ropeScalingFactor ?? 1, "ropeScalingFactor");
    this.tieWordEmbeddings = init.tieWordEmbeddings ?? false;
    if (this.hiddenSize % this.numAttentionHeads !== 0) {
      throw new InvalidArgumentError(
        `hiddenSize (${this.hiddenSize}) must be a multiple of numAttentionHeads (${this.numAttentionHeads})`,
        "hiddenSize",
      );
    }
    if (this.numAttentionHeads % this.numKeyValueHeads !== 0) {
      throw new InvalidArgumentError(
        `numAttentionHeads (${this.numAttentionHeads}) must be a multiple of numKeyValueHeads (${this.numKeyValueHeads})`,
        "numKeyValueHeads",
      );
    }
    Object.freeze(this);
  }

  get headDim(): number {
    return this.hiddenSize / this.numAttentionHeads;
  }

  get kvDim(): number {
    return this.headDim * this.numKeyValueHeads;
  }

  /** Bytes of KV cache for `positions` positions of one sequence (K and V, every layer). */
  kvCacheBytes(positions: number, kvType: KvType = "f16"): number {
    if (kvType === "q8_0") {
      if (this.headDim % 32 !== 0) throw new InvalidArgumentError(`kvType q8_0 needs a head size that is a multiple of 32, not ${this.headDim}`, "kvType");
      return 2 * this.numHiddenLayers * this.numKeyValueHeads * (this.headDim / 32) * 34 * positions;
    }
    return 2 * this.numHiddenLayers * this.kvDim * positions * (kvType === "f16" ? 2 : 4);
  }

  /** From a parsed Hugging Face `config.json` (snake_case keys). */
  static fromConfig(config: unknown): ModelArgs {
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new InvalidArgumentError("config must be a JSON object (a Hugging Face config.json)", "config");
    }
    const c = config as Record<string, unknown>;
    const modelType = (c["model_type"] ?? "llama") as unknown;
    if (typeof modelType !== "string") throw new InvalidArgumentError("model_type must be a string", "model_type");
    const hidden = num(c, "hidden_size");
    const heads = num(c, "num_attention_heads");
    const headDim = c["head_dim"];
    if (headDim !== undefined && headDim !== null && headDim !== hidden / heads) {
      throw new UnsupportedModelError(`head_dim ${String(headDim)} differs from hidden_size / num_attention_heads; not supported`);
    }
    return new ModelArgs({
      architecture: architectureOf(modelType, "model_type"),
      hiddenSize: hidden,
      vocabSize: num(c, "vocab_size"),
      numHiddenLayers: num(c, "num_hidden_layers"),
      numAttentionHeads: heads,
      numKeyValueHeads: optNum(c, "num_key_value_heads"),
      intermediateSize: num(c, "intermediate_size"),
      maxSeqLen: num(c, "max_position_embeddings"),
      rmsNormEps: optNum(c, "rms_norm_eps"),
      ropeTheta: optNum(c, "rope_theta"),
      ropeScalingFactor: linearScaling(c["rope_scaling"]),
      tieWordEmbeddings: c["tie_word_embeddings"] === true,
    });
  }

  /** From a Hugging Face `config.json` on disk (Node: import "ellm-edge/node" first) or at an http(s) URL. */
  static async fromConfigFile(pathOrUrl: string | URL): Promise<ModelArgs> {
    const text = await platform.readText(pathOrUrl);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InvalidArgumentError(`${String(pathOrUrl)} is not valid JSON: ${(e as Error).message}`, "path", { cause: e });
    }
    return ModelArgs.fromConfig(json);
  }

  /**
   * From the hyper-parameters the engine parsed out of a GGUF header (`EngineModel.config`, the load plan's config,
   * or `readHyperParams(headerBytes)` of the engine bindings): no second parser of the `{arch}.*` keys here.
   */
  static fromGGUF(config: HyperParams): ModelArgs {
    return new ModelArgs({
      architecture: architectureOf(config.architecture, "general.architecture"),
      hiddenSize: config.dim,
      vocabSize: config.vocabSize,
      numHiddenLayers: config.nLayers,
      numAttentionHeads: config.nHeads,
      numKeyValueHeads: config.nKvHeads,
      intermediateSize: config.ffnDim,
      maxSeqLen: config.trainedContextLength,
      rmsNormEps: config.rmsEps,
      ropeTheta: config.ropeBase,
      ropeScalingFactor: config.ropeLinearFactor,
    });
  }

  /** The GGUF metadata entries (key, value, GGUF type) that describe these hyper-parameters. */
  toGGUFMetadata(): Array<[key: string, value: number | string, type: "u32" | "f32" | "string"]> {
    const a = this.architecture;
    const meta: Array<[string, number | string, "u32" | "f32" | "string"]> = [
      ["general.architecture", a, "string"],
      [`${a}.embedding_length`, this.hiddenSize, "u32"],
      [`${a}.block_count`, this.numHiddenLayers, "u32"],
      [`${a}.feed_forward_length`, this.intermediateSize, "u32"],
      [`${a}.attention.head_count`, this.numAttentionHeads, "u32"],
      [`${a}.attention.head_count_kv`, this.numKeyValueHeads, "u32"],
      [`${a}.context_length`, this.maxSeqLen, "u32"],
      [`${a}.attention.layer_norm_rms_epsilon`, this.rmsNormEps, "f32"],
      [`${a}.rope.freq_base`, this.ropeTheta, "f32"],
      [`${a}.rope.dimension_count`, this.headDim, "u32"],
      [`${a}.vocab_size`, this.vocabSize, "u32"],
    ];
    if (this.ropeScalingFactor !== 1) {
      meta.push([`${a}.rope.scaling.type`, "linear", "string"], [`${a}.rope.scaling.factor`, this.ropeScalingFactor, "f32"]);
    }
    return meta;
  }
}

function architectureOf(value: string, field: string): Architecture {
  if ((SUPPORTED_ARCHITECTURES as readonly string[]).includes(value)) return value as Architecture;
  throw new UnsupportedModelError(
    `${field} "${value}" is not supported; supported architectures: ${SUPPORTED_ARCHITECTURES.join(", ")}`,
  );
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new InvalidArgumentError(`${field} must be a positive integer, got ${JSON.stringify(v)}`, field);
  }
  return v;
}

function positiveFinite(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new InvalidArgumentError(`${field} must be a positive finite number, got ${JSON.stringify(v)}`, field);
  }
  return v;
}

function num(obj: Record<string, unknown>, key: string): number {
  const v = obj[key];
  if (typeof v !== "number") throw new InvalidArgumentError(`${key} is missing or not a number`, key);
  return v;
}

function optNum(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number") throw new InvalidArgumentError(`${key} must be a number`, key);
  return v;
}

function linearScaling(scaling: unknown): number | undefined {
  if (scaling === undefined || scaling === null) return undefined;
  if (typeof scaling !== "object") throw new InvalidArgumentError("rope_scaling must be an object", "rope_scaling");
  const s = scaling as Record<string, unknown>;
  const kind = s["rope_type"] ?? s["type"];
  if (kind !== "linear") {
    throw new UnsupportedModelError(`rope_scaling type ${JSON.stringify(kind)} is not supported (only "linear")`);
  }
  return optNum(s, "factor");
}

/**
 * Sampling parameters: their defaults and their validation (InvalidArgumentError naming the field), in one place for
 * every generation (`Llama`, `Transformer`, the Worker's requests).
 */
import { InvalidArgumentError } from "../errors.js";
import type { GenerateOptions } from "../types.js";

/**
 * What an unset field means, for every generation. These are OpenAI's API defaults (temperature 1, top_p 1, no
 * penalties, no bias): the Worker speaks OpenAI's API, so a request that omits a field gets what an OpenAI client
 * expects, and the library behaves the same. llama.cpp's server would sample cooler (temperature 0.8, top_k 40,
 * top_p 0.95, min_p 0.05) and Meta's reference generate() at 0.6/0.9; pass those explicitly to get them.
 */
export const SAMPLING_DEFAULTS = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
} as const;

/** The most alternatives a token's log-probabilities may list (OpenAI's limit for `top_logprobs`). */
export const MAX_TOP_LOGPROBS = 20;

export interface SamplingParams {
  /** 0 = greedy (argmax, lowest id on ties). Defaults of every field: SAMPLING_DEFAULTS. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 = off. */
  topP?: number;
  /** Drop tokens less likely than minP × the top token's probability; 0 = off. */
  minP?: number;
  /** llama.cpp-style: a seen token's logit is divided by this when positive, multiplied when negative; 1 = off. */
  repetitionPenalty?: number;
  /** OpenAI: logit −= count × frequencyPenalty. −2..2, 0 = off. */
  frequencyPenalty?: number;
  /** OpenAI: logit −= presencePenalty once a token has appeared. −2..2, 0 = off. */
  presencePenalty?: number;
  /** How many of the most recent accepted tokens the penalties look at; 0 disables penalties. */
  penaltyLastN?: number;
  /** Added to the logits of the given token ids (OpenAI `logit_bias`, −100..100). */
  logitBias?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  /** Seed for reproducible sampling; omitted = random. */
  seed?: number;
  /** Report log-probabilities: the chosen token's and the `topLogprobs` most likely alternatives (0..MAX_TOP_LOGPROBS). */
  logprobs?: boolean;
  topLogprobs?: number;
}

export interface ResolvedSamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
  penaltyLastN: number;
  biasIds: Int32Array;
  biasValues: Float32Array;
  seed: number | undefined;
  logprobs: boolean;
  topLogprobs: number;
}

function num(value: number | undefined, name: string, dflt: number, ok: (v: number) => boolean, range: string): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new InvalidArgumentError(`${name} must be ${range}, got ${String(value)}`, name);
  }
  return value;
}

export function resolveSamplingParams(p: SamplingParams, vocabSize: number): ResolvedSamplingParams {
  const entries: [number, number][] =
    p.logitBias === undefined
      ? []
      : p.logitBias instanceof Map
        ? [...p.logitBias.entries()]
        : Object.entries(p.logitBias).map(([k, v]) => [Number(k), v]);
  for (const [id, v] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidArgumentError(`logitBias token id ${id} is outside the vocabulary (size ${vocabSize})`, "logitBias");
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v < -100 || v > 100) {
      throw new InvalidArgumentError(`logitBias[${id}] must be a number in -100..100, got ${String(v)}`, "logitBias");
    }
  }
  const logprobs = p.logprobs ?? (p.topLogprobs !== undefined && p.topLogprobs > 0);
  return {
    temperature: num(p.temperature, "temperature", SAMPLING_DEFAULTS.temperature, (v) => v >= 0, "a number ≥ 0"),
    topK: num(p.topK, "topK", SAMPLING_DEFAULTS.topK, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0"),
    topP: num(p.topP, "topP", SAMPLING_DEFAULTS.topP, (v) => v > 0 && v <= 1, "in (0, 1]"),
    minP: num(p.minP, "minP", SAMPLING_DEFAULTS.minP, (v) => v >= 0 && v <= 1, "in [0, 1]"),
    repetitionPenalty: num(p.repetitionPenalty, "repetitionPenalty", SAMPLING_DEFAULTS.repetitionPenalty, (v) => v > 0, "a number > 0"),
    frequencyPenalty: num(p.frequencyPenalty, "frequencyPenalty", SAMPLING_DEFAULTS.frequencyPenalty, (v) => v >= -2 && v <= 2, "in [-2, 2]"),
    presencePenalty: num(p.presencePenalty, "presencePenalty", SAMPLING_DEFAULTS.presencePenalty, (v) => v >= -2 && v <= 2, "in [-2, 2]"),
    penaltyLastN: num(p.penaltyLastN, "penaltyLastN", SAMPLING_DEFAULTS.penaltyLastN, (v) => Number.isInteger(v) && v >= 0 && v <= 1 << 20, "an integer in 0..1048576"),
    biasIds: Int32Array.from(entries.map(([id]) => id)),
    biasValues: Float32Array.from(entries.map(([, v]) => v)),
    seed: p.seed === undefined ? undefined : num(p.seed, "seed", 0, (v) => Number.isSafeInteger(v), "a safe integer"),
    logprobs,
    topLogprobs: topLogprobs(p.topLogprobs, "topLogprobs") ?? 0,
  };
}

/** The sampler's parameters of one generation; `GenerateOptions.logprobs` is the number of top alternatives. */
export function generationSampling(o: GenerateOptions): SamplingParams {
  const top = topLogprobs(o.logprobs, "logprobs");
  return {
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    minP: o.minP,
    repetitionPenalty: o.repetitionPenalty,
    frequencyPenalty: o.frequencyPenalty,
    presencePenalty: o.presencePenalty,
    logitBias: o.logitBias,
    seed: o.seed,
    logprobs: top !== undefined,
    topLogprobs: top ?? 0,
  };
}

function topLogprobs(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  return num(value, name, 0, (v) => Number.isInteger(v) && v >= 0 && v <= MAX_TOP_LOGPROBS, `an integer in 0..${MAX_TOP_LOGPROBS}`);
}

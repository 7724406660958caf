/** Sampling parameters and their validation (InvalidArgumentError naming the field). */
import { InvalidArgumentError } from "../errors.js";

export interface SamplingParams {
  /** 0 = greedy (argmax, lowest id on ties). Default 1. */
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
  /** How many of the most recent accepted tokens the penalties look at. Default 64; 0 disables penalties. */
  penaltyLastN?: number;
  /** Added to the logits of the given token ids (OpenAI `logit_bias`, −100..100). */
  logitBias?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  /** Seed for reproducible sampling; omitted = random. */
  seed?: number;
  /** Report log-probabilities: the chosen token's and the `topLogprobs` most likely alternatives (0..20). */
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
    temperature: num(p.temperature, "temperature", 1, (v) => v >= 0, "a number ≥ 0"),
    topK: num(p.topK, "topK", 0, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0"),
    topP: num(p.topP, "topP", 1, (v) => v > 0 && v <= 1, "in (0, 1]"),
    minP: num(p.minP, "minP", 0, (v) => v >= 0 && v <= 1, "in [0, 1]"),
    repetitionPenalty: num(p.repetitionPenalty, "repetitionPenalty", 1, (v) => v > 0, "a number > 0"),
    frequencyPenalty: num(p.frequencyPenalty, "frequencyPenalty", 0, (v) => v >= -2 && v <= 2, "in [-2, 2]"),
    presencePenalty: num(p.presencePenalty, "presencePenalty", 0, (v) => v >= -2 && v <= 2, "in [-2, 2]"),
    penaltyLastN: num(p.penaltyLastN, "penaltyLastN", 64, (v) => Number.isInteger(v) && v >= 0 && v <= 1 << 20, "an integer in 0..1048576"),
    biasIds: Int32Array.from(entries.map(([id]) => id)),
    biasValues: Float32Array.from(entries.map(([, v]) => v)),
    seed: p.seed === undefined ? undefined : num(p.seed, "seed", 0, (v) => Number.isSafeInteger(v), "a safe integer"),
    logprobs,
    topLogprobs: num(p.topLogprobs, "topLogprobs", 0, (v) => Number.isInteger(v) && v >= 0 && v <= 20, "an integer in 0..20"),
  };
}

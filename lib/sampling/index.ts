export { Sampler, type LogitsConstraint, type TokenLogprob } from "./sampler.js";
export { generationSampling, MAX_TOP_LOGPROBS, resolveSamplingParams, SAMPLING_DEFAULTS, type SamplingParams, type ResolvedSamplingParams } from "./params.js";
export { Rng } from "./rng.js";
export { StopStringMatcher, type StopPushResult } from "./stop.js";

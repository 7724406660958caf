export { Sampler, type LogitsConstraint, type TokenLogprob } from "./sampler.js";
export { resolveSamplingParams, type SamplingParams, type ResolvedSamplingParams } from "./params.js";
export { Rng } from "./rng.js";
export { StopStringMatcher, type StopPushResult } from "./stop.js";

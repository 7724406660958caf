/**
 * eLLM Edge library: runs in Workers, Node and browsers. Node users import "ellm-edge/node" for file paths and
 * automatic engine loading; elsewhere call `initEngine(module)` once with the compiled engine .wasm.
 */
export { Llama } from "./llama.js";
export { ModelTurn, TurnLease, type TurnSettings, type AcquireOptions } from "./turn.js";
export { GenerationSession } from "./session.js";
export { Transformer, type TensorInput, type StateDict, type TransformerOptions, type TransformerGenerateOptions } from "./transformer.js";
export { ModelArgs, SUPPORTED_ARCHITECTURES, type Architecture, type ModelArgsInit } from "./model-args.js";
export { EngineModel } from "./engine/model.js";
export { initEngine } from "./engine/wasm.js";
export { initGrammar } from "./grammar/wasm.js";
export { checkResponseFormat } from "./grammar/response-format.js";
export * from "./errors.js";
export type * from "./types.js";
export { tokenizerFromGguf, tokenizerFromHfJson, type Tokenizer, type StreamDecoder } from "./tokenizer/index.js";
export { ChatTemplate, CHATML_TEMPLATE, DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from "./chat/index.js";
export { MAX_TOP_LOGPROBS, Sampler, SAMPLING_DEFAULTS, StopStringMatcher } from "./sampling/index.js";

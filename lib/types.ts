/**
 * Public types of the high-level API (`Llama`). The HTTP layer maps OpenAI requests onto these and back;
 * nothing here knows about HTTP.
 */
import type { ToolCallDelta } from "./chat/tool-stream.js";
import type { ToolCall, ToolChoice, ToolDefinition } from "./chat/tools.js";
import type { SamplingParams } from "./sampling/params.js";
import type { ModelTurn, TurnLease } from "./turn.js";

/** Where model weights come from. Strings are file paths in Node (via `ellm-edge/node`) or http(s) URLs. */
export type ModelSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

export interface LoadProgress {
  /** Bytes received so far. */
  loaded: number;
  /** Total bytes when known (from the GGUF header or the source's length). */
  total?: number;
}

/** KV cache storage: f32, f16, or Q8_0 blocks (32 values + one f16 scale in 34 bytes). */
export type KvType = "f16" | "f32" | "q8_0";

export interface LoadOptions {
  model: ModelSource;
  /** A Hugging Face tokenizer.json (+ optional tokenizer_config.json) to use instead of the GGUF's own vocabulary. */
  tokenizer?: { json: string | object; config?: string | object };
  /** Positions of KV cache to allocate (default: min(model context, 2048)). */
  contextLength?: number;
  /**
   * KV cache element type. Default f16 (half of f32, same greedy output on our references), or q8_0 (llama.cpp's
   * `-ctk/-ctv q8_0`: 34-byte blocks of 32 values, 53% of f16; needs a head size that is a multiple of 32) when
   * `memoryBudget` is set and weights + f16 KV + scratch would exceed it.
   */
  kvType?: KvType;
  /**
   * Bytes of WASM memory the model may hold (weights + KV cache + scratch), used when `kvType` is unset: the cache
   * is f16 if weights + f16 KV + scratch fit, else q8_0; a model over the budget either way is refused from its
   * header, before anything is allocated, with an `EngineFailureError` (out_of_memory) that gives the numbers.
   * Unset: no limit, f16.
   */
  memoryBudget?: number;
  /** Sequence slots (independent KV caches) for batched use; default 1. */
  sequences?: number;
  /** Replaces the model's chat template (Jinja source). */
  chatTemplate?: string;
  /**
   * Length of `model` in bytes when the source cannot tell (a stream): a header whose tensors extend past it is
   * refused before allocating. Paths, URLs with Content-Length and buffers know their size.
   */
  size?: number;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** The turn this model's generations take (default: a new one). A server shares one with its loads. */
  turn?: ModelTurn;
}

/** The sampling fields of generate and chat options (each documented on `SamplingParams`). */
export interface SamplingOptions
  extends Pick<SamplingParams, "temperature" | "topK" | "topP" | "minP" | "repetitionPenalty" | "frequencyPenalty" | "presencePenalty" | "seed"> {
  /** Token id → additive bias on its logit (OpenAI `logit_bias`, range −100…100). */
  logitBias?: Record<number, number>;
}

/**
 * What the output must be. `json_object`: any JSON object (OpenAI's JSON mode). `json_schema`: JSON valid against
 * `schema` (OpenAI's structured outputs; see README for the keywords supported). Enforced token by token with a
 * grammar, so the text always parses unless `maxTokens` cut it (finish reason "length").
 */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; schema: Record<string, unknown> | boolean; name?: string };

export interface GenerateOptions extends SamplingOptions {
  /** New tokens to generate at most. Default: the rest of the context (never a silent small cap). */
  maxTokens?: number;
  /** Text that ends generation; it is never part of the output. */
  stop?: string | string[];
  /** Constrain the output (default: free text). */
  responseFormat?: ResponseFormat;
  /**
   * Chat only: functions the model may call (OpenAI's `tools`). Calls come back in `toolCalls` (whole and as
   * streamed deltas) with finish reason "tool_calls"; each call's arguments match its tool's parameters schema.
   */
  tools?: ToolDefinition[];
  /** "auto" (default with tools): text or calls; "required": calls only; a named function; "none": text only. */
  toolChoice?: ToolChoice;
  /** More than one call in one answer (default true). */
  parallelToolCalls?: boolean;
  /** Report per-token log-probabilities with this many top alternatives (0 = only the chosen token). */
  logprobs?: number;
  signal?: AbortSignal;
  /** Prepend BOS when the tokenizer asks for it (default true for `generate`, false for chat: the template adds it). */
  addBos?: boolean;
  /**
   * Yield to the event loop between tokens and prefill slices (default true), so streamed chunks flush, other work
   * interleaves, and `signal` is seen mid-generation. A step stuck on a yield that never returns (workerd drops a
   * disconnected request's timers) loses the model's turn when it goes stale, so yielding is always safe.
   */
  yieldBetweenTokens?: boolean;
  /** The model's turn, already held by the caller (e.g. a server that loaded the model under it); else acquired. */
  lease?: TurnLease;
  /** When the turn must be waited for: refuse with BusyError if this many are already waiting. */
  maxWaiting?: number;
  /**
   * Reuse the longest prefix of the prompt whose K/V the cache already holds (default true): a chat's next turn, or
   * a repeated system prompt, prefills only what is new.
   */
  reusePrefix?: boolean;
  /** Called once the prompt is in the cache, before the first token: how much of it was reused. */
  onPrefill?: (info: { promptTokens: number; cachedTokens: number }) => void;
}

export interface TopLogprob {
  token: string;
  tokenId: number;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  topLogprobs: TopLogprob[];
}

/** One streamed piece of output: text that is final (stop strings already cut, UTF-8 never split). */
export interface TextDelta {
  text: string;
  /** Tool-call pieces in this step (chat with tools): OpenAI's `delta.tool_calls`. */
  toolCalls?: ToolCallDelta[];
  /** Log-probabilities of the tokens that produced this delta, when requested. */
  logprobs?: TokenLogprob[];
}

export type FinishReason = "stop" | "length" | "tool_calls";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens whose K/V were already in the cache (a repeated prefix: chat history, a system prompt). */
  cachedTokens: number;
}

export interface Timings {
  /** Prompt processing (prefill) time. */
  prefillMs: number;
  /** Time spent producing tokens after the first. */
  decodeMs: number;
}

export interface GenerationResult {
  /** The text (with tools: the content outside the calls). */
  text: string;
  /** The calls the model made (chat with tools), when it made any. */
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
  logprobs?: TokenLogprob[];
}

export type { ChatMessageInput as ChatMessage, ChatRole } from "./chat/messages.js";
export type { ToolCall, ToolChoice, ToolDefinition } from "./chat/tools.js";
export type { ToolCallDelta } from "./chat/tool-stream.js";

export interface MemoryReport {
  weights: number;
  kvCache: number;
  scratch: number;
  total: number;
  /** Bytes of WASM linear memory in use by the engine (includes allocator slack and the loader's header buffer). */
  wasmMemory: number;
}

export interface ModelInfo {
  architecture: string;
  name: string;
  vocabSize: number;
  /** Context the model was trained for (GGUF `{arch}.context_length`). */
  trainedContextLength: number;
  /** Context allocated at load (KV cache size in positions). */
  contextLength: number;
  memory: MemoryReport;
  chatTemplate: string | undefined;
}

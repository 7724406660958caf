/** The validated form of an OpenAI chat or text completion request: what the backends consume. */
import type { ToolSetup } from "../../lib/chat/tools.js";
import type { ChatMessage, ResponseFormat, SamplingOptions } from "../../lib/types.js";
import type { HttpError } from "../http/errors.js";

/** OpenAI's sampling fields and the library's names for them: read from a request here, forwarded to an origin. */
export const SAMPLING_FIELDS = [
  ["temperature", "temperature"],
  ["top_p", "topP"],
  ["top_k", "topK"],
  ["min_p", "minP"],
  ["presence_penalty", "presencePenalty"],
  ["frequency_penalty", "frequencyPenalty"],
  ["repetition_penalty", "repetitionPenalty"],
  ["seed", "seed"],
  ["logit_bias", "logitBias"],
] as const satisfies ReadonlyArray<readonly [string, keyof SamplingOptions]>;

interface CompletionRequestBase {
  model: string;
  /** Undefined → the rest of the context (no silent small cap). */
  maxTokens: number | undefined;
  sampling: SamplingOptions;
  stop: string[] | undefined;
  /** Top alternatives per token when logprobs were requested (0 = only the chosen token); undefined = not requested. */
  logprobs: number | undefined;
  /** Choices to generate from the one prompt. */
  n: number;
  /** Reuse the KV of a prompt prefix already in the cache (llama.cpp's cache_prompt; default true). */
  cachePrompt: boolean;
  stream: boolean;
  includeUsage: boolean;
  user: string | undefined;
}

export interface ChatCompletionRequest extends CompletionRequestBase {
  kind: "chat";
  messages: ChatMessage[];
  /**
   * Legacy function-calling fields (functions, function_call) as the client sent them: only an origin can serve
   * this request; `refusal` is the 400 to give where there is none.
   */
  originOnly?: { fields: Record<string, unknown>; refusal: HttpError };
  /**
   * Tool calling: `setup` is what the edge enforces (undefined for tool_choice "none"), `sent` the fields as the
   * client sent them, for an origin.
   */
  tools?: { setup: ToolSetup | undefined; sent: Record<string, unknown> };
  /** JSON mode / structured outputs; undefined = free text. */
  responseFormat: ResponseFormat | undefined;
}

export interface TextCompletionRequest extends CompletionRequestBase {
  kind: "text";
  prompt: string;
}

export type CompletionRequest = ChatCompletionRequest | TextCompletionRequest;

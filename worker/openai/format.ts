/** OpenAI response shapes (chat.completion, chat.completion.chunk, text_completion, usage, logprobs). */
import type { CompletionUsage, LogprobEntry, ResponseMeta } from "../backend/backend.js";

export function completionId(kind: "chat" | "text"): string {
  const hex = crypto.randomUUID().replace(/-/g, "");
  return kind === "chat" ? `chatcmpl-${hex}` : `cmpl-${hex}`;
}

/** A new answer's id and creation time, under our model id. */
export function responseMeta(kind: "chat" | "text", model: string): ResponseMeta {
  return { id: completionId(kind), created: Math.floor(Date.now() / 1000), model };
}

export function usageBody(u: CompletionUsage) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    ...(u.cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cachedTokens } } : {}),
  };
}

/** Chat logprobs: `{content: [{token, logprob, bytes, top_logprobs: [...]}], refusal: null}`. */
export function chatLogprobs(items: readonly LogprobEntry[]) {
  return {
    content: items.map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: t.bytes,
      top_logprobs: t.topLogprobs.map((a) => ({ token: a.token, logprob: a.logprob, bytes: a.bytes })),
    })),
    refusal: null,
  };
}

/** Legacy completions logprobs: parallel arrays; `textOffset` is where this piece of text starts in the completion. */
export function textLogprobs(items: readonly LogprobEntry[], textOffset: number) {
  const text_offset: number[] = [];
  let offset = textOffset;
  for (const t of items) {
    text_offset.push(offset);
    offset += t.token.length;
  }
  return {
    tokens: items.map((t) => t.token),
    token_logprobs: items.map((t) => t.logprob),
    top_logprobs: items.map((t) => Object.fromEntries(t.topLogprobs.map((a) => [a.token, a.logprob]))),
    text_offset,
  };
}

/** One choice of a whole (non-streamed) answer. */
export interface ChoiceOutput {
  text: string;
  toolCalls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
  functionCall: { name: string; arguments: string } | undefined;
  logprobs: LogprobEntry[];
  finishReason: string | null;
}

/** The fields every object of one answer starts with. */
function envelope(meta: ResponseMeta, object: string) {
  return { id: meta.id, object, created: meta.created, model: meta.model };
}

export function chatCompletionBody(meta: ResponseMeta, choices: readonly ChoiceOutput[], usage: CompletionUsage | undefined, withLogprobs: boolean) {
  return {
    ...envelope(meta, "chat.completion"),
    choices: choices.map((c, index) => ({
      index,
      message: {
        role: "assistant",
        // Only calls: no content (null), as OpenAI answers.
        content: c.text === "" && (c.toolCalls.length > 0 || c.functionCall) ? null : c.text,
        ...(c.toolCalls.length > 0 ? { tool_calls: c.toolCalls } : {}),
        ...(c.functionCall ? { function_call: c.functionCall } : {}),
        refusal: null,
      },
      logprobs: withLogprobs ? chatLogprobs(c.logprobs) : null,
      finish_reason: c.finishReason,
    })),
    ...(usage ? { usage: usageBody(usage) } : {}),
  };
}

export function textCompletionBody(meta: ResponseMeta, choices: readonly ChoiceOutput[], usage: CompletionUsage | undefined, withLogprobs: boolean) {
  return {
    ...envelope(meta, "text_completion"),
    choices: choices.map((c, index) => ({
      index,
      text: c.text,
      logprobs: withLogprobs ? textLogprobs(c.logprobs, 0) : null,
      finish_reason: c.finishReason,
    })),
    ...(usage ? { usage: usageBody(usage) } : {}),
  };
}

/** The `delta` of a chat chunk. */
export interface ChatDelta {
  role?: "assistant";
  content?: string;
  tool_calls?: unknown[];
  function_call?: { name?: string; arguments: string };
}

/** What one streamed chunk says of its choice: a chat delta, or a piece of completion text. */
export type ChunkChoice =
  | { delta: ChatDelta; logprobs: ReturnType<typeof chatLogprobs> | null }
  | { text: string; logprobs: ReturnType<typeof textLogprobs> | null };

/** One streamed chunk of one choice; `usage: null` on every chunk when the client asked for a final usage chunk. */
export function choiceChunk(meta: ResponseMeta, index: number, choice: ChunkChoice, finishReason: string | null, includeUsage: boolean) {
  const object = "delta" in choice ? "chat.completion.chunk" : "text_completion";
  return { ...envelope(meta, object), choices: [{ index, ...choice, finish_reason: finishReason }], ...(includeUsage ? { usage: null } : {}) };
}

/** The final usage chunk (`choices: []`), sent only with stream_options.include_usage. */
export function usageChunk(meta: ResponseMeta, kind: "chat" | "text", usage: CompletionUsage) {
  return { ...envelope(meta, kind === "chat" ? "chat.completion.chunk" : "text_completion"), choices: [], usage: usageBody(usage) };
}

/** OpenAI response shapes (chat.completion, chat.completion.chunk, text_completion, usage, logprobs) from library results. */
import type { FinishReason, GenerationResult, TokenLogprob, Usage } from "../../lib/types.js";

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

export function completionId(kind: "chat" | "text"): string {
  const hex = crypto.randomUUID().replace(/-/g, "");
  return kind === "chat" ? `chatcmpl-${hex}` : `cmpl-${hex}`;
}

export function usageBody(u: Usage) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}

/** Usage of n choices from one prompt: the prompt counts once (as OpenAI bills it), every choice's tokens count. */
export function choicesUsage(results: readonly GenerationResult[]): Usage {
  const first = results[0]!.usage;
  const completionTokens = results.reduce((n, r) => n + r.usage.completionTokens, 0);
  return {
    promptTokens: first.promptTokens,
    completionTokens,
    totalTokens: first.promptTokens + completionTokens,
    cachedTokens: first.cachedTokens,
  };
}

/** Chat logprobs: `{content: [{token, logprob, bytes, top_logprobs: [...]}], refusal: null}`. */
export function chatLogprobs(items: readonly TokenLogprob[]) {
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
export function textLogprobs(items: readonly TokenLogprob[], textOffset: number) {
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

export function chatCompletionBody(meta: ResponseMeta, results: readonly GenerationResult[], withLogprobs: boolean) {
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: results.map((result, index) => ({
      index,
      message: result.toolCalls
        ? { role: "assistant", content: result.text === "" ? null : result.text, tool_calls: result.toolCalls, refusal: null }
        : { role: "assistant", content: result.text, refusal: null },
      logprobs: withLogprobs ? chatLogprobs(result.logprobs ?? []) : null,
      finish_reason: result.finishReason,
    })),
    usage: usageBody(choicesUsage(results)),
  };
}

export function textCompletionBody(meta: ResponseMeta, results: readonly GenerationResult[], withLogprobs: boolean) {
  return {
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    choices: results.map((result, index) => ({
      index,
      text: result.text,
      logprobs: withLogprobs ? textLogprobs(result.logprobs ?? [], 0) : null,
      finish_reason: result.finishReason,
    })),
    usage: usageBody(choicesUsage(results)),
  };
}

/** One `chat.completion.chunk`; `usage: null` on every chunk when the client asked for a final usage chunk. */
export function chatChunk(
  meta: ResponseMeta,
  index: number,
  delta: { role?: "assistant"; content?: string; tool_calls?: unknown[] },
  finishReason: FinishReason | null,
  logprobs: ReturnType<typeof chatLogprobs> | null,
  includeUsage: boolean,
) {
  return {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    choices: [{ index, delta, logprobs, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

export function textChunk(
  meta: ResponseMeta,
  index: number,
  text: string,
  finishReason: FinishReason | null,
  logprobs: ReturnType<typeof textLogprobs> | null,
  includeUsage: boolean,
) {
  return {
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index, text, logprobs, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

/** The final usage chunk (`choices: []`), sent only with stream_options.include_usage. */
export function usageChunk(meta: ResponseMeta, kind: "chat" | "text", usage: Usage) {
  return {
    id: meta.id,
    object: kind === "chat" ? "chat.completion.chunk" : "text_completion",
    created: meta.created,
    model: meta.model,
    choices: [],
    usage: usageBody(usage),
  };
}

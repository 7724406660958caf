/**
 * An origin's OpenAI objects → the backends' neutral events: a whole answer (`chat.completion`, `text_completion`)
 * or one streamed chunk. Only what our contract carries is read — text, tool-call and legacy function-call pieces,
 * logprobs, finish reasons, usage — so nothing else the origin says (its ids, model name, fingerprints, timings)
 * reaches the client; worker/openai/encode.ts writes the answer under our own id and model.
 */
import type { ToolCallDelta } from "../../lib/types.js";
import type { CompletionEvent, CompletionUsage, LogprobEntry } from "../backend/backend.js";
import { UpstreamFailure } from "./errors.js";

type Kind = "chat" | "text";
type Obj = Record<string, unknown>;
type Delta = Extract<CompletionEvent, { type: "delta" }>;

export const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A non-streamed answer: per choice its start, its whole output as one delta, its finish; then the usage. */
export function completionEvents(body: unknown, kind: Kind): CompletionEvent[] {
  if (!isObject(body) || !Array.isArray(body.choices)) throw new UpstreamFailure("malformed", "completion body has no choices");
  const events: CompletionEvent[] = [];
  body.choices.forEach((c: unknown, at) => {
    if (!isObject(c)) throw new UpstreamFailure("malformed", "a completion choice is not an object");
    const index = indexOf(c, at);
    const output = kind === "chat" ? (isObject(c.message) ? c.message : {}) : c;
    events.push({ type: "start", index }, delta(index, output, c.logprobs, kind) ?? { type: "delta", index, text: "" });
    if (typeof c.finish_reason === "string") events.push({ type: "finish", index, reason: c.finish_reason });
  });
  const usage = usageOf(body.usage);
  if (usage) events.push({ type: "usage", usage });
  return events;
}

/** One streamed chunk (`chat.completion.chunk`, `text_completion`): its pieces, in order. `started`: the choices
 *  whose start was already reported (some servers repeat the role on every delta). */
export function chunkEvents(chunk: Obj, kind: Kind, started: Set<number>): CompletionEvent[] {
  const events: CompletionEvent[] = [];
  const choices: unknown[] = Array.isArray(chunk.choices) ? chunk.choices : [];
  choices.forEach((c, at) => {
    if (!isObject(c)) return;
    const index = indexOf(c, at);
    const piece = kind === "chat" ? (isObject(c.delta) ? c.delta : {}) : c;
    // The role comes on a choice's first delta (with empty content): our start event says the same.
    if (kind === "chat" && typeof piece.role === "string" && !started.has(index)) {
      started.add(index);
      events.push({ type: "start", index });
    }
    const d = delta(index, piece, c.logprobs, kind);
    if (d) events.push(d);
    if (typeof c.finish_reason === "string" && c.finish_reason !== "") events.push({ type: "finish", index, reason: c.finish_reason });
  });
  const usage = usageOf(chunk.usage);
  if (usage) events.push({ type: "usage", usage });
  return events;
}

/** What a choice's message, delta or text choice adds; undefined when it adds nothing. */
function delta(index: number, piece: Obj, logprobs: unknown, kind: Kind): Delta | undefined {
  const content = kind === "chat" ? piece.content : piece.text;
  const text = typeof content === "string" ? content : "";
  const toolCalls = kind === "chat" ? toolCallDeltas(piece.tool_calls) : undefined;
  const functionCall = kind === "chat" ? functionCallOf(piece.function_call) : undefined;
  const lp = kind === "chat" ? chatLogprobsOf(logprobs) : textLogprobsOf(logprobs);
  if (text === "" && !toolCalls && !functionCall && !lp) return undefined;
  return { type: "delta", index, text, ...(toolCalls ? { toolCalls } : {}), ...(functionCall ? { functionCall } : {}), ...(lp ? { logprobs: lp } : {}) };
}

function indexOf(choice: Obj, position: number): number {
  return Number.isInteger(choice.index) ? (choice.index as number) : position;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** `tool_calls` of a delta (each with its index) or of a message (its position is its index). */
function toolCallDeltas(v: unknown): ToolCallDelta[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const calls = v.filter(isObject).map((t, at): ToolCallDelta => {
    const f = isObject(t.function) ? t.function : {};
    const id = str(t.id);
    const name = str(f.name);
    return {
      index: Number.isInteger(t.index) ? (t.index as number) : at,
      ...(id !== undefined ? { id, type: "function" as const } : {}),
      function: { ...(name !== undefined ? { name } : {}), arguments: str(f.arguments) ?? "" },
    };
  });
  return calls.length > 0 ? calls : undefined;
}

function functionCallOf(v: unknown): Delta["functionCall"] {
  if (!isObject(v)) return undefined;
  const name = str(v.name);
  return { ...(name !== undefined ? { name } : {}), arguments: str(v.arguments) ?? "" };
}

function bytesOf(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((b) => Number.isInteger(b)) ? (v as number[]) : null;
}

/** Chat logprobs: `{content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}`. */
function chatLogprobsOf(v: unknown): LogprobEntry[] | undefined {
  if (!isObject(v) || !Array.isArray(v.content)) return undefined;
  const items = v.content.filter((t): t is Obj => isObject(t) && typeof t.token === "string" && typeof t.logprob === "number").map((t) => ({
    token: t.token as string,
    logprob: t.logprob as number,
    bytes: bytesOf(t.bytes),
    topLogprobs: (Array.isArray(t.top_logprobs) ? t.top_logprobs : [])
      .filter((a): a is Obj => isObject(a) && typeof a.token === "string" && typeof a.logprob === "number")
      .map((a) => ({ token: a.token as string, logprob: a.logprob as number, bytes: bytesOf(a.bytes) })),
  }));
  return items.length > 0 ? items : undefined;
}

/** Legacy logprobs: parallel `tokens`, `token_logprobs`, `top_logprobs` (a token → logprob map per position). */
function textLogprobsOf(v: unknown): LogprobEntry[] | undefined {
  if (!isObject(v) || !Array.isArray(v.tokens)) return undefined;
  const logprobs: unknown[] = Array.isArray(v.token_logprobs) ? v.token_logprobs : [];
  const tops: unknown[] = Array.isArray(v.top_logprobs) ? v.top_logprobs : [];
  const items: LogprobEntry[] = [];
  v.tokens.forEach((token: unknown, i) => {
    const logprob = logprobs[i];
    if (typeof token !== "string" || typeof logprob !== "number") return;
    const top = tops[i];
    const topLogprobs = isObject(top)
      ? Object.entries(top).filter((e): e is [string, number] => typeof e[1] === "number").map(([t, lp]) => ({ token: t, logprob: lp, bytes: null }))
      : [];
    items.push({ token, logprob, bytes: null, topLogprobs });
  });
  return items.length > 0 ? items : undefined;
}

function usageOf(v: unknown): CompletionUsage | undefined {
  if (!isObject(v) || typeof v.prompt_tokens !== "number" || typeof v.completion_tokens !== "number") return undefined;
  const cached = isObject(v.prompt_tokens_details) ? v.prompt_tokens_details.cached_tokens : undefined;
  return {
    promptTokens: v.prompt_tokens,
    completionTokens: v.completion_tokens,
    totalTokens: typeof v.total_tokens === "number" ? v.total_tokens : v.prompt_tokens + v.completion_tokens,
    ...(typeof cached === "number" ? { cachedTokens: cached } : {}),
  };
}

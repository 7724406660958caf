/**
 * The seam between HTTP and whatever computes a completion. A backend takes a validated request and, once it can
 * answer — the edge after the prefill, the origin once the upstream's first bytes (or whole JSON answer) are in —
 * returns a CompletionStream: OpenAI-neutral events, pulled one at a time. worker/openai/encode.ts writes them as the
 * JSON answer or the SSE stream for both backends. Anything that fails before the stream exists is an HttpError
 * with its status (and failover.ts may still send the request elsewhere); a failure after it is the stream's end.
 */
import type { ToolCallDelta } from "../../lib/types.js";
import type { CatalogEntry } from "../catalog/schema.js";
import type { Env } from "../env.js";
import type { HttpError } from "../http/errors.js";
import type { ServerTiming } from "../http/timing.js";
import type { CompletionRequest } from "../openai/request.js";

export interface BackendContext {
  requestId: string;
  /** Fires when the client goes away; the backend must stop work. */
  signal: AbortSignal;
  env: Env;
  timing: ServerTiming;
}

export type BackendName = "edge" | "origin";

/** What every response of one completion says about itself (the same in each SSE chunk). */
export interface ResponseMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  /** Our catalog id (never an origin's name for it). */
  model: string;
}

export interface Backend {
  readonly name: BackendName;
  complete(request: CompletionRequest, entry: CatalogEntry, ctx: BackendContext): Promise<CompletionStream>;
}

/** One token's log-probability and its top alternatives (bytes are null where an origin did not send them). */
export interface LogprobEntry {
  token: string;
  logprob: number;
  bytes: number[] | null;
  topLogprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

export interface CompletionUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens served from the KV cache; undefined where an origin did not say. */
  cachedTokens?: number;
}

/**
 * What a backend produces, per choice `index`. `finish` reasons are OpenAI's (`stop`, `length`, `tool_calls`, and
 * whatever else an origin reports, e.g. `function_call`).
 */
export type CompletionEvent =
  /** A choice begins (a chat stream announces the assistant's role). */
  | { type: "start"; index: number }
  | {
      type: "delta";
      index: number;
      text: string;
      toolCalls?: readonly ToolCallDelta[];
      /** Legacy function calling, which only an origin serves: OpenAI's `function_call` pieces. */
      functionCall?: { name?: string; arguments: string };
      logprobs?: readonly LogprobEntry[];
    }
  | { type: "finish"; index: number; reason: string }
  | { type: "usage"; usage: CompletionUsage }
  /** Alive, nothing to say yet (an origin's SSE comment). */
  | { type: "keepalive" };

/** How a stream ended: completely, with a failure after the headers, or because the client left. */
export type StreamEnd = { kind: "complete" } | { kind: "failed"; error: HttpError } | { kind: "gone" };

export interface CompletionStream {
  /** Which backend answered (the `x-ellm-backend` header). */
  readonly backend: BackendName;
  /** Id, creation time and model of the answer. */
  readonly meta: ResponseMeta;
  /** The next event, computed (or read) on demand: nothing runs ahead of a client that stopped reading. Never throws. */
  next(): Promise<IteratorResult<CompletionEvent, StreamEnd>>;
  /** The client cancelled the body: stop work and give everything back. */
  cancel(reason: unknown): void;
}

/** A stream of events already in hand (an origin's JSON answer), ending complete. */
export function streamOf(backend: BackendName, meta: ResponseMeta, events: readonly CompletionEvent[]): CompletionStream {
  let at = 0;
  return {
    backend,
    meta,
    next: async () => (at < events.length ? { done: false, value: events[at++]! } : { done: true, value: { kind: "complete" } }),
    cancel: () => {
      at = events.length;
    },
  };
}

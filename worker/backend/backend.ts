/**
 * The seam between HTTP and whatever computes a completion. A backend takes a validated request and returns the
 * finished HTTP response (JSON or an SSE stream) — the edge backend runs the model in this isolate; an origin
 * backend (a later issue) forwards the same OpenAI request to a GPU server and pipes its response through.
 */
import type { CatalogEntry } from "../catalog/schema.js";
import type { Env } from "../env.js";
import type { ServerTiming } from "../http/timing.js";
import type { CompletionRequest } from "../openai/request.js";

export interface BackendContext {
  requestId: string;
  /** Fires when the client goes away; the backend must stop work. */
  signal: AbortSignal;
  env: Env;
  timing: ServerTiming;
}

export interface Backend {
  readonly name: "edge" | "origin";
  complete(request: CompletionRequest, entry: CatalogEntry, ctx: BackendContext): Promise<Response>;
}

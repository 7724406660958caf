/**
 * Edge → origin failover for "auto" models: when the edge cannot take a request it would otherwise refuse — the
 * isolate's queue is full, the weights would not load (memory, R2), the prompt needs more context than the edge
 * allocated, or a grammar (tools, response_format) would not fit beside the model — the same request goes to the
 * origin, before any byte has reached the client.
 */
import type { CatalogEntry } from "../catalog/schema.js";
import { HttpError } from "../http/errors.js";
import { log } from "../http/log.js";
import type { CompletionRequest } from "../openai/request.js";
import type { Backend, BackendContext, CompletionStream } from "./backend.js";
import { servableElsewhere } from "./errors.js";
import type { Backends } from "./router.js";

export interface Completed {
  stream: CompletionStream;
  /** The backend that answered. */
  backend: Backend;
}

export async function completeWithFailover(
  chosen: Backend,
  backends: Backends,
  entry: CatalogEntry,
  request: CompletionRequest,
  ctx: BackendContext,
): Promise<Completed> {
  try {
    return { stream: await chosen.complete(request, entry, ctx), backend: chosen };
  } catch (e) {
    const origin = backends.origin;
    const eligible = chosen.name === "edge" && entry.backend === "auto" && entry.origin !== undefined && origin !== undefined;
    if (!eligible || !(e instanceof HttpError) || !servableElsewhere(e)) throw e;
    log("warn", "failover", { requestId: ctx.requestId, model: entry.id, from: "edge", to: "origin", reason: e.code });
    return { stream: await origin.complete(request, entry, ctx), backend: origin };
  }
}

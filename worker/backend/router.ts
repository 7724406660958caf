/**
 * Picks the backend for a catalog entry. "edge" and "origin" are explicit; "auto" runs on the edge when the weights
 * and the KV cache the edge would allocate fit the engine's memory budget — in f16, or in q8_0 as the engine itself
 * falls back to — otherwise on the origin.
 * (A request that then needs more context than the edge allocated fails over to the origin: see failover.ts.)
 */
import type { CatalogEntry } from "../catalog/schema.js";
import { HttpError } from "../http/errors.js";
import { EDGE_MODEL_MEMORY } from "../runtime/memory-budget.js";
import type { Backend } from "./backend.js";

/** Weights + KV cache "auto" sends to the edge: the budget the model store loads under (one number for both). */
export const EDGE_MEMORY_BUDGET = EDGE_MODEL_MEMORY;
/** A q8_0 KV row takes 34 bytes per 32 values where f16 takes 64. */
const q8KvBytes = (f16Bytes: number) => Math.ceil((f16Bytes * 34) / 64);
/** Largest GGUF "auto" sends to the edge when the entry does not say how large its KV cache is. */
export const EDGE_WEIGHT_BUDGET = 96 * 1024 * 1024;

export interface Backends {
  edge: Backend;
  /** Absent unless an origin is configured (ORIGIN_URL). */
  origin?: Backend;
}

export interface BackendChoice {
  backend: Backend;
  reason: string;
}

/** `edgeContext`: KV positions the edge allocates for this entry (its contextLength capped by CONTEXT_LENGTH). */
export function chooseBackend(
  entry: CatalogEntry,
  backends: Backends,
  edgeContext = entry.contextLength,
  originOnly?: { feature: string; refusal: HttpError },
): BackendChoice {
  let wanted: "edge" | "origin";
  let reason: string;
  if (originOnly && entry.backend !== "origin") {
    // A feature the edge does not have: an auto model with an origin goes there; otherwise the edge's clear 400.
    if (entry.backend === "edge" || !backends.origin) throw originOnly.refusal;
    wanted = "origin";
    reason = `feature: '${originOnly.feature}' is served by the origin only`;
  } else if (entry.backend === "auto") {
    const weights = entry.bytes ?? Infinity;
    if (entry.kvBytesPerToken !== undefined) {
      const f16 = entry.kvBytesPerToken;
      const kvPerToken = weights + f16 * edgeContext <= EDGE_MEMORY_BUDGET ? f16 : q8KvBytes(f16);
      const kv = kvPerToken === f16 ? "f16" : "q8_0";
      wanted = weights + kvPerToken * edgeContext <= EDGE_MEMORY_BUDGET ? "edge" : "origin";
      reason = `auto: ${weights} bytes of weights + ${edgeContext} × ${kvPerToken} bytes of ${kv} KV cache ${wanted === "edge" ? "fit" : "exceed"} the edge budget of ${EDGE_MEMORY_BUDGET}`;
    } else {
      wanted = weights <= EDGE_WEIGHT_BUDGET ? "edge" : "origin";
      reason = `auto: ${weights} bytes of weights ${wanted === "edge" ? "fit" : "exceed"} the edge budget of ${EDGE_WEIGHT_BUDGET}`;
    }
  } else {
    wanted = entry.backend;
    reason = `catalog: backend "${entry.backend}"`;
  }
  const backend = backends[wanted];
  if (!backend) {
    throw new HttpError(
      503,
      "service_unavailable",
      `Model '${entry.id}' is served by the origin backend, which this deployment has not configured.`,
      "model",
      "backend_unavailable",
      60,
    );
  }
  return { backend, reason };
}

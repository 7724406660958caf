/**
 * Picks the backend for a catalog entry. "edge" and "origin" are explicit; "auto" runs on the edge when the weights
 * fit an isolate's memory with room for the KV cache and the JS heap, otherwise on the origin.
 */
import type { CatalogEntry } from "../catalog/schema.js";
import { HttpError } from "../http/errors.js";
import type { Backend } from "./backend.js";

/** Largest GGUF "auto" sends to the edge: 128 MB isolate minus KV cache, scratch, JS heap and code. */
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

export function chooseBackend(entry: CatalogEntry, backends: Backends): BackendChoice {
  let wanted: "edge" | "origin";
  let reason: string;
  if (entry.backend === "auto") {
    wanted = (entry.bytes ?? Infinity) <= EDGE_WEIGHT_BUDGET ? "edge" : "origin";
    reason = `auto: ${entry.bytes} bytes of weights ${wanted === "edge" ? "fit" : "exceed"} the edge budget of ${EDGE_WEIGHT_BUDGET}`;
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

import type { OriginEnv } from "./origin/config.js";

/** Bindings and variables the Worker receives (see wrangler.toml for what each one does and its default). */
export interface Env extends OriginEnv {
  /** R2 bucket holding the GGUF files named by the catalog's `r2Key`. */
  MODELS: R2Bucket;
  /** Secret: comma-separated Bearer keys. Unset or empty → auth disabled (and /healthz says so). */
  API_KEYS?: string;
  /** Comma-separated allowed origins for CORS, or "*". Unset → no CORS headers. */
  CORS_ORIGINS?: string;
  /** Requests that may wait for the isolate's single generation slot (default 8). */
  MAX_QUEUE?: string;
  MAX_N?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  MAX_BODY_BYTES?: string;
  /** KV cache positions to allocate at load (default: the catalog's contextLength, capped at 2048). */
  CONTEXT_LENGTH?: string;
  /** JSON array of catalog entries added to the bundled `models/` catalog (same id: replaced), e.g. at deploy time or in tests. */
  CATALOG?: string;
  /** Truthy ("1", "true") serves `GET /metrics` without a key (default: behind API_KEYS like /v1/*). */
  METRICS_PUBLIC?: string;
  /** "off" removes the playground page at `GET /` (default: served; it holds no secrets, the user types a key). */
  PLAYGROUND?: string;
}

/** A positive integer from a string variable, or the default when unset; a bad value is a deploy error. */
export function intVar(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

export function listVar(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

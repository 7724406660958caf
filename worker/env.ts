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

// Existing importers read the variable parsers from here; they live in vars.ts so origin/config.ts needs no env.ts.
export { intVar, listVar } from "./vars.js";

/**
 * Origin settings from the Worker's environment. ORIGIN_URL unset means "no origin": the router then answers 503 for
 * origin models. Every number has a default tuned for a GPU server a few milliseconds to a continent away.
 */
import { intVar } from "../vars.js";

/** Variables the origin backend reads (`Env` extends these; declared here so this module stands alone). */
export interface OriginEnv {
  /** Base URL of an OpenAI-compatible server, e.g. "https://gpu.example.com" (routes are appended: /v1/...). */
  ORIGIN_URL?: string;
  /** Secret: the origin's own Bearer key. The client's key is never forwarded. */
  ORIGIN_API_KEY?: string;
  /** Wait for response headers of a streaming request (default 10 000 ms). */
  ORIGIN_CONNECT_TIMEOUT_MS?: string;
  /** Wait for the first SSE bytes after the headers, i.e. the origin's prefill (default 60 000 ms). */
  ORIGIN_FIRST_BYTE_TIMEOUT_MS?: string;
  /** Whole request, first byte to last (default 300 000 ms). */
  ORIGIN_DEADLINE_MS?: string;
  /** Extra attempts for failures before the first byte (default 1, at most 2). */
  ORIGIN_RETRIES?: string;
  /** First retry delay; doubles per retry (default 100 ms). */
  ORIGIN_RETRY_BACKOFF_MS?: string;
  /** Consecutive failures that open the circuit breaker (default 5). */
  ORIGIN_BREAKER_THRESHOLD?: string;
  /** How long an open breaker fails fast before letting one trial request through (default 30 000 ms). */
  ORIGIN_BREAKER_COOLDOWN_MS?: string;
}

export interface OriginConfig {
  /** Normalised base URL without a trailing slash. */
  baseUrl: string;
  apiKey: string | undefined;
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  deadlineMs: number;
  retries: number;
  retryBackoffMs: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
}

/** Retrying more than twice only multiplies load on an origin that is already failing. */
export const MAX_RETRIES = 2;

export function isOriginConfigured(env: OriginEnv): boolean {
  return typeof env.ORIGIN_URL === "string" && env.ORIGIN_URL.trim().length > 0;
}

/** Reads and checks the origin settings; a bad value is a deploy error with the variable's name in it. */
export function readOriginConfig(env: OriginEnv): OriginConfig {
  const raw = env.ORIGIN_URL?.trim();
  if (!raw) throw new Error("ORIGIN_URL is not set");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`ORIGIN_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`ORIGIN_URL must use http or https, got "${url.protocol}"`);
  if (url.search || url.hash) throw new Error("ORIGIN_URL must not have a query or fragment");
  const retries = intVar(env.ORIGIN_RETRIES, "ORIGIN_RETRIES", 1);
  if (retries > MAX_RETRIES) throw new Error(`ORIGIN_RETRIES must be at most ${MAX_RETRIES}, got ${retries}`);
  const key = env.ORIGIN_API_KEY?.trim();
  return {
    baseUrl: url.href.replace(/\/+$/, ""),
    apiKey: key ? key : undefined,
    connectTimeoutMs: intVar(env.ORIGIN_CONNECT_TIMEOUT_MS, "ORIGIN_CONNECT_TIMEOUT_MS", 10_000, 1),
    firstByteTimeoutMs: intVar(env.ORIGIN_FIRST_BYTE_TIMEOUT_MS, "ORIGIN_FIRST_BYTE_TIMEOUT_MS", 60_000, 1),
    deadlineMs: intVar(env.ORIGIN_DEADLINE_MS, "ORIGIN_DEADLINE_MS", 300_000, 1),
    retries,
    retryBackoffMs: intVar(env.ORIGIN_RETRY_BACKOFF_MS, "ORIGIN_RETRY_BACKOFF_MS", 100),
    breakerThreshold: intVar(env.ORIGIN_BREAKER_THRESHOLD, "ORIGIN_BREAKER_THRESHOLD", 5, 1),
    breakerCooldownMs: intVar(env.ORIGIN_BREAKER_COOLDOWN_MS, "ORIGIN_BREAKER_COOLDOWN_MS", 30_000, 1),
  };
}

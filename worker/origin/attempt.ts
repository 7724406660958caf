/**
 * Getting response headers from the origin: one fetch per attempt, each bounded by the connect timeout when the
 * request streams (an SSE server sends its headers as soon as it accepts the request), retried with a doubling
 * backoff only for failures that happen before anything was received and that a retry can fix: connection errors,
 * connect timeouts and 502/503/504. The Workers runtime reports no TCP-connect event, so for a non-streaming request
 * — whose headers arrive with the finished answer — the header wait is bounded by the overall deadline instead.
 */
import type { OriginConfig } from "./config.js";
import { RETRYABLE_STATUS, UpstreamFailure } from "./errors.js";

export interface AttemptOptions {
  url: string;
  headers: Headers;
  body: string;
  stream: boolean;
  config: OriginConfig;
  /** Aborted when the client leaves or the deadline passes; cancels the attempt in flight and any backoff. */
  signal: AbortSignal;
  /** Distinguishes a deadline from a client disconnect once `signal` fired. */
  deadlinePassed: () => boolean;
  /** Called before each retry (for logs). */
  onRetry?: (attempt: number, failure: UpstreamFailure) => void;
}

export class ClientGoneError extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientGoneError";
  }
}

/** Resolves with the first non-retryable response; its body stays governed by `signal`. */
export async function fetchWithRetries(o: AttemptOptions): Promise<Response> {
  let last: UpstreamFailure | undefined;
  for (let attempt = 0; attempt <= o.config.retries; attempt++) {
    if (attempt > 0) {
      o.onRetry?.(attempt, last!);
      await sleep(o.config.retryBackoffMs * 2 ** (attempt - 1), o.signal);
    }
    stopIfAborted(o);
    try {
      const res = await attemptOnce(o);
      if (!RETRYABLE_STATUS.has(res.status)) return res;
      await res.body?.cancel().catch(() => {});
      last = new UpstreamFailure("status", `HTTP ${res.status}`, res.status);
    } catch (e) {
      if (!(e instanceof UpstreamFailure) || (e.kind !== "connect" && e.kind !== "connect_timeout")) throw e;
      last = e;
    }
  }
  throw last!;
}

async function attemptOnce(o: AttemptOptions): Promise<Response> {
  const attempt = new AbortController();
  const follow = () => attempt.abort(o.signal.reason);
  o.signal.addEventListener("abort", follow, { once: true });
  let timedOut = false;
  const timer = o.stream
    ? setTimeout(() => {
        timedOut = true;
        attempt.abort(new Error("connect timeout"));
      }, o.config.connectTimeoutMs)
    : undefined;
  try {
    return await fetch(o.url, { method: "POST", headers: o.headers, body: o.body, signal: attempt.signal });
  } catch (e) {
    if (timedOut) throw new UpstreamFailure("connect_timeout", `no response headers within ${o.config.connectTimeoutMs} ms`);
    stopIfAborted(o);
    throw new UpstreamFailure("connect", e instanceof Error ? e.message : String(e));
  } finally {
    clearTimeout(timer);
    // The response body (if any) must stay cancellable by the request-wide signal, so keep following it until the
    // request ends; the listener is `once` and dies with the request.
  }
}

function stopIfAborted(o: AttemptOptions): void {
  if (!o.signal.aborted) return;
  if (o.deadlinePassed()) throw new UpstreamFailure("deadline", `no answer within ${o.config.deadlineMs} ms`);
  throw new ClientGoneError();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

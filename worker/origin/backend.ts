/**
 * OriginBackend: serves a catalog entry from an OpenAI-compatible origin (vLLM, llama.cpp server, TGI). The validated
 * request is rewritten with the origin's model name and sent with the origin's key; the answer is parsed into the
 * backends' neutral events — a JSON answer whole (upstream-events.ts), SSE as each chunk arrives (upstream-stream.ts)
 * — which the one OpenAI encoder writes under our id and model. Failures before the first byte become proper HTTP
 * errors (retried when a retry can help); failures after it end the stream, which the encoder reports in-band.
 */
import { streamOf, type Backend, type BackendContext, type CompletionStream, type ResponseMeta } from "../backend/backend.js";
import type { CatalogEntry } from "../catalog/schema.js";
import type { Env } from "../env.js";
import { HttpError } from "../http/errors.js";
import { log } from "../http/log.js";
import { responseMeta } from "../openai/format.js";
import type { CompletionRequest } from "../openai/request.js";
import { ClientGoneError, fetchWithRetries } from "./attempt.js";
import { BreakerOpenError, breakerFor, type BreakerState, type BreakerTicket } from "./breaker.js";
import { readOriginConfig, type OriginConfig, type OriginEnv } from "./config.js";
import { failureToHttpError, UpstreamFailure, upstreamStatusToHttpError, type NameMapping } from "./errors.js";
import { completionEvents } from "./upstream-events.js";
import { UpstreamSseStream } from "./upstream-stream.js";
import { routeFor, upstreamBody, upstreamHeaders } from "./upstream-request.js";

/** An upstream error body is only inspected for its message: no need to read more of it. */
const MAX_ERROR_BODY = 64 * 1024;
/** A non-streaming completion body; far above any real answer, small enough for an isolate. */
const MAX_JSON_BODY = 16 * 1024 * 1024;

export interface OriginStats {
  completed: number;
  failed: number;
  aborted: number;
  /** Refused by the open circuit breaker without contacting the origin. */
  rejected: number;
}

type Outcome = "ok" | "failed" | "client_gone" | "unjudged";

export class OriginBackend implements Backend {
  readonly name = "origin" as const;
  readonly stats: OriginStats = { completed: 0, failed: 0, aborted: 0, rejected: 0 };

  /** The breaker state for /healthz (closed when no origin is configured yet). */
  breakerState(env: Env & OriginEnv): BreakerState {
    const config = readOriginConfig(env);
    return breakerFor(config.baseUrl, breakerSettings(config)).state;
  }

  async complete(req: CompletionRequest, entry: CatalogEntry, ctx: BackendContext): Promise<CompletionStream> {
    let config: OriginConfig;
    try {
      config = readOriginConfig(ctx.env as Env & OriginEnv);
    } catch (e) {
      log("error", "origin_config", { requestId: ctx.requestId, error: String(e) });
      throw new HttpError(503, "service_unavailable", `Model '${entry.id}' is temporarily unavailable.`, "model", "backend_unavailable", 60);
    }
    const names: NameMapping = {
      upstreamModel: entry.origin?.model ?? entry.id,
      ourModel: entry.id,
      originHost: new URL(config.baseUrl).host,
    };

    let ticket: BreakerTicket;
    try {
      ticket = breakerFor(config.baseUrl, breakerSettings(config)).admit();
    } catch (e) {
      if (!(e instanceof BreakerOpenError)) throw e;
      this.stats.rejected++;
      log("warn", "origin_breaker_open", { requestId: ctx.requestId, model: entry.id, retryAfter: e.retryAfterSeconds });
      throw new HttpError(
        503, "service_unavailable", "The model server is temporarily unavailable; retry later.", null, "origin_unavailable",
        e.retryAfterSeconds,
      );
    }

    // One controller stops everything upstream: client disconnect, deadline, first-byte timeout, malformed stream.
    const upstream = new AbortController();
    let deadlinePassed = false;
    const deadline = setTimeout(() => {
      deadlinePassed = true;
      upstream.abort(new Error("origin deadline"));
    }, config.deadlineMs);
    const onClientGone = () => upstream.abort(ctx.signal.reason);
    if (ctx.signal.aborted) onClientGone();
    else ctx.signal.addEventListener("abort", onClientGone, { once: true });

    const started = Date.now();
    let finished = false;
    const finish = (outcome: Outcome, detail?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      ctx.signal.removeEventListener("abort", onClientGone);
      if (outcome === "ok") ticket.success();
      else if (outcome === "failed") ticket.failure();
      else ticket.abandon();
      if (outcome === "ok") this.stats.completed++;
      else if (outcome === "failed") this.stats.failed++;
      else if (outcome === "client_gone") this.stats.aborted++;
      log(outcome === "failed" ? "error" : "info", "origin_request", {
        requestId: ctx.requestId, model: entry.id, upstreamModel: names.upstreamModel, stream: req.stream, outcome,
        ms: Date.now() - started, ...(detail !== undefined ? { detail } : {}),
      });
    };

    try {
      const res = await fetchWithRetries({
        url: config.baseUrl + routeFor(req),
        headers: upstreamHeaders(config, req.stream, ctx.requestId),
        body: JSON.stringify(upstreamBody(req, names.upstreamModel)),
        stream: req.stream,
        config,
        signal: upstream.signal,
        deadlinePassed: () => deadlinePassed,
        onRetry: (attempt, f) => log("warn", "origin_retry", { requestId: ctx.requestId, attempt, kind: f.kind, detail: f.message }),
      });
      ctx.timing.add("origin_headers", Date.now() - started);

      if (!res.ok) {
        const text = await readText(res, MAX_ERROR_BODY).catch(() => "");
        // 4xx means the origin is up and judged the request; 429 says nothing about its health either way.
        finish(res.status >= 500 ? "failed" : res.status === 429 ? "unjudged" : "ok", `HTTP ${res.status}`);
        throw upstreamStatusToHttpError(res.status, text, names, res.headers.get("retry-after"));
      }
      const meta = responseMeta(req.kind, entry.id);
      if (!req.stream) return await this.#json(res, req.kind, meta, finish);
      return await this.#stream(res, req.kind, meta, config, upstream, () => deadlinePassed, ctx, started, finish);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if (e instanceof ClientGoneError || (ctx.signal.aborted && !deadlinePassed)) {
        finish("client_gone");
        throw new HttpError(499, "invalid_request_error", "The client closed the request.", null, "client_closed");
      }
      if (e instanceof UpstreamFailure) {
        // A body read cut by the deadline looks like a broken connection from inside the read.
        const f = deadlinePassed && e.kind === "connect" ? new UpstreamFailure("deadline", `no answer within ${config.deadlineMs} ms`) : e;
        finish("failed", `${f.kind}: ${f.message}`);
        throw failureToHttpError(f);
      }
      finish("failed", String(e));
      throw e;
    }
  }

  async #json(res: Response, kind: "chat" | "text", meta: ResponseMeta, finish: (o: Outcome, d?: string) => void): Promise<CompletionStream> {
    let body: unknown;
    try {
      body = JSON.parse(await readText(res, MAX_JSON_BODY));
    } catch (e) {
      if (e instanceof UpstreamFailure) throw e;
      throw new UpstreamFailure("malformed", "completion body is not JSON");
    }
    const events = completionEvents(body, kind);
    finish("ok");
    return streamOf("origin", meta, events);
  }

  async #stream(
    res: Response,
    kind: "chat" | "text",
    meta: ResponseMeta,
    config: OriginConfig,
    upstream: AbortController,
    deadlinePassed: () => boolean,
    ctx: BackendContext,
    started: number,
    finish: (o: Outcome, d?: string) => void,
  ): Promise<CompletionStream> {
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream") || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new UpstreamFailure("malformed", `streaming answer has content-type "${type}"`);
    }
    const reader = res.body.getReader();
    // Wait for the first bytes (the origin's prefill) before committing to a 200, so a stalled origin still gets a
    // clean 504 rather than a stream that ends in an error event.
    let firstByteTimedOut = false;
    const timer = setTimeout(() => {
      firstByteTimedOut = true;
      upstream.abort(new Error("first-byte timeout"));
    }, config.firstByteTimeoutMs);
    let first: ReadableStreamReadResult<Uint8Array>;
    try {
      first = await reader.read();
    } catch (e) {
      if (firstByteTimedOut) throw new UpstreamFailure("first_byte_timeout", `no stream bytes within ${config.firstByteTimeoutMs} ms`);
      if (deadlinePassed()) throw new UpstreamFailure("deadline", `no answer within ${config.deadlineMs} ms`);
      if (ctx.signal.aborted) throw new ClientGoneError();
      throw new UpstreamFailure("connect", `stream broke before its first byte: ${String(e)}`);
    } finally {
      clearTimeout(timer);
    }
    if (first.done) throw new UpstreamFailure("malformed", "empty stream");
    ctx.timing.add("origin_ttfb", Date.now() - started);

    return new UpstreamSseStream({
      kind,
      meta,
      first: first.value,
      reader,
      classify: () => (deadlinePassed() ? "timeout" : ctx.signal.aborted ? "client_gone" : "upstream_failed"),
      onEnd: (end, reason) => {
        // Done: let go of the connection. Anything else: stop the upstream request if it still runs.
        if (end === "done") void reader.cancel().catch(() => {});
        else upstream.abort(reason ?? new Error(`upstream stream: ${end}`));
        finish(end === "done" ? "ok" : end === "client_gone" ? "client_gone" : "failed", `stream end: ${end}`);
      },
    });
  }
}

function breakerSettings(config: OriginConfig) {
  return { threshold: config.breakerThreshold, cooldownMs: config.breakerCooldownMs };
}

/** Reads a body as text, refusing more than `max` bytes (an origin must not be able to exhaust isolate memory). */
async function readText(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => {});
        throw new UpstreamFailure("malformed", `body larger than ${max} bytes`);
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof UpstreamFailure) throw e;
    throw new UpstreamFailure("connect", `body read failed: ${String(e)}`);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return new TextDecoder().decode(all);
}

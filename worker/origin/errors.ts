/**
 * Upstream failures → our OpenAI error shape. Nothing from the origin reaches the client unless it is a well-formed
 * OpenAI error about the client's own request (4xx), and even then the origin's model name and address are replaced.
 */
import { HttpError, type OpenAIErrorBody, type OpenAIErrorType } from "../http/errors.js";

/** Why an attempt failed before the first byte; drives retry and breaker decisions. */
export type UpstreamFailureKind = "connect" | "connect_timeout" | "first_byte_timeout" | "deadline" | "status" | "malformed";

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    detail: string,
    readonly status?: number,
  ) {
    super(detail);
    this.name = "UpstreamFailure";
  }
}

/** 502/503/504 are the gateway statuses a retry can fix; everything else in 5xx is the origin's own fault. */
export const RETRYABLE_STATUS = new Set([502, 503, 504]);

const MAX_MESSAGE = 1000;
const KNOWN_TYPES = new Set<OpenAIErrorType>([
  "invalid_request_error", "authentication_error", "not_found_error", "rate_limit_error", "server_error", "service_unavailable",
]);

export interface NameMapping {
  upstreamModel: string;
  ourModel: string;
  /** Host of ORIGIN_URL, scrubbed from any text we pass on. */
  originHost: string;
}

export function failureToHttpError(f: UpstreamFailure): HttpError {
  switch (f.kind) {
    case "connect":
      return new HttpError(502, "server_error", "The model server could not be reached.", null, "upstream_unreachable");
    case "connect_timeout":
    case "first_byte_timeout":
    case "deadline":
      return new HttpError(504, "server_error", "The model server did not answer in time.", null, "upstream_timeout");
    case "malformed":
      return new HttpError(502, "server_error", "The model server sent a malformed response.", null, "upstream_error");
    case "status":
      return new HttpError(502, "server_error", "The model server failed to complete the request.", null, "upstream_error");
  }
}

/**
 * A non-2xx upstream answer → the error our client sees. `text` is the upstream body (already read, size-capped).
 * 400/413/422 with an OpenAI-shaped body pass through (they describe the client's request, e.g. context overflow);
 * 429 becomes our rate-limit error; auth and 404 mean *our* configuration is wrong, so the client gets a 502.
 */
export function upstreamStatusToHttpError(status: number, text: string, names: NameMapping, retryAfter?: string | null): HttpError {
  if (status === 429) {
    const seconds = retryAfter && /^\d{1,6}$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : 1;
    return new HttpError(429, "rate_limit_error", "The model server is busy; retry shortly.", null, "upstream_rate_limited", seconds);
  }
  if (status === 400 || status === 413 || status === 422) {
    const parsed = parseOpenAIError(text);
    if (parsed) {
      const type = KNOWN_TYPES.has(parsed.type as OpenAIErrorType) ? (parsed.type as OpenAIErrorType) : "invalid_request_error";
      return new HttpError(400, type, scrub(parsed.message, names), parsed.param, parsed.code ?? "invalid_request");
    }
    return new HttpError(400, "invalid_request_error", "The model server rejected the request.", null, "upstream_rejected");
  }
  if (status === 401 || status === 403) {
    return new HttpError(502, "server_error", "The model server refused this service's credentials.", null, "upstream_auth");
  }
  if (status === 404) {
    return new HttpError(502, "server_error", "The model server does not serve this model.", null, "upstream_model_missing");
  }
  return failureToHttpError(new UpstreamFailure("status", `HTTP ${status}`, status));
}

/**
 * Accepts `{error:{message,type,param,code}}` (OpenAI, llama.cpp, newer vLLM) and `{object:"error",message,type,...}`
 * (older vLLM). `code` may be a number upstream; ours is a string.
 */
export function parseOpenAIError(text: string): OpenAIErrorBody["error"] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const e = (typeof o.error === "object" && o.error !== null ? o.error : o.object === "error" ? o : undefined) as
    | Record<string, unknown>
    | undefined;
  if (!e || typeof e.message !== "string" || e.message.length === 0) return undefined;
  const code = typeof e.code === "string" ? e.code : null;
  const param = typeof e.param === "string" ? e.param : null;
  const type = typeof e.type === "string" ? e.type : "invalid_request_error";
  return { message: e.message, type: type as OpenAIErrorType, param, code };
}

/** Our model id instead of the origin's name, no origin host, bounded length. */
export function scrub(message: string, names: NameMapping): string {
  let m = message.split(names.upstreamModel).join(names.ourModel);
  if (names.originHost) m = m.split(names.originHost).join("origin");
  m = m.replace(/https?:\/\/[^\s"'<>]+/g, "(url)");
  return m.length > MAX_MESSAGE ? `${m.slice(0, MAX_MESSAGE)}…` : m;
}

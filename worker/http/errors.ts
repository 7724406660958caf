/**
 * OpenAI's error object (`{error:{message,type,param,code}}`) and the one exception type handlers throw to produce
 * it. Anything else that escapes a handler becomes a 500 that names the request id and nothing internal.
 */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable";

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds for `Retry-After` (429/503). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "HttpError";
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null, code: string | null = "invalid_value") =>
  new HttpError(400, "invalid_request_error", message, param, code);

export const unsupportedParameter = (param: string, why = "is not supported by this server") =>
  new HttpError(400, "invalid_request_error", `Parameter '${param}' ${why}.`, param, "unsupported_parameter");

export function errorResponse(err: HttpError, headers: Record<string, string> = {}): Response {
  const h = new Headers({ "content-type": "application/json", ...headers });
  if (err.retryAfter !== undefined) h.set("retry-after", String(err.retryAfter));
  return new Response(JSON.stringify(err.body()), { status: err.status, headers: h });
}

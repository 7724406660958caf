/** Library and runtime failures → OpenAI errors with the right status. Internals never reach the client. */
import { BusyError, ContextOverflowError, EllmError, InvalidArgumentError } from "../../lib/errors.js";
import { HttpError, invalidRequest } from "../http/errors.js";
import { ModelLoadError } from "../runtime/model-store.js";

/** The OpenAI error codes of the edge's refusals, named once: toHttpError writes them, failover.ts reads them. */
export const RefusalCode = {
  queueFull: "queue_full",
  modelLoadFailed: "model_load_failed",
  contextLengthExceeded: "context_length_exceeded",
  /** A grammar (tools, response_format) would not fit beside the loaded model: worker/backend/grammar-fit.ts. */
  grammarMemory: "grammar_memory",
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/** Refusals another backend (the origin) can serve better: the isolate is busy, the weights would not load, the
 *  prompt needs more context than the edge allocated, or a grammar would not fit beside the model. */
export function servableElsewhere(err: HttpError): boolean {
  return (Object.values(RefusalCode) as string[]).includes(err.code ?? "");
}

/** Seconds a client should wait before retrying after a failed load (a fix to R2/the catalog is needed or in flight). */
const LOAD_RETRY_AFTER = 30;

export function toHttpError(err: unknown, promptParam: "messages" | "prompt"): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof BusyError) {
    return new HttpError(429, "rate_limit_error", err.message, null, RefusalCode.queueFull, err.retryAfterSeconds);
  }
  if (err instanceof ModelLoadError) {
    return new HttpError(503, "service_unavailable", err.message, "model", RefusalCode.modelLoadFailed, LOAD_RETRY_AFTER);
  }
  if (err instanceof ContextOverflowError) {
    return new HttpError(
      400,
      "invalid_request_error",
      `This model's maximum context length is ${err.contextLength} tokens; the request needs ${err.requested} ` +
        `(prompt plus max_tokens). Shorten the ${promptParam} or lower max_tokens.`,
      promptParam,
      RefusalCode.contextLengthExceeded,
    );
  }
  if (err instanceof InvalidArgumentError) {
    // The library names its options (responseFormat, logitBias: its check of the ids against the vocabulary); the
    // client sent the OpenAI field.
    const param = err.param?.startsWith("responseFormat") ? "response_format" : err.param === "logitBias" ? "logit_bias" : (err.param ?? null);
    return invalidRequest(err.message.replace(/^responseFormat/, "response_format").replace(/^logitBias/, "logit_bias"), param);
  }
  // A defect of the model found while generating (all logits NaN): the server's problem, not the request's.
  if (err instanceof EllmError && (err.code === "model_format" || err.code === "unsupported_model")) {
    return new HttpError(503, "service_unavailable", `The model cannot serve requests: ${err.message}`, "model", RefusalCode.modelLoadFailed, LOAD_RETRY_AFTER);
  }
  if (err instanceof EllmError && err.code === "template_error") {
    return invalidRequest(`The chat template rejected these messages: ${err.message}`, "messages", "template_error");
  }
  return undefined;
}

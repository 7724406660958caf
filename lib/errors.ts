/**
 * Typed errors of the library. Every error carries a stable `code` that callers (and the HTTP layer) can switch on;
 * messages are for humans and may change.
 */
export type EllmErrorCode =
  | "invalid_argument"
  | "model_format"
  | "unsupported_model"
  | "context_overflow"
  | "template_error"
  | "aborted"
  | "busy"
  | "engine_failure";

export class EllmError extends Error {
  readonly code: EllmErrorCode;
  constructor(code: EllmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A caller passed a value the library cannot use (names the parameter in the message). */
export class InvalidArgumentError extends EllmError {
  readonly param: string | undefined;
  constructor(message: string, param?: string, options?: { cause?: unknown }) {
    super("invalid_argument", message, options);
    this.param = param;
  }
}

/** The weights or tokenizer file is malformed or inconsistent. */
export class ModelFormatError extends EllmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("model_format", message, options);
  }
}

/** A well-formed model the engine does not support (architecture, tensor type, tokenizer kind). */
export class UnsupportedModelError extends EllmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unsupported_model", message, options);
  }
}

/** Prompt plus requested tokens exceed the context the model was loaded with. */
export class ContextOverflowError extends EllmError {
  readonly contextLength: number;
  readonly requested: number;
  constructor(message: string, contextLength: number, requested: number) {
    super("context_overflow", message);
    this.contextLength = contextLength;
    this.requested = requested;
  }
}

/** A chat template failed to render (bad template, or the template itself raised). */
export class TemplateError extends EllmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("template_error", message, options);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends EllmError {
  constructor(message = "generation aborted", options?: { cause?: unknown }) {
    super("aborted", message, options);
  }
}

/** Too many callers are already waiting for the model's turn; retry after `retryAfterSeconds`. */
export class BusyError extends EllmError {
  constructor(message: string, readonly waiting: number, readonly retryAfterSeconds: number) {
    super("busy", message);
  }
}

/** The WASM engine trapped; its instance is no longer usable and must be re-created. */
export class EngineFailureError extends EllmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("engine_failure", message, options);
  }
}

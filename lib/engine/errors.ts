/**
 * Maps what the WASM engine throws onto the library's typed errors. The Rust side prefixes every error message
 * with a stable code (`context_overflow: …`); a trap (`WebAssembly.RuntimeError`) means the instance is unusable.
 */
import {
  ContextOverflowError,
  EllmError,
  EngineFailureError,
  InvalidArgumentError,
  ModelFormatError,
  UnsupportedModelError,
} from "../errors.js";

export function engineError(e: unknown): EllmError {
  if (e instanceof EllmError) return e;
  if (e instanceof WebAssembly.RuntimeError) {
    return new EngineFailureError(`engine trapped (${e.message}); reload the model`, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  const match = /^([a-z_]+):\s*([\s\S]*)$/.exec(message);
  const code = match?.[1];
  const detail = match?.[2] ?? message;
  switch (code) {
    case "invalid_argument":
      return new InvalidArgumentError(detail, undefined, { cause: e });
    case "context_overflow":
      return new ContextOverflowError(detail, NaN, NaN);
    case "unsupported_model":
      return new UnsupportedModelError(detail, { cause: e });
    case "model_format":
      return new ModelFormatError(detail, { cause: e });
    case "out_of_memory":
      // WASM memory could not grow: the model, context or batch is too large for this runtime's budget.
      return new EngineFailureError(`out of memory: ${detail}`, { cause: e });
    default:
      // The GGUF reader reports "GGUF: …" for malformed files.
      if (message.startsWith("GGUF")) return new ModelFormatError(message, { cause: e });
      return new EngineFailureError(message, { cause: e });
  }
}

/** Runs an engine call, translating its errors. */
export function engineCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw engineError(e);
  }
}

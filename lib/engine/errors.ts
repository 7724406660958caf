/**
 * Maps what the WASM engine throws onto the library's typed errors. The engine throws an `EngineError`: a numeric
 * code plus typed fields (the context overflow carries its numbers), one code per typed error. A trap
 * (`WebAssembly.RuntimeError`) means the instance is unusable.
 */
import { EngineError, EngineErrorCode } from "../../wasm/pkg/ellm_engine.js";
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
  if (!(e instanceof EngineError)) {
    return new EngineFailureError(e instanceof Error ? e.message : String(e), { cause: e });
  }
  const { code, message, contextLength, requested } = e;
  e.free();
  switch (code) {
    case EngineErrorCode.InvalidArgument:
      return new InvalidArgumentError(message);
    case EngineErrorCode.ContextOverflow:
      return new ContextOverflowError(message, contextLength ?? 0, requested ?? 0);
    case EngineErrorCode.UnsupportedModel:
      return new UnsupportedModelError(message);
    case EngineErrorCode.ModelFormat:
      return new ModelFormatError(message);
    case EngineErrorCode.OutOfMemory:
      // WASM memory could not grow, or the model exceeds the memory budget: too large for this runtime.
      return new EngineFailureError(`out of memory: ${message}`);
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

/**
 * Does a grammar (response_format, tools) fit beside the loaded model in a 128 MiB isolate? The grammar module has
 * its own WASM memory — llguidance's token trie for the model's vocabulary, kept three times (its own and the two
 * copies its mask computer holds): 11.8 MiB for SmolLM2's 49k tokens — and WASM memory never shrinks, so it must be
 * known to fit before it is built. SmolLM2-135M Q4_1 at 2048 positions leaves no room for it (122.8 MiB engine +
 * 11.8 + the JS heap > 128); the request then gets a 503 naming the reason, which an `auto` model's failover sends
 * to the origin. A smaller CONTEXT_LENGTH makes room.
 */
import { grammarMemoryBytes, grammarMemoryEstimate } from "../../lib/grammar/index.js";
import type { ModelInfo } from "../../lib/types.js";
import { HttpError } from "../http/errors.js";
import { RefusalCode } from "./errors.js";

const MiB = 2 ** 20;
/** A Worker isolate's memory limit. */
export const ISOLATE_MEMORY = 128 * MiB;
/** JS heap beside the WASM memories: code, tokenizer, requests (4.3 MiB measured with SmolLM2 loaded). */
export const JS_HEAP_RESERVE = 5 * MiB;

/** Grammar memory the isolate would hold for this model: what the module has already grown to, or its estimate. */
export function grammarMemoryNeeded(vocabSize: number): number {
  return Math.max(grammarMemoryBytes(), grammarMemoryEstimate(vocabSize));
}

export function grammarFits(engineWasmBytes: number, vocabSize: number): boolean {
  return engineWasmBytes + grammarMemoryNeeded(vocabSize) + JS_HEAP_RESERVE <= ISOLATE_MEMORY;
}

/** Throws the 503 (code `grammar_memory`) when the grammar would not fit beside `info`'s model. */
export function checkGrammarFits(modelId: string, info: ModelInfo): void {
  const engine = info.memory.wasmMemory;
  if (grammarFits(engine, info.vocabSize)) return;
  const need = grammarMemoryNeeded(info.vocabSize);
  const mib = (b: number) => (b / MiB).toFixed(1);
  throw new HttpError(
    503,
    "service_unavailable",
    `Constrained output (response_format, tools) needs ${mib(need)} MiB for the grammar, which does not fit beside ` +
      `model '${modelId}' (${mib(engine)} MiB at ${info.contextLength} positions) in this isolate's ${mib(ISOLATE_MEMORY)} MiB; ` +
      "a smaller CONTEXT_LENGTH makes room.",
    null,
    RefusalCode.grammarMemory,
  );
}

/**
 * The grammar module (llguidance, wasm/grammar/): a WASM binary of its own, instantiated on the first constrained
 * generation — requests without a response format never pay for it. Workers hand over the bundle's precompiled
 * module with `initGrammar(module)`; Node compiles the shipped file (lib/node).
 */
import * as bindings from "../../wasm/pkg/ellm_grammar.js";
import { InvalidArgumentError } from "../errors.js";
import { platform } from "../platform.js";

export type GrammarBindings = typeof bindings;

let pending: WebAssembly.Module | undefined;
let ready = false;
let memory: WebAssembly.Memory | undefined;

/** Registers the compiled grammar .wasm; it is instantiated when a generation first needs it. */
export function initGrammar(module: WebAssembly.Module): void {
  if (!ready) pending = module;
}

/** The grammar bindings, instantiating the module on first use. */
export async function resolveGrammar(): Promise<GrammarBindings> {
  if (ready) return bindings;
  const module = pending ?? (platform.loadGrammarModule ? await platform.loadGrammarModule() : undefined);
  if (!module) {
    throw new InvalidArgumentError(
      "constrained generation needs the grammar module: call initGrammar(await WebAssembly.compile(ellm_grammar_bg.wasm)) first, or import \"ellm-edge/node\" in Node",
      "responseFormat",
    );
  }
  if (!ready) {
    memory = bindings.initSync({ module }).memory;
    ready = true;
    pending = undefined;
  }
  return bindings;
}

/** Bytes of the grammar module's own linear memory (0 before its first use): token tries and parser state. */
export function grammarMemoryBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}

/** The grammar module's memory before any vocabulary: its data and 1 MiB stack. */
const GRAMMAR_BASE_BYTES = 1.5 * 2 ** 20;
/**
 * Bytes of grammar memory per vocabulary token, an upper bound measured with the real tokenizers in ../shared
 * (SmolLM2's 49,152 tokens: 11.75 MiB in all, Llama 3's 128,256: 30.6; test/lib/grammar-memory.test.ts keeps it true).
 */
const GRAMMAR_BYTES_PER_TOKEN = 248;

/** What the grammar module will take once it holds a vocabulary of `vocabSize` tokens. */
export function grammarMemoryEstimate(vocabSize: number): number {
  return GRAMMAR_BASE_BYTES + GRAMMAR_BYTES_PER_TOKEN * vocabSize;
}

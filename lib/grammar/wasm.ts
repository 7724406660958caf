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

/**
 * Upper bound on the grammar module's memory once it holds a vocabulary of `vocabSize` tokens, fitted to the real
 * tokenizers in ../shared (test/lib/grammar-memory.test.ts keeps it true): stories260K's 512 tokens 1.56 MiB (the
 * module's data and 1 MiB stack), SmolLM2's 49,152 11.75 MiB, Llama 3's 128,256 30.56 MiB — about 250 bytes a token,
 * three copies of llguidance's token trie (its own, and two in its mask computer).
 */
export function grammarMemoryEstimate(vocabSize: number): number {
  return Math.max(1.75 * 2 ** 20, 0.25 * 2 ** 20 + 250 * vocabSize);
}

/**
 * One generation's grammar: masks the logits to the tokens the grammar allows before each draw, and advances by the
 * token drawn. The sampler treats it as a plain `LogitsConstraint`; temperature, top-p etc. apply to what is left.
 */
import { InvalidArgumentError } from "../errors.js";
import type { LogitsConstraint } from "../sampling/index.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { ResponseFormat } from "../types.js";
import { grammarFor, type GrammarSpec } from "./response-format.js";
import { tokenTable } from "./token-table.js";
import type { GrammarMatcher as Matcher, GrammarVocab as Vocab } from "../../wasm/pkg/ellm_grammar.js";
import { resolveGrammar } from "./wasm.js";

export class GrammarConstraint implements LogitsConstraint {
  readonly #matcher: Matcher;
  readonly #bits: Uint32Array;
  readonly #vocabSize: number;
  #ended = false;
  #disposed = false;

  constructor(matcher: Matcher, vocabSize: number) {
    this.#matcher = matcher;
    this.#vocabSize = vocabSize;
    this.#bits = new Uint32Array(Math.ceil(vocabSize / 32));
  }

  /** Sets every token the grammar forbids to −∞. */
  mask(logits: Float32Array): void {
    const bits = this.#bits;
    try {
      this.#matcher.fillMask(bits);
    } catch (e) {
      throw grammarFailure(e);
    }
    const V = this.#vocabSize;
    for (let w = 0; w < bits.length; w++) {
      const word = bits[w]!;
      if (word === 0xffffffff) continue;
      const base = w * 32;
      const end = Math.min(32, V - base);
      for (let b = 0; b < end; b++) if ((word & (1 << b)) === 0) logits[base + b] = -Infinity;
    }
  }

  /** Advances by the sampled token (an end-of-generation token just ends it). */
  commit(id: number, endOfGeneration: boolean): void {
    if (endOfGeneration) {
      this.#ended = true;
      return;
    }
    try {
      this.#matcher.consume(id);
    } catch (e) {
      throw grammarFailure(e);
    }
  }

  /** The grammar is complete and admits nothing more: generation should stop. */
  get complete(): boolean {
    return this.#ended || this.#matcher.isStopped();
  }

  /** Frees the matcher (idempotent: the generation's end and its lease's end may both ask). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#matcher.free();
  }
}

/** The grammar engine's view of one model's vocabulary, built on first use and kept for the model's life. */
export class GrammarVocabulary {
  readonly #tokenizer: Tokenizer;
  readonly #vocabSize: number;
  #vocab: Promise<Vocab> | undefined;

  constructor(tokenizer: Tokenizer, vocabSize: number) {
    this.#tokenizer = tokenizer;
    this.#vocabSize = vocabSize;
  }

  /** A constraint for `format`, or undefined when it needs none (absent or "text"). Bad schemas throw here. */
  async constraint(format: ResponseFormat | undefined): Promise<GrammarConstraint | undefined> {
    const spec = grammarFor(format);
    if (!spec) return undefined;
    return this.compile(spec, "responseFormat", "the schema cannot be used");
  }

  /** A constraint for a grammar of our own making (tool calls); `param` names the option in errors. */
  async compile(spec: GrammarSpec, param: string, what = "the grammar cannot be used"): Promise<GrammarConstraint> {
    const vocab = await this.#load();
    let matcher: Matcher;
    try {
      matcher = vocab.matcher(spec.kind, spec.source);
    } catch (e) {
      throw new InvalidArgumentError(`${param}: ${what}: ${messageOf(e)}`, param);
    }
    return new GrammarConstraint(matcher, this.#vocabSize);
  }

  dispose(): void {
    void this.#vocab?.then((v) => v.free()).catch(() => undefined);
    this.#vocab = undefined;
  }

  #load(): Promise<Vocab> {
    this.#vocab ??= (async () => {
      const bindings = await resolveGrammar();
      const t = tokenTable(this.#tokenizer, this.#vocabSize);
      return new bindings.GrammarVocab(t.bytes, t.ends, t.eos);
    })();
    // A failed build is not cached: the next request tries again.
    this.#vocab.catch(() => (this.#vocab = undefined));
    return this.#vocab;
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function grammarFailure(e: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`responseFormat: the grammar engine failed: ${messageOf(e)}`, "responseFormat", { cause: e });
}

/** The constraint a generation's `responseFormat` asks for (undefined: none), from the model's grammar vocabulary. */
export async function openConstraint(
  vocabulary: GrammarVocabulary | undefined,
  format: ResponseFormat | undefined,
): Promise<GrammarConstraint | undefined> {
  if (vocabulary) return vocabulary.constraint(format);
  if (grammarFor(format)) throw new InvalidArgumentError("responseFormat needs a model loaded through Llama", "responseFormat");
  return undefined;
}

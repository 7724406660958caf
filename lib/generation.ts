/**
 * The generation loop, the one both `Llama` and `Transformer` run (through lib/session.ts, which owns the turn and the
 * KV state): prompt ids → (prefix reuse, batched prefill) → sample → decode text → stop strings → deltas.
 * Runtime-neutral; yields to the event loop between tokens so a Worker can flush streamed chunks and see aborts.
 */
import { AbortError, ContextOverflowError, InvalidArgumentError } from "./errors.js";
import { openConstraint, type GrammarConstraint, type GrammarSpec, type GrammarVocabulary } from "./grammar/index.js";
import { generationSampling, Sampler, StopStringMatcher } from "./sampling/index.js";
import type { SequenceCursor } from "./session.js";
import type { StreamDecoder, Tokenizer } from "./tokenizer/index.js";
import type { FinishReason, GenerateOptions, GenerationResult, TextDelta, TokenLogprob } from "./types.js";

/** What the loop needs of a vocabulary: the tokenizer (Llama), or ids only (Transformer, see `idsOnly`). */
export type TokenText = Pick<Tokenizer, "isEndOfGeneration" | "createStreamDecoder" | "tokenToBytes">;

export interface GenerationInput {
  vocabulary: TokenText;
  /** The model's vocabulary for grammars (a `responseFormat` or tools need it). */
  grammar?: GrammarVocabulary | undefined;
  /** A grammar of the caller's making (tool calls), used instead of `responseFormat`'s. */
  toolGrammar?: GrammarSpec | undefined;
  /** Every sampled id, the end-of-generation one included (Transformer returns ids, not text). */
  onToken?: ((id: number) => void) | undefined;
}

/** A vocabulary without text: generation ends at `eosId` (if any) or after maxTokens; deltas carry no text. */
export function idsOnly(eosId: number | undefined): TokenText {
  const silent: StreamDecoder = { push: () => "", flush: () => "" };
  return { isEndOfGeneration: (id) => id === eosId, createStreamDecoder: () => silent, tokenToBytes: () => new Uint8Array(0) };
}

const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === "function"
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

const noPause = async (): Promise<void> => {};

export async function* generateTokens(
  cursor: SequenceCursor,
  promptIds: readonly number[],
  options: GenerateOptions,
  input: GenerationInput,
): AsyncGenerator<TextDelta, GenerationResult> {
  // Compiled before the prefill, so a schema the grammar engine refuses fails the request before any work.
  const constraint = input.toolGrammar
    ? await openToolConstraint(input.grammar, input.toolGrammar)
    : await openConstraint(input.grammar, options.responseFormat);
  // Freed when the generation ends, or with its turn: a caller that drops this generator (or a request that dies
  // in workerd) leaks nothing, and need not return() it. The loop touches the constraint only after a lease check.
  const untie = constraint ? cursor.onLeaseEnd(() => constraint.dispose()) : undefined;
  try {
    return yield* sampleTokens(cursor, promptIds, options, input, constraint);
  } finally {
    untie?.();
    constraint?.dispose();
  }
}

async function* sampleTokens(
  cursor: SequenceCursor,
  promptIds: readonly number[],
  options: GenerateOptions,
  input: GenerationInput,
  constraint: GrammarConstraint | undefined,
): AsyncGenerator<TextDelta, GenerationResult> {
  const { model } = cursor;
  const { vocabulary, onToken } = input;
  const contextLength = model.contextLength;
  const promptLen = promptIds.length;
  if (promptLen === 0) throw new InvalidArgumentError("the prompt produced no tokens", "prompt");
  if (promptLen >= contextLength) {
    throw new ContextOverflowError(
      `the prompt has ${promptLen} tokens but the loaded context holds ${contextLength}, leaving no room to generate`,
      contextLength,
      promptLen + 1,
    );
  }
  const maxTokens = options.maxTokens ?? contextLength - promptLen;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new InvalidArgumentError(`maxTokens must be a positive integer, got ${String(options.maxTokens)}`, "maxTokens");
  }
  if (promptLen + maxTokens > contextLength) {
    throw new ContextOverflowError(
      `prompt (${promptLen} tokens) + maxTokens (${maxTokens}) exceeds the loaded context of ${contextLength} tokens`,
      contextLength,
      promptLen + maxTokens,
    );
  }
  const sampling = generationSampling(options);
  const stops = options.stop === undefined ? [] : Array.isArray(options.stop) ? options.stop : [options.stop];
  const stopper = new StopStringMatcher(stops);
  const sampler = new Sampler(model.vocabSize, sampling, constraint);
  const decoder = vocabulary.createStreamDecoder({ skipSpecialTokens: true });
  const pause = options.yieldBetweenTokens === false ? noPause : yieldToEventLoop;

  cursor.check();
  const started = performance.now();
  let logits: Float32Array;
  let cachedTokens: number;
  try {
    ({ logits, cachedTokens } = await cursor.prefill(promptIds, options.reusePrefix ?? true, pause));
    options.onPrefill?.({ promptTokens: promptLen, cachedTokens });
  } catch (e) {
    // An abort between slices leaves the cache consistent (each slice is booked once it ran).
    if (!(e instanceof AbortError)) cursor.forget();
    throw e;
  }

  let text = "";
  const logprobs: TokenLogprob[] | undefined = sampling.logprobs ? [] : undefined;
  let generated = 0;
  let finishReason: FinishReason = "length";
  let firstTokenAt = started;
  try {
    for (;;) {
      const id = sampler.sample(logits);
      sampler.accept(id);
      generated++;
      onToken?.(id);
      if (generated === 1) firstTokenAt = performance.now();
      const end = vocabulary.isEndOfGeneration(id);
      constraint?.commit(id, end);
      if (end) {
        finishReason = "stop";
        break;
      }
      const piece = stopper.push(decoder.push(id));
      const lp = logprobs ? describeToken(vocabulary, id, sampler) : undefined;
      if (lp) logprobs!.push(lp);
      // Asked before the yield: once resumed, the lease may have ended (and the constraint with it).
      const done = piece.stopped || constraint?.complete === true;
      if (piece.text !== "" || lp) {
        text += piece.text;
        yield lp ? { text: piece.text, logprobs: [lp] } : { text: piece.text };
      }
      if (done) {
        finishReason = "stop";
        break;
      }
      if (generated >= maxTokens) break;
      await pause();
      logits = cursor.decode(id);
    }
    if (!stopper.stopped) {
      const tail = stopper.push(decoder.flush());
      const rest = tail.text + (tail.stopped ? "" : stopper.flush());
      if (tail.stopped) finishReason = "stop";
      if (rest !== "") {
        text += rest;
        yield { text: rest };
      }
    }
  } catch (e) {
    if (!(e instanceof AbortError)) cursor.forget();
    throw e;
  }
  const finished = performance.now();
  return {
    text,
    finishReason,
    usage: { promptTokens: promptLen, completionTokens: generated, totalTokens: promptLen + generated, cachedTokens },
    timings: { prefillMs: firstTokenAt - started, decodeMs: finished - firstTokenAt },
    ...(logprobs ? { logprobs } : {}),
  };
}

const utf8 = new TextDecoder();

function describeToken(tokenizer: TokenText, id: number, sampler: Sampler): TokenLogprob {
  const entry = (tokenId: number, logprob: number) => {
    const bytes = tokenizer.tokenToBytes(tokenId);
    return { token: utf8.decode(bytes), tokenId, logprob, bytes: Array.from(bytes) };
  };
  return {
    ...entry(id, sampler.lastLogprob),
    topLogprobs: sampler.lastTopLogprobs().map((t) => entry(t.id, t.logprob)),
  };
}

function openToolConstraint(vocabulary: GrammarVocabulary | undefined, spec: GrammarSpec): Promise<GrammarConstraint> {
  if (!vocabulary) throw new InvalidArgumentError("tools need a model loaded through Llama", "tools");
  return vocabulary.compile(spec, "tools");
}

/**
 * The generation loop: prompt ids → (prefix reuse, batched prefill) → sample → decode text → stop strings → deltas.
 * Runtime-neutral; yields to the event loop between tokens so a Worker can flush streamed chunks and see aborts.
 */
import type { EngineModel } from "./engine/model.js";
import { AbortError, ContextOverflowError, InvalidArgumentError } from "./errors.js";
import { openConstraint, type GrammarConstraint, type GrammarSpec, type GrammarVocabulary } from "./grammar/index.js";
import { Sampler, StopStringMatcher } from "./sampling/index.js";
import type { Tokenizer } from "./tokenizer/index.js";
import type { TurnLease } from "./turn.js";
import type { FinishReason, GenerateOptions, GenerationResult, TextDelta, TokenLogprob } from "./types.js";

export interface GenerationContext {
  model: EngineModel;
  tokenizer: Tokenizer;
  /** Token ids whose K/V sit in the cache of `seq` (mutated: kept in step with the engine). */
  cached: number[];
  seq: number;
  /** The model's turn: checked before every forward pass (a reclaimed holder must not touch the model), beaten after. */
  lease?: TurnLease | undefined;
  /** The model's vocabulary for grammars (a `responseFormat` or tools need it). */
  grammar?: GrammarVocabulary;
  /** A grammar of the caller's making (tool calls), used instead of `responseFormat`'s. */
  toolGrammar?: GrammarSpec | undefined;
}

/** Prompt tokens per forward call: long prompts still yield to the event loop between slices. */
const PREFILL_SLICE = 64;
const MAX_TOP_LOGPROBS = 20;

const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === "function"
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

const noPause = async (): Promise<void> => {};

export async function* generateTokens(
  ctx: GenerationContext,
  promptIds: readonly number[],
  options: GenerateOptions,
): AsyncGenerator<TextDelta, GenerationResult> {
  // Compiled before the prefill, so a schema the grammar engine refuses fails the request before any work.
  const constraint = ctx.toolGrammar
    ? await openToolConstraint(ctx.grammar, ctx.toolGrammar)
    : await openConstraint(ctx.grammar, options.responseFormat);
  try {
    return yield* sampleTokens(ctx, promptIds, options, constraint);
  } finally {
    constraint?.dispose();
  }
}

async function* sampleTokens(
  ctx: GenerationContext,
  promptIds: readonly number[],
  options: GenerateOptions,
  constraint: GrammarConstraint | undefined,
): AsyncGenerator<TextDelta, GenerationResult> {
  const { model, tokenizer, cached, seq } = ctx;
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
  const topN = options.logprobs;
  if (topN !== undefined && (!Number.isInteger(topN) || topN < 0 || topN > MAX_TOP_LOGPROBS)) {
    throw new InvalidArgumentError(`logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}`, "logprobs");
  }
  const stops = options.stop === undefined ? [] : Array.isArray(options.stop) ? options.stop : [options.stop];
  const stopper = new StopStringMatcher(stops);
  const sampler = new Sampler(model.vocabSize, {
    temperature: options.temperature,
    topK: options.topK,
    topP: options.topP,
    minP: options.minP,
    repetitionPenalty: options.repetitionPenalty,
    frequencyPenalty: options.frequencyPenalty,
    presencePenalty: options.presencePenalty,
    logitBias: options.logitBias,
    seed: options.seed,
    logprobs: topN !== undefined,
    topLogprobs: topN ?? 0,
  }, constraint);
  const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
  const signal = options.signal;
  const checkAbort = () => {
    if (signal?.aborted) throw new AbortError("generation aborted", { cause: signal.reason });
    ctx.lease?.check();
    ctx.lease?.beat();
  };
  const pause = options.yieldBetweenTokens === false ? noPause : yieldToEventLoop;

  checkAbort();
  const started = performance.now();
  let logits: Float32Array;
  let cachedTokens: number;
  try {
    ({ logits, cachedTokens } = await prefill(ctx, promptIds, options.reusePrefix ?? true, pause, checkAbort));
    options.onPrefill?.({ promptTokens: promptLen, cachedTokens });
  } catch (e) {
    forget(ctx);
    throw e;
  }

  let text = "";
  const logprobs: TokenLogprob[] | undefined = topN !== undefined ? [] : undefined;
  let generated = 0;
  let finishReason: FinishReason = "length";
  let firstTokenAt = started;
  try {
    for (;;) {
      const id = sampler.sample(logits);
      sampler.accept(id);
      generated++;
      if (generated === 1) firstTokenAt = performance.now();
      constraint?.commit(id, tokenizer.isEndOfGeneration(id));
      if (tokenizer.isEndOfGeneration(id)) {
        finishReason = "stop";
        break;
      }
      const piece = stopper.push(decoder.push(id));
      const lp = logprobs ? describeToken(tokenizer, id, sampler) : undefined;
      if (lp) logprobs!.push(lp);
      if (piece.text !== "" || lp) {
        text += piece.text;
        yield lp ? { text: piece.text, logprobs: [lp] } : { text: piece.text };
      }
      if (piece.stopped || constraint?.complete) {
        finishReason = "stop";
        break;
      }
      if (generated >= maxTokens) break;
      await pause();
      checkAbort();
      logits = model.forward(seq, [id], cached.length);
      cached.push(id);
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
    if (!(e instanceof AbortError)) forget(ctx);
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

/**
 * Feeds the prompt, reusing the longest prefix already in the KV cache (a follow-up chat turn only computes the new
 * tokens). Returns the logits after the last prompt token.
 */
async function prefill(
  ctx: GenerationContext,
  promptIds: readonly number[],
  reusePrefix: boolean,
  pause: () => Promise<void>,
  checkAbort: () => void,
): Promise<{ logits: Float32Array; cachedTokens: number }> {
  const { model, cached, seq } = ctx;
  let reuse = 0;
  while (reusePrefix && reuse < cached.length && reuse < promptIds.length && cached[reuse] === promptIds[reuse]) reuse++;
  // The last prompt token is always recomputed: its logits are not kept.
  if (reuse === promptIds.length) reuse--;
  model.truncate(seq, reuse);
  cached.length = reuse;
  let logits: Float32Array | undefined;
  for (let pos = reuse; pos < promptIds.length; pos += PREFILL_SLICE) {
    if (pos > reuse) {
      await pause();
      checkAbort();
    }
    const slice = promptIds.slice(pos, Math.min(promptIds.length, pos + PREFILL_SLICE));
    logits = model.forward(seq, slice, pos);
    for (const id of slice) cached.push(id);
  }
  return { logits: logits!, cachedTokens: reuse };
}

/** After a failure mid-forward the engine's cache may hold a partial step: start the next request from scratch. */
function forget(ctx: GenerationContext): void {
  ctx.cached.length = 0;
  try {
    ctx.model.resetSequence(ctx.seq);
  } catch {
    // A disposed or trapped engine: nothing left to reset.
  }
}

const utf8 = new TextDecoder();

function describeToken(tokenizer: Tokenizer, id: number, sampler: Sampler): TokenLogprob {
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

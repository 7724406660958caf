/**
 * The generation session of one loaded model: the one owner of its turn (lib/turn.ts), of its KV-cache bookkeeping
 * (which token ids each sequence slot holds, for prefix reuse) and of cancellation. `Llama` and `Transformer` run
 * every generation through it, on the one loop in lib/generation.ts; nothing else moves the model's KV state.
 */
import type { EngineModel } from "./engine/model.js";
import { AbortError } from "./errors.js";
import { generateTokens, type GenerationInput } from "./generation.js";
import { ModelTurn, type TurnLease } from "./turn.js";
import type { GenerateOptions, GenerationResult, TextDelta } from "./types.js";

/** Prompt tokens per forward call: long prompts still yield to the event loop between slices. */
const PREFILL_SLICE = 64;

export class GenerationSession {
  readonly model: EngineModel;
  /** One generation (or the load before it) uses the model at a time; a server shares one turn with its loads. */
  readonly turn: ModelTurn;
  /** Per sequence slot: the token ids whose K/V sit in its cache, kept in step with the engine. */
  readonly #cached: number[][] = [];

  constructor(model: EngineModel, turn: ModelTurn = new ModelTurn()) {
    this.model = model;
    this.turn = turn;
  }

  /** One generation on sequence `seq` in the model's turn: the caller's `options.lease`, or one taken here and given back. */
  async *generate(
    seq: number,
    promptIds: readonly number[],
    options: GenerateOptions,
    input: GenerationInput,
  ): AsyncGenerator<TextDelta, GenerationResult> {
    const own = options.lease === undefined;
    const lease = options.lease ?? (await this.acquire(options));
    try {
      return yield* generateTokens(new SequenceCursor(this.model, this.#slot(seq), seq, lease, options.signal), promptIds, options, input);
    } finally {
      if (own) lease.release();
    }
  }

  /** The model's turn, for a caller that runs several generations in it (each given the lease). */
  acquire(options: Pick<GenerateOptions, "signal" | "maxWaiting"> = {}): Promise<TurnLease> {
    return this.turn.acquire({ signal: options.signal, maxWaiting: options.maxWaiting });
  }

  /**
   * A forward pass the caller drives (Transformer.forward): sequence `seq` is cut to `pos` cached positions, then
   * `tokens` run from there. The bookkeeping follows, so a later generation's prefix reuse stays right.
   */
  forward(seq: number, tokens: readonly number[], pos: number): Float32Array {
    const cached = this.#slot(seq);
    this.model.truncate(seq, pos);
    // Positions the bookkeeping never saw (cannot happen while every forward goes through here): reuse none of them.
    cached.length = pos <= cached.length ? pos : 0;
    try {
      const logits = this.model.forward(seq, tokens, pos);
      if (cached.length === pos) cached.push(...tokens);
      return logits;
    } catch (e) {
      forget(this.model, cached, seq);
      throw e;
    }
  }

  #slot(seq: number): number[] {
    return (this.#cached[seq] ??= []);
  }
}

/** One generation's hold on one sequence slot, within one lease: every forward pass of the loop goes through it. */
export class SequenceCursor {
  constructor(
    readonly model: EngineModel,
    private readonly cached: number[],
    private readonly seq: number,
    private readonly lease: TurnLease,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Ties `cleanup` to this generation's lease: it runs if the turn ends before the generation does. */
  onLeaseEnd(cleanup: () => void): () => void {
    return this.lease.onEnd(cleanup);
  }

  /** Before every forward pass: stop on an abort or a lost turn (a reclaimed holder must not touch the model); else beat. */
  check(): void {
    if (this.signal?.aborted) throw new AbortError("generation aborted", { cause: this.signal.reason });
    this.lease.check();
    this.lease.beat();
  }

  /**
   * Feeds the prompt, reusing the longest prefix already in the KV cache (a follow-up chat turn only computes the new
   * tokens). Returns the logits after the last prompt token and how many prompt tokens were reused.
   */
  async prefill(
    promptIds: readonly number[],
    reusePrefix: boolean,
    pause: () => Promise<void>,
  ): Promise<{ logits: Float32Array; cachedTokens: number }> {
    const { model, cached, seq } = this;
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
        this.check();
      }
      const slice = promptIds.slice(pos, Math.min(promptIds.length, pos + PREFILL_SLICE));
      logits = model.forward(seq, slice, pos);
      for (const id of slice) cached.push(id);
    }
    return { logits: logits!, cachedTokens: reuse };
  }

  /** One decode step: the sampled token goes into the cache; returns the logits after it. */
  decode(id: number): Float32Array {
    this.check();
    const logits = this.model.forward(this.seq, [id], this.cached.length);
    this.cached.push(id);
    return logits;
  }

  /**
   * After a failure mid-forward the engine's cache may hold a partial step: start the next request from scratch.
   * Not after losing the turn: the cache is another holder's by then (and was consistent at this one's last step).
   */
  forget(): void {
    if (this.lease.active) forget(this.model, this.cached, this.seq);
  }
}

function forget(model: EngineModel, cached: number[], seq: number): void {
  cached.length = 0;
  try {
    model.resetSequence(seq);
  } catch {
    // A disposed or trapped engine: nothing left to reset.
  }
}

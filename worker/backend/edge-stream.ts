/**
 * One edge generation after its prefill, as a CompletionStream: the n choices run one after another in the model's
 * turn, one library step per `next()`, so nothing is computed ahead of a client that stopped reading. The stream owns
 * the generation's lifecycle — every step beats the lease, the end (complete, failed, client gone, reclaimed) gives
 * the turn back exactly once and is counted and logged — and turns a failure after the headers into the stream's end.
 */
import { AbortError, EllmError } from "../../lib/errors.js";
import type { TurnLease } from "../../lib/turn.js";
import type { GenerationResult, TextDelta, Usage } from "../../lib/types.js";
import { HttpError } from "../http/errors.js";
import type { CompletionEvent, CompletionStream, ResponseMeta, StreamEnd } from "./backend.js";
import { toHttpError } from "./errors.js";

export interface GenerationStats {
  completed: number;
  /** The client went away (disconnect, cancel) before the end. */
  aborted: number;
  /** Refused after admission with a 4xx (context overflow, bad logit_bias, template error). */
  rejected: number;
  failed: number;
}

export type Outcome = keyof GenerationStats;
type Generator = AsyncGenerator<TextDelta, GenerationResult>;

/** One step of an n-choice generation: a delta of choice `index`, or that choice's end. */
type ChoiceEvent = { index: number } & ({ delta: TextDelta } | { result: GenerationResult });
type Choices = AsyncGenerator<ChoiceEvent, GenerationResult[]>;
export type ChoiceStep = IteratorResult<ChoiceEvent, GenerationResult[]>;

/** Runs the choices one after another in the same turn, as one stream of steps. */
export async function* choiceSteps(n: number, start: (index: number) => Generator): Choices {
  const results: GenerationResult[] = [];
  for (let index = 0; index < n; index++) {
    const gen = start(index);
    try {
      for (let step = await gen.next(); ; step = await gen.next()) {
        if (step.done) {
          results.push(step.value);
          yield { index, result: step.value };
          break;
        }
        yield { index, delta: step.value };
      }
    } finally {
      void gen.return(undefined as unknown as GenerationResult).catch(() => undefined);
    }
  }
  return results;
}

/** Usage of n choices from one prompt: the prompt counts once (as OpenAI bills it), every choice's tokens count. */
export function choicesUsage(results: readonly GenerationResult[]): Usage {
  const first = results[0]!.usage;
  const completionTokens = results.reduce((n, r) => n + r.usage.completionTokens, 0);
  return { promptTokens: first.promptTokens, completionTokens, totalTokens: first.promptTokens + completionTokens, cachedTokens: first.cachedTokens };
}

/**
 * One generation's lifecycle: a once-only finish that gives the turn back and logs. A client that leaves aborts it
 * (when workerd tells us); a holder that is never heard from again is reclaimed by the turn itself.
 */
export class Run {
  finished = false;
  gen: Choices | undefined;
  readonly #abort = new AbortController();

  constructor(
    readonly lease: TurnLease,
    private readonly clientSignal: AbortSignal,
    private readonly onFinish: (outcome: Outcome, results?: GenerationResult[], error?: unknown) => void,
  ) {
    if (clientSignal.aborted) this.abort(clientSignal.reason);
    else clientSignal.addEventListener("abort", this.#onClientGone, { once: true });
  }

  /** Aborted when the client leaves: the generator stops at its next step. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  readonly #onClientGone = () => this.abort(this.clientSignal.reason ?? "client disconnected");

  abort(reason: unknown): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(reason);
    this.finish("aborted", undefined, reason);
  }

  finish(outcome: Outcome, results?: GenerationResult[], error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.clientSignal.removeEventListener("abort", this.#onClientGone);
    // Giving the turn back is all it takes: the library frees what the generation held with its lease (a grammar),
    // and a suspended generator checks the lease before its next forward, so it is simply dropped.
    this.lease.release();
    if (!this.#abort.signal.aborted) this.#abort.abort("finished");
    this.onFinish(outcome, results, error);
  }
}

const GONE: IteratorReturnResult<StreamEnd> = { done: true, value: { kind: "gone" } };

export class EdgeStream implements CompletionStream {
  readonly backend = "edge" as const;
  /** Events due before the next library step: each choice's start. */
  readonly #queued: CompletionEvent[];
  /** The first step, computed with the prefill before the headers. */
  #pending: ChoiceStep | undefined;
  #end: StreamEnd | undefined;

  constructor(
    readonly meta: ResponseMeta,
    private readonly run: Run,
    first: ChoiceStep,
    n: number,
    private readonly param: "messages" | "prompt",
    /** A failed engine leaves the model unusable: the next request loads it again. */
    private readonly discardModel: () => void,
  ) {
    this.#pending = first;
    this.#queued = Array.from({ length: n }, (_, index) => ({ type: "start", index }));
  }

  async next(): Promise<IteratorResult<CompletionEvent, StreamEnd>> {
    const queued = this.#queued.shift();
    if (queued) return { done: false, value: queued };
    if (this.#end) return { done: true, value: this.#end };
    const run = this.run;
    if (run.finished) return GONE;
    run.lease.beat();
    try {
      const step = this.#pending ?? (await run.gen!.next());
      this.#pending = undefined;
      if (step.done) {
        run.finish("completed", step.value);
        this.#end = { kind: "complete" };
        return { done: false, value: { type: "usage", usage: choicesUsage(step.value) } };
      }
      const e = step.value;
      if ("result" in e) return { done: false, value: { type: "finish", index: e.index, reason: e.result.finishReason } };
      const { text, toolCalls, logprobs } = e.delta;
      return { done: false, value: { type: "delta", index: e.index, text, ...(toolCalls ? { toolCalls } : {}), ...(logprobs ? { logprobs } : {}) } };
    } catch (e) {
      return { done: true, value: (this.#end = this.#failure(e)) };
    }
  }

  cancel(reason: unknown): void {
    this.run.abort(reason);
  }

  /** A failure after the headers: the body says what happened, where its format can. */
  #failure(e: unknown): StreamEnd {
    const run = this.run;
    if (run.signal.aborted) {
      run.finish("aborted", undefined, e);
      return { kind: "gone" };
    }
    if (e instanceof AbortError && !run.lease.active) {
      // Reclaimed: this client stopped reading while others waited. Say so rather than end the body as if done.
      run.finish("aborted", undefined, e);
      const message = "Generation stopped: the client stopped reading while other requests waited.";
      return { kind: "failed", error: new HttpError(503, "service_unavailable", message, null, "client_too_slow") };
    }
    if (e instanceof EllmError && e.code === "engine_failure") this.discardModel();
    run.finish("failed", undefined, e);
    const error = toHttpError(e, this.param) ?? new HttpError(500, "server_error", "Generation failed.", null, "generation_failed");
    return { kind: "failed", error };
  }
}

/**
 * EdgeBackend: runs the completion in this isolate. Takes the model's turn (or a place in its queue), makes sure the
 * catalog's model is loaded, runs the prefill before any byte is sent (so errors still get their status), then
 * answers with a body that computes the rest: SSE chunks for `stream: true`, one token per pull so the client's
 * reading paces it; for a plain JSON answer one space per token before the JSON (insignificant whitespace). Other
 * requests run between tokens, and a client that leaves stops it: workerd aborts the request's signal while a pull
 * is pending, and if it never says so the silent lease is reclaimed by the next request (lib/turn.ts).
 */
import { AbortError, EllmError, InvalidArgumentError } from "../../lib/errors.js";
import { checkResponseFormat, checkToolSchemas } from "../../lib/grammar/index.js";
import type { TurnLease, ModelTurn } from "../../lib/turn.js";
import type { GenerateOptions, GenerationResult, TextDelta } from "../../lib/types.js";
import type { CatalogEntry } from "../catalog/schema.js";
import { intVar, type Env } from "../env.js";
import { HttpError, invalidRequest } from "../http/errors.js";
import { log } from "../http/log.js";
import { recordGeneration } from "../http/metrics.js";
import {
  chatChunk,
  chatCompletionBody,
  chatLogprobs,
  choicesUsage,
  completionId,
  textChunk,
  textCompletionBody,
  textLogprobs,
  usageChunk,
  type ResponseMeta,
} from "../openai/format.js";
import type { CompletionRequest } from "../openai/request.js";
import { SSE_DONE, SSE_HEADERS, sseData } from "../openai/sse.js";
import type { ModelStore } from "../runtime/model-store.js";
import type { Backend, BackendContext } from "./backend.js";
import { toHttpError } from "./errors.js";
import { checkGrammarFits } from "./grammar-fit.js";

const DEFAULT_MAX_QUEUE = 8;
/** Choices per request (n): generated one after another from the one prefilled prompt. */
const DEFAULT_MAX_N = 4;
/** KV cache cap when CONTEXT_LENGTH is unset: what a 128 MB isolate can afford next to ~100 MB of weights. */
const DEFAULT_MAX_CONTEXT = 2048;

/** KV cache positions the edge allocates for a model: its catalog context, capped by CONTEXT_LENGTH. */
export function edgeContextLength(entry: CatalogEntry, env: Env): number {
  return Math.min(entry.contextLength, intVar(env.CONTEXT_LENGTH, "CONTEXT_LENGTH", DEFAULT_MAX_CONTEXT, 1));
}

export interface GenerationStats {
  completed: number;
  /** The client went away (disconnect, cancel) before the end. */
  aborted: number;
  /** Refused after admission with a 4xx (context overflow, bad logit_bias, template error). */
  rejected: number;
  failed: number;
}

type Generator = AsyncGenerator<TextDelta, GenerationResult>;
type Outcome = keyof GenerationStats;

const encoder = new TextEncoder();
const SPACE = encoder.encode(" ");
const JSON_HEADERS = { "content-type": "application/json" } as const;

export class EdgeBackend implements Backend {
  readonly name = "edge" as const;
  readonly stats: GenerationStats = { completed: 0, aborted: 0, rejected: 0, failed: 0 };

  constructor(
    private readonly turn: ModelTurn,
    private readonly models: ModelStore,
  ) {}

  async complete(req: CompletionRequest, entry: CatalogEntry, ctx: BackendContext): Promise<Response> {
    if (req.kind === "chat" && req.originOnly) throw req.originOnly.refusal;
    const maxN = intVar(ctx.env.MAX_N, "MAX_N", DEFAULT_MAX_N, 1);
    if (req.n > maxN) throw invalidRequest(`'n' must be at most ${maxN} on this server.`, "n");
    // An unsupported schema is a 400 before the request queues or any weights load.
    if (req.kind === "chat") await checkSchema(req.responseFormat);
    const toolSetup = req.kind === "chat" ? req.tools?.setup : undefined;
    if (toolSetup) await checkToolSchemas(toolSetup).catch((e: unknown) => {
      throw toHttpError(e, "messages") ?? e;
    });
    const maxWaiting = intVar(ctx.env.MAX_QUEUE, "MAX_QUEUE", DEFAULT_MAX_QUEUE);
    const param = req.kind === "chat" ? "messages" : "prompt";
    const lease = await this.turn.acquire({ signal: ctx.signal, maxWaiting }).catch((e: unknown) => {
      throw toHttpError(e, param) ?? e;
    });
    const meta: ResponseMeta = { id: completionId(req.kind), created: Math.floor(Date.now() / 1000), model: entry.id };
    const run = new Run(lease, ctx.signal, (outcome, results, error) => {
      this.stats[outcome]++;
      recordGeneration(entry.id, outcome, results);
      log(outcome === "failed" ? "error" : "info", "generation", {
        requestId: ctx.requestId, completionId: meta.id, model: entry.id, kind: req.kind, stream: req.stream, n: req.n, outcome,
        finishReasons: results?.map((r) => r.finishReason), usage: results ? choicesUsage(results) : undefined,
        timings: results?.map((r) => r.timings), ms: Date.now() - lease.grantedAt,
        ...(error !== undefined ? { error: String(error) } : {}),
      });
    });

    try {
      const { model, loaded } = await this.models.acquire(entry, {
        bucket: ctx.env.MODELS, maxContext: edgeContextLength(entry, ctx.env), lease, turn: this.turn,
      });
      ctx.timing.add("load", loaded ? model.loadMs : 0);
      const llama = model.llama;
      const needsGrammar = toolSetup !== undefined || (req.kind === "chat" && req.responseFormat !== undefined && req.responseFormat.type !== "text");
      if (needsGrammar) checkGrammarFits(entry.id, llama.info);

      let cached: number | undefined;
      const options: GenerateOptions = { ...req.sampling, signal: run.signal, lease, onPrefill: (p) => (cached ??= p.cachedTokens) };
      if (req.maxTokens !== undefined) options.maxTokens = req.maxTokens;
      if (req.stop !== undefined) options.stop = req.stop;
      if (req.logprobs !== undefined) options.logprobs = req.logprobs;
      if (req.kind === "chat" && req.responseFormat !== undefined) options.responseFormat = req.responseFormat;
      if (toolSetup && req.kind === "chat") {
        // The library checks the fields as the validator did (one rule for both).
        const sent = req.tools!.sent;
        options.tools = sent.tools as GenerateOptions["tools"];
        options.toolChoice = sent.tool_choice as GenerateOptions["toolChoice"];
        options.parallelToolCalls = sent.parallel_tool_calls as boolean | undefined;
      }
      const seed = req.sampling.seed;
      // Choice i > 0 starts from the prompt's K/V that choice 0 left in the cache (only its last token is recomputed);
      // a given seed makes every choice reproducible and each one different.
      const choice = (i: number): Generator => {
        const o: GenerateOptions = { ...options, reusePrefix: i > 0 || req.cachePrompt };
        if (seed !== undefined) o.seed = seed + i;
        return req.kind === "chat" ? llama.chatCompletionStream(req.messages, o) : llama.generateStream(req.prompt, o);
      };

      const t0 = Date.now();
      run.gen = choiceSteps(req.n, choice);
      // The first step runs the prefill: context overflow and template errors surface here, before any byte is sent.
      const first = await run.gen.next();
      ctx.timing.add("prefill", Date.now() - t0, `${cached ?? 0} cached tokens`);
      const body = req.stream ? new SseEncoder(req, meta) : new JsonEncoder(req, meta);
      lease.beat();
      return new Response(pulledBody(run, first, body, param, () => this.models.discard()), {
        headers: req.stream ? SSE_HEADERS : JSON_HEADERS,
      });
    } catch (e) {
      const http = toHttpError(e, param);
      if (e instanceof EllmError && e.code === "engine_failure") this.models.discard();
      run.finish(run.signal.aborted ? "aborted" : http && http.status < 500 ? "rejected" : "failed", undefined, e);
      throw http ?? e;
    }
  }
}

/** One step of an n-choice generation: a delta of choice `index`, or that choice's end. */
type ChoiceEvent = { index: number } & ({ delta: TextDelta } | { result: GenerationResult });
type Choices = AsyncGenerator<ChoiceEvent, GenerationResult[]>;
type ChoiceStep = IteratorResult<ChoiceEvent, GenerationResult[]>;

/** Runs the choices one after another in the same turn, as one stream of events. */
async function* choiceSteps(n: number, start: (index: number) => Generator): Choices {
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

/** How one response body renders the generation's events. */
interface BodyEncoder {
  /**
   * One token per pull, paced by the client's reading (SSE). Otherwise the pull runs the generation to the end,
   * still yielding between tokens: a JSON caller may well wait for other responses before reading this one.
   */
  readonly paced: boolean;
  start(): Uint8Array[];
  delta(index: number, delta: TextDelta): Uint8Array;
  choiceEnd(index: number, result: GenerationResult): Uint8Array;
  end(results: GenerationResult[]): Uint8Array[];
  /** A failure after the headers; undefined = abort the body (a JSON answer cannot carry an error after its 200). */
  failure(error: HttpError): Uint8Array[] | undefined;
}

class SseEncoder implements BodyEncoder {
  readonly paced = true;
  readonly #textOffset: number[];
  readonly #withLogprobs: boolean;
  constructor(
    private readonly req: CompletionRequest,
    private readonly meta: ResponseMeta,
  ) {
    this.#withLogprobs = req.logprobs !== undefined;
    this.#textOffset = new Array<number>(req.n).fill(0);
  }

  start() {
    // OpenAI sends the role alone in the first chat delta of each choice.
    if (this.req.kind !== "chat") return [];
    return Array.from({ length: this.req.n }, (_, i) =>
      sseData(chatChunk(this.meta, i, { role: "assistant", content: "" }, null, null, this.req.includeUsage)),
    );
  }

  delta(index: number, d: TextDelta) {
    const out = this.#chunk(index, d.text, null, d);
    this.#textOffset[index]! += d.text.length;
    return out;
  }

  choiceEnd(index: number, result: GenerationResult) {
    return this.#chunk(index, "", result.finishReason);
  }

  end(results: GenerationResult[]) {
    const out: Uint8Array[] = [];
    if (this.req.includeUsage) out.push(sseData(usageChunk(this.meta, this.req.kind, choicesUsage(results))));
    out.push(SSE_DONE);
    return out;
  }

  failure(error: HttpError) {
    // Headers are gone: report the failure in-band (as llama.cpp and vLLM do), then end the stream.
    return [sseData(error.body()), SSE_DONE];
  }

  #chunk(index: number, text: string, finishReason: GenerationResult["finishReason"] | null, delta?: TextDelta) {
    const { req, meta } = this;
    if (req.kind === "chat") {
      const lp = this.#withLogprobs ? chatLogprobs(delta?.logprobs ?? []) : null;
      const calls = delta?.toolCalls;
      const d = finishReason ? {} : calls ? { ...(text !== "" ? { content: text } : {}), tool_calls: calls.map(toolCallChunk) } : { content: text };
      return sseData(chatChunk(meta, index, d, finishReason, lp, req.includeUsage));
    }
    const lp = this.#withLogprobs ? textLogprobs(delta?.logprobs ?? [], this.#textOffset[index]!) : null;
    return sseData(textChunk(meta, index, text, finishReason, lp, req.includeUsage));
  }
}

/** OpenAI's `delta.tool_calls[]` entry: index, then id/type/name on a call's first piece, argument text always. */
function toolCallChunk(d: NonNullable<TextDelta["toolCalls"]>[number]) {
  return {
    index: d.index,
    ...(d.id !== undefined ? { id: d.id, type: "function" } : {}),
    function: { ...(d.function.name !== undefined ? { name: d.function.name } : {}), arguments: d.function.arguments },
  };
}

/** A plain JSON answer: a space per token (so a vanished client is noticed), then the JSON. */
class JsonEncoder implements BodyEncoder {
  readonly paced = false;
  constructor(
    private readonly req: CompletionRequest,
    private readonly meta: ResponseMeta,
  ) {}

  start() {
    return [];
  }

  delta() {
    return SPACE;
  }

  choiceEnd() {
    return SPACE;
  }

  end(results: GenerationResult[]) {
    const withLogprobs = this.req.logprobs !== undefined;
    const body =
      this.req.kind === "chat" ? chatCompletionBody(this.meta, results, withLogprobs) : textCompletionBody(this.meta, results, withLogprobs);
    return [encoder.encode(JSON.stringify(body))];
  }

  failure() {
    return undefined;
  }
}

/** The response body: one pull = one generator step, so nothing runs ahead of a client that stopped reading. */
function pulledBody(
  run: Run,
  first: ChoiceStep,
  encoder: BodyEncoder,
  param: "messages" | "prompt",
  discardModel: () => void,
): ReadableStream<Uint8Array> {
  let pending: ChoiceStep | undefined = first;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const bytes of encoder.start()) controller.enqueue(bytes);
    },
    async pull(controller) {
      if (run.finished) return closeQuietly(controller);
      run.lease.beat();
      try {
        let step = pending ?? (await run.gen!.next());
        pending = undefined;
        for (;;) {
          if (step.done) break;
          const e = step.value;
          controller.enqueue("delta" in e ? encoder.delta(e.index, e.delta) : encoder.choiceEnd(e.index, e.result));
          if (encoder.paced) return;
          step = await run.gen!.next();
        }
        for (const bytes of encoder.end(step.value)) controller.enqueue(bytes);
        controller.close();
        run.finish("completed", step.value);
      } catch (e) {
        if (run.signal.aborted) {
          run.finish("aborted", undefined, e);
          return closeQuietly(controller);
        }
        // Headers are gone: the body says what happened (or errors, where its format cannot say it).
        const endWith = (error: HttpError) => {
          const tail = encoder.failure(error);
          if (!tail) return controller.error(e);
          for (const bytes of tail) controller.enqueue(bytes);
          controller.close();
        };
        if (e instanceof AbortError && !run.lease.active) {
          // Reclaimed: this client stopped reading while others waited. Say so rather than end the body as if done.
          run.finish("aborted", undefined, e);
          return endWith(
            new HttpError(503, "service_unavailable", "Generation stopped: the client stopped reading while other requests waited.", null, "client_too_slow"),
          );
        }
        if (e instanceof EllmError && e.code === "engine_failure") discardModel();
        run.finish("failed", undefined, e);
        endWith(toHttpError(e, param) ?? new HttpError(500, "server_error", "Generation failed.", null, "generation_failed"));
      }
    },
    cancel(reason) {
      run.abort(reason ?? "client cancelled the stream");
    },
  });
}

/**
 * One generation's lifecycle: a once-only finish that gives the turn back and logs. A client that leaves aborts it
 * (when workerd tells us); a holder that is never heard from again is reclaimed by the turn itself.
 */
class Run {
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

/** Closing a stream the client already cancelled throws; there is nobody left to tell. */
function closeQuietly(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {
    // cancelled or errored already
  }
}

async function checkSchema(format: GenerateOptions["responseFormat"]): Promise<void> {
  try {
    await checkResponseFormat(format);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw invalidRequest(e.message.replace(/^responseFormat/, "response_format.json_schema.schema"), "response_format.json_schema.schema");
    throw e;
  }
}

/**
 * EdgeBackend: runs the completion in this isolate. Takes the isolate's generation slot (or a place in its queue),
 * makes sure the catalog's model is loaded, then runs the library's streaming generator — returning JSON when it
 * finishes, or an SSE stream that pulls one token step per chunk so the client's reading paces the generation and
 * its disconnect stops it.
 */
import { EllmError } from "../../lib/errors.js";
import type { GenerateOptions, GenerationResult, TextDelta } from "../../lib/types.js";
import type { CatalogEntry } from "../catalog/schema.js";
import { intVar, type Env } from "../env.js";
import { HttpError, invalidRequest } from "../http/errors.js";
import { log } from "../http/log.js";
import {
  chatChunk,
  chatCompletionBody,
  chatLogprobs,
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
import type { GenerationQueue } from "../runtime/queue.js";
import type { Backend, BackendContext } from "./backend.js";
import { toHttpError } from "./errors.js";

const DEFAULT_MAX_QUEUE = 8;
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

export class EdgeBackend implements Backend {
  readonly name = "edge" as const;
  readonly stats: GenerationStats = { completed: 0, aborted: 0, rejected: 0, failed: 0 };

  constructor(
    private readonly queue: GenerationQueue,
    private readonly models: ModelStore,
  ) {}

  async complete(req: CompletionRequest, entry: CatalogEntry, ctx: BackendContext): Promise<Response> {
    const abort = new AbortController();
    const run = new Run();
    const onClientGone = () => abort.abort(ctx.signal.reason ?? "client disconnected");
    if (ctx.signal.aborted) onClientGone();
    else ctx.signal.addEventListener("abort", onClientGone, { once: true });

    const maxQueue = intVar(ctx.env.MAX_QUEUE, "MAX_QUEUE", DEFAULT_MAX_QUEUE);
    const release = await this.queue.acquire(maxQueue, abort.signal).catch((e: unknown) => {
      ctx.signal.removeEventListener("abort", onClientGone);
      throw toHttpError(e, req.kind === "chat" ? "messages" : "prompt") ?? e;
    });
    const meta: ResponseMeta = { id: completionId(req.kind), created: Math.floor(Date.now() / 1000), model: entry.id };
    const started = Date.now();
    run.onFinish = (outcome, result, error) => {
      release();
      ctx.signal.removeEventListener("abort", onClientGone);
      this.stats[outcome]++;
      log(outcome === "failed" ? "error" : "info", "generation", {
        requestId: ctx.requestId, completionId: meta.id, model: entry.id, kind: req.kind, stream: req.stream, outcome,
        finishReason: result?.finishReason, usage: result?.usage, timings: result?.timings,
        ms: Date.now() - started, ...(error !== undefined ? { error: String(error) } : {}),
      });
    };
    let streaming = false;

    try {
      const { model, loaded } = await this.models.acquire(entry, { bucket: ctx.env.MODELS, maxContext: edgeContextLength(entry, ctx.env) });
      ctx.timing.add("load", loaded ? model.loadMs : 0);
      const llama = model.llama;
      checkLogitBias(req, llama.info.vocabSize);

      // No timer yields inside a step: one SSE pull paces one token, and a step never waits on a timer that workerd
      // would drop when the client leaves (which would leave the model's turn held forever).
      const options: GenerateOptions = { ...req.sampling, signal: abort.signal, yieldBetweenTokens: false };
      if (req.maxTokens !== undefined) options.maxTokens = req.maxTokens;
      if (req.stop !== undefined) options.stop = req.stop;
      if (req.logprobs !== undefined) options.logprobs = req.logprobs;

      const t0 = Date.now();
      const gen: Generator =
        req.kind === "chat" ? llama.chatCompletionStream(req.messages, options) : llama.generateStream(req.prompt, options);
      run.gen = gen;
      // The first step runs the prefill: context overflow and template errors surface here, before any byte is sent.
      const first = await gen.next();
      const firstMs = Date.now() - t0;

      if (!req.stream) {
        let step = first;
        while (!step.done) step = await gen.next();
        const result = step.value;
        ctx.timing.add("prefill", result.timings.prefillMs);
        ctx.timing.add("decode", result.timings.decodeMs);
        run.finish("completed", result);
        const withLogprobs = req.logprobs !== undefined;
        const body = req.kind === "chat" ? chatCompletionBody(meta, result, withLogprobs) : textCompletionBody(meta, result, withLogprobs);
        return Response.json(body);
      }

      ctx.timing.add("prefill", firstMs);
      streaming = true;
      return new Response(this.#sse(req, meta, gen, first, abort, run), { headers: SSE_HEADERS });
    } catch (e) {
      const http = toHttpError(e, req.kind === "chat" ? "messages" : "prompt");
      if (!streaming) {
        if (e instanceof EllmError && e.code === "engine_failure") this.models.discard();
        run.finish(abort.signal.aborted ? "aborted" : http && http.status < 500 ? "rejected" : "failed", undefined, e);
      }
      throw http ?? e;
    }
  }

  /** The SSE body: one pull = one generator step, so nothing runs ahead of a client that stopped reading. */
  #sse(
    req: CompletionRequest,
    meta: ResponseMeta,
    gen: Generator,
    first: IteratorResult<TextDelta, GenerationResult>,
    abort: AbortController,
    run: Run,
  ): ReadableStream<Uint8Array> {
    let pending: IteratorResult<TextDelta, GenerationResult> | undefined = first;
    let textOffset = 0;
    const withLogprobs = req.logprobs !== undefined;
    const models = this.models;
    const chunk = (text: string, finishReason: GenerationResult["finishReason"] | null, delta?: TextDelta) => {
      if (req.kind === "chat") {
        const lp = withLogprobs ? chatLogprobs(delta?.logprobs ?? []) : null;
        return sseData(chatChunk(meta, finishReason ? {} : { content: text }, finishReason, lp, req.includeUsage));
      }
      const lp = withLogprobs ? textLogprobs(delta?.logprobs ?? [], textOffset) : null;
      return sseData(textChunk(meta, text, finishReason, lp, req.includeUsage));
    };

    let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
    // A disconnect ends the run (and with it the generator) and the stream: no pull may ever come again.
    abort.signal.addEventListener(
      "abort",
      () => {
        if (run.finished) return;
        run.finish("aborted", undefined, abort.signal.reason ?? "client disconnected");
        try {
          controllerRef?.error(abort.signal.reason);
        } catch {
          // already closed
        }
      },
      { once: true },
    );

    return new ReadableStream<Uint8Array>({
      start(controller) {
        controllerRef = controller;
        // OpenAI sends the role alone in the first chat delta.
        if (req.kind === "chat") controller.enqueue(sseData(chatChunk(meta, { role: "assistant", content: "" }, null, null, req.includeUsage)));
      },
      async pull(controller) {
        if (run.finished) return;
        try {
          const step = pending ?? (await gen.next());
          pending = undefined;
          if (!step.done) {
            controller.enqueue(chunk(step.value.text, null, step.value));
            textOffset += step.value.text.length;
            return;
          }
          const result = step.value;
          controller.enqueue(chunk("", result.finishReason));
          if (req.includeUsage) controller.enqueue(sseData(usageChunk(meta, req.kind, result.usage)));
          controller.enqueue(SSE_DONE);
          controller.close();
          run.finish("completed", result);
        } catch (e) {
          if (abort.signal.aborted) {
            run.finish("aborted", undefined, e);
            closeQuietly(controller);
            return;
          }
          if (e instanceof EllmError && e.code === "engine_failure") models.discard();
          // Headers are gone: report the failure in-band (as llama.cpp and vLLM do), then end the stream.
          const http = toHttpError(e, req.kind === "chat" ? "messages" : "prompt");
          const body = (http ?? new HttpError(500, "server_error", "Generation failed.", null, "generation_failed")).body();
          controller.enqueue(sseData(body));
          controller.enqueue(SSE_DONE);
          controller.close();
          run.finish("failed", undefined, e);
        }
      },
      cancel(reason) {
        abort.abort(reason ?? "client cancelled the stream");
      },
    });
  }
}

/** One generation's lifecycle: a once-only finish that ends the generator, releases the slot and logs. */
class Run {
  finished = false;
  gen: Generator | undefined;
  onFinish: ((outcome: Outcome, result?: GenerationResult, error?: unknown) => void) | undefined;

  finish(outcome: Outcome, result?: GenerationResult, error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    // Frees the library's per-model turn. An async generator queues return() behind a step still running, so this is
    // safe at any moment (and a no-op for a generator that already finished).
    void this.gen?.return(undefined as unknown as GenerationResult).catch(() => undefined);
    this.onFinish?.(outcome, result, error);
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

function checkLogitBias(req: CompletionRequest, vocabSize: number): void {
  for (const id of Object.keys(req.sampling.logitBias ?? {})) {
    if (Number(id) >= vocabSize) {
      throw invalidRequest(`'logit_bias' token id ${id} is outside this model's vocabulary (size ${vocabSize}).`, "logit_bias");
    }
  }
}

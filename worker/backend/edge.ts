/**
 * EdgeBackend: runs the completion in this isolate. Admits the request (checks that need no model, then the model's
 * turn or a place in its queue), makes sure the catalog's model is loaded and runs the prefill — all before any byte
 * is sent, so every refusal keeps its HTTP status and failover.ts can still send it elsewhere — and hands the rest of
 * the generation over as a CompletionStream (edge-stream.ts) that computes one token per pull.
 */
import { EllmError, InvalidArgumentError } from "../../lib/errors.js";
import { checkResponseFormat, checkToolSchemas } from "../../lib/grammar/index.js";
import type { ModelTurn } from "../../lib/turn.js";
import type { GenerateOptions, GenerationResult, TextDelta } from "../../lib/types.js";
import type { CatalogEntry } from "../catalog/schema.js";
import { intVar, type Env } from "../env.js";
import { invalidRequest } from "../http/errors.js";
import { log } from "../http/log.js";
import { recordGeneration } from "../http/metrics.js";
import { responseMeta } from "../openai/format.js";
import type { CompletionRequest } from "../openai/request.js";
import type { ModelStore } from "../runtime/model-store.js";
import type { Backend, BackendContext, CompletionStream } from "./backend.js";
import { choicesUsage, choiceSteps, EdgeStream, Run, type GenerationStats } from "./edge-stream.js";
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

type Generator = AsyncGenerator<TextDelta, GenerationResult>;

export class EdgeBackend implements Backend {
  readonly name = "edge" as const;
  readonly stats: GenerationStats = { completed: 0, aborted: 0, rejected: 0, failed: 0 };

  constructor(
    private readonly turn: ModelTurn,
    private readonly models: ModelStore,
  ) {}

  async complete(req: CompletionRequest, entry: CatalogEntry, ctx: BackendContext): Promise<CompletionStream> {
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
    const meta = responseMeta(req.kind, entry.id);
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
      lease.beat();
      return new EdgeStream(meta, run, first, req.n, param, () => this.models.discard());
    } catch (e) {
      const http = toHttpError(e, param);
      if (e instanceof EllmError && e.code === "engine_failure") this.models.discard();
      run.finish(run.signal.aborted ? "aborted" : http && http.status < 500 ? "rejected" : "failed", undefined, e);
      throw http ?? e;
    }
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

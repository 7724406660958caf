/**
 * The one OpenAI encoder: a backend's CompletionStream → the HTTP response, for the edge and the origin alike.
 * The body is pulled, never pushed: `stream: true` writes one SSE chunk per pull, so the client's reading paces the
 * backend; a plain JSON answer runs in one pull, writing one space of insignificant whitespace per delta while the
 * backend works (a vanished client is noticed at the next write) and the JSON last, folded from the same deltas —
 * so a streamed answer and a whole one cannot disagree.
 */
import type { CompletionEvent, CompletionStream, CompletionUsage, LogprobEntry, ResponseMeta, StreamEnd } from "../backend/backend.js";
import {
  chatCompletionBody,
  chatLogprobs,
  choiceChunk,
  textCompletionBody,
  textLogprobs,
  usageChunk,
  type ChatDelta,
  type ChoiceOutput,
  type ChunkChoice,
} from "./format.js";
import type { CompletionRequest } from "./request.js";
import { SSE_DONE, SSE_HEADERS, SSE_PING, sseData } from "./sse.js";

/** What the encoding depends on in the request. */
export type EncodeOptions = Pick<CompletionRequest, "kind" | "stream" | "logprobs" | "includeUsage">;

type Delta = Extract<CompletionEvent, { type: "delta" }>;

const JSON_HEADERS = { "content-type": "application/json" } as const;
const SPACE = new TextEncoder().encode(" ");

export function completionResponse(req: EncodeOptions, stream: CompletionStream): Response {
  const writer = req.stream ? new SseWriter(req, stream.meta) : new JsonWriter(req, stream.meta);
  return new Response(pulledBody(stream, writer), {
    headers: { ...(req.stream ? SSE_HEADERS : JSON_HEADERS), "x-ellm-backend": stream.backend },
  });
}

/** How one response format writes the events. */
interface BodyWriter {
  /**
   * One event per pull (SSE), paced by the client's reading. Otherwise the pull runs the stream to its end, still
   * yielding between tokens: a JSON caller may well wait for other responses before reading this one.
   */
  readonly paced: boolean;
  /** Bytes for one event, if it shows in this format. */
  event(e: CompletionEvent): Uint8Array | undefined;
  /** The body's last bytes; undefined = error the body (a JSON answer cannot carry a failure after its 200). */
  end(end: StreamEnd): Uint8Array[] | undefined;
}

function pulledBody(stream: CompletionStream, writer: BodyWriter): ReadableStream<Uint8Array> {
  let over = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const step = await stream.next();
          if (over) return; // cancelled while the step ran
          if (step.done) {
            over = true;
            const tail = writer.end(step.value);
            if (step.value.kind === "failed" && !tail) return controller.error(step.value.error);
            for (const bytes of tail ?? []) controller.enqueue(bytes);
            return controller.close();
          }
          const bytes = writer.event(step.value);
          if (!bytes) continue;
          controller.enqueue(bytes);
          if (writer.paced) return;
        }
      } catch (e) {
        // A broken contract (next() threw) or a body the client already cancelled: nothing sensible left to write.
        over = true;
        stream.cancel(e);
        try {
          controller.error(e);
        } catch {
          // errored or closed already
        }
      }
    },
    cancel(reason) {
      over = true;
      stream.cancel(reason ?? "client cancelled the body");
    },
  });
}

class SseWriter implements BodyWriter {
  readonly paced = true;
  /** Where each choice's next text starts (legacy logprobs' text_offset). */
  readonly #offset = new Map<number, number>();
  readonly #withLogprobs: boolean;

  constructor(
    private readonly req: EncodeOptions,
    private readonly meta: ResponseMeta,
  ) {
    this.#withLogprobs = req.logprobs !== undefined;
  }

  event(e: CompletionEvent): Uint8Array | undefined {
    const { req, meta } = this;
    const chat = req.kind === "chat";
    const write = (index: number, choice: ChunkChoice, finishReason: string | null = null) =>
      sseData(choiceChunk(meta, index, choice, finishReason, req.includeUsage));
    switch (e.type) {
      case "start":
        // OpenAI sends the role alone in the first chat delta of each choice.
        return chat ? write(e.index, { delta: { role: "assistant", content: "" }, logprobs: null }) : undefined;
      case "delta": {
        const offset = this.#offset.get(e.index) ?? 0;
        this.#offset.set(e.index, offset + e.text.length);
        return write(e.index, this.#piece(e, e.logprobs ?? [], offset));
      }
      case "finish":
        return write(e.index, this.#piece({ text: "" }, [], this.#offset.get(e.index) ?? 0, true), e.reason);
      case "usage":
        return req.includeUsage ? sseData(usageChunk(meta, req.kind, e.usage)) : undefined;
      case "keepalive":
        return SSE_PING;
    }
  }

  /** A chunk's choice: chat deltas carry content and call pieces (a finish carries none), text chunks their text. */
  #piece(d: Pick<Delta, "text" | "toolCalls" | "functionCall">, logprobs: readonly LogprobEntry[], offset: number, finish = false): ChunkChoice {
    const lp = this.#withLogprobs;
    if (this.req.kind === "chat") return { delta: finish ? {} : chatDelta(d), logprobs: lp ? chatLogprobs(logprobs) : null };
    return { text: d.text, logprobs: lp ? textLogprobs(logprobs, offset) : null };
  }

  end(end: StreamEnd): Uint8Array[] {
    if (end.kind === "gone") return [];
    // Headers are gone: a failure is reported in-band (as llama.cpp and vLLM do), then the stream ends.
    return end.kind === "failed" ? [sseData(end.error.body()), SSE_DONE] : [SSE_DONE];
  }
}

/** A chat delta: content, and the call pieces when there are any (content only where it has text). */
function chatDelta(e: Pick<Delta, "text" | "toolCalls" | "functionCall">): ChatDelta {
  if (!e.toolCalls && !e.functionCall) return { content: e.text };
  return {
    ...(e.text !== "" ? { content: e.text } : {}),
    ...(e.toolCalls ? { tool_calls: e.toolCalls.map(toolCallChunk) } : {}),
    ...(e.functionCall ? { function_call: e.functionCall } : {}),
  };
}

/** OpenAI's `delta.tool_calls[]` entry: index, then id/type/name on a call's first piece, argument text always. */
function toolCallChunk(d: NonNullable<Delta["toolCalls"]>[number]) {
  return {
    index: d.index,
    ...(d.id !== undefined ? { id: d.id, type: "function" } : {}),
    function: { ...(d.function.name !== undefined ? { name: d.function.name } : {}), arguments: d.function.arguments },
  };
}

/** A plain JSON answer: a space per delta and per finished choice, then the JSON folded from the deltas. */
class JsonWriter implements BodyWriter {
  readonly paced = false;
  readonly #choices = new Map<number, ChoiceOutput>();
  #usage: CompletionUsage | undefined;

  constructor(
    private readonly req: EncodeOptions,
    private readonly meta: ResponseMeta,
  ) {}

  event(e: CompletionEvent): Uint8Array | undefined {
    switch (e.type) {
      case "delta": {
        const c = this.#choice(e.index);
        c.text += e.text;
        if (e.logprobs) c.logprobs.push(...e.logprobs);
        for (const d of e.toolCalls ?? []) {
          const call = (c.toolCalls[d.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
          if (d.id !== undefined) call.id = d.id;
          if (d.function.name !== undefined) call.function.name += d.function.name;
          call.function.arguments += d.function.arguments;
        }
        if (e.functionCall) {
          const f = (c.functionCall ??= { name: "", arguments: "" });
          f.name += e.functionCall.name ?? "";
          f.arguments += e.functionCall.arguments;
        }
        return SPACE;
      }
      case "finish":
        this.#choice(e.index).finishReason = e.reason;
        return SPACE;
      case "usage":
        this.#usage = e.usage;
        return undefined;
      case "start":
      case "keepalive":
        return undefined;
    }
  }

  end(end: StreamEnd): Uint8Array[] | undefined {
    if (end.kind !== "complete") return end.kind === "gone" ? [] : undefined;
    const choices = [...this.#choices.entries()].sort(([a], [b]) => a - b).map(([, c]) => ({ ...c, toolCalls: c.toolCalls.filter(Boolean) }));
    const withLogprobs = this.req.logprobs !== undefined;
    const body =
      this.req.kind === "chat"
        ? chatCompletionBody(this.meta, choices, this.#usage, withLogprobs)
        : textCompletionBody(this.meta, choices, this.#usage, withLogprobs);
    return [new TextEncoder().encode(JSON.stringify(body))];
  }

  #choice(index: number): ChoiceOutput {
    let c = this.#choices.get(index);
    if (!c) this.#choices.set(index, (c = { text: "", toolCalls: [], functionCall: undefined, logprobs: [], finishReason: null }));
    return c;
  }
}

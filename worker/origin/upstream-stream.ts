/**
 * The origin's SSE body as a CompletionStream: each `next()` reads upstream bytes only until an event is ready, so
 * the client's reading paces the origin too. Lines are reassembled across reads (UTF-8 and CRLF included); `data:`
 * chunks become events (upstream-events.ts), comments keep-alives, `[DONE]` the end. Whatever else ends the
 * stream — a read failure (origin gone, deadline, client gone), an in-band error, a malformed event — is recorded
 * once and becomes the stream's end, so the client's stream still finishes properly (an OpenAI-style error event and
 * `[DONE]` from the encoder) instead of a torn socket; the origin's own error text never reaches the client.
 */
import type { CompletionEvent, CompletionStream, ResponseMeta, StreamEnd } from "../backend/backend.js";
import { HttpError } from "../http/errors.js";
import { chunkEvents, isObject } from "./upstream-events.js";

/** How an upstream stream ended, for the breaker, the stats and the log. */
export type UpstreamEnd = "done" | "upstream_closed" | "upstream_failed" | "upstream_error" | "timeout" | "malformed" | "client_gone";

/** A single SSE line longer than this is not a token chunk; refuse it rather than buffer without bound. */
const MAX_LINE_CHARS = 1 << 20;

export interface UpstreamStreamOptions {
  kind: "chat" | "text";
  meta: ResponseMeta;
  /** The first bytes, already read by the caller (it ran the first-byte timeout before committing to a 200). */
  first: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Why a failing read failed: the deadline fired, the client left, or (otherwise) the origin broke the stream. */
  classify: () => "timeout" | "client_gone" | "upstream_failed";
  /** Called once, when the stream ends (the client cancelling it included): stop the upstream request, count it. */
  onEnd: (end: UpstreamEnd, reason?: unknown) => void;
}

const failed = (code: "upstream_error" | "upstream_timeout", message: string): StreamEnd => ({
  kind: "failed",
  error: new HttpError(502, "server_error", message, null, code),
});

const STREAM_ENDS: Record<UpstreamEnd, StreamEnd> = {
  done: { kind: "complete" },
  client_gone: { kind: "gone" },
  timeout: failed("upstream_timeout", "The model server did not finish in time."),
  malformed: failed("upstream_error", "The model server sent a malformed event."),
  upstream_error: failed("upstream_error", "The model server failed while generating."),
  upstream_closed: failed("upstream_error", "The model server ended the stream before it was complete."),
  upstream_failed: failed("upstream_error", "The model server ended the stream before it was complete."),
};

export class UpstreamSseStream implements CompletionStream {
  readonly backend = "origin" as const;
  readonly meta: ResponseMeta;
  readonly #decoder = new TextDecoder();
  readonly #queue: CompletionEvent[] = [];
  readonly #started = new Set<number>();
  #first: Uint8Array | undefined;
  #partial = "";
  #end: StreamEnd | undefined;

  constructor(private readonly o: UpstreamStreamOptions) {
    this.meta = o.meta;
    this.#first = o.first;
  }

  async next(): Promise<IteratorResult<CompletionEvent, StreamEnd>> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) return { done: false, value: event };
      if (this.#end) return { done: true, value: this.#end };
      await this.#read();
    }
  }

  cancel(reason: unknown): void {
    this.#stop("client_gone", reason);
    void this.o.reader.cancel(reason).catch(() => {});
  }

  /** Reads one upstream chunk and queues the events of its complete lines. */
  async #read(): Promise<void> {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    if (this.#first) {
      chunk = { done: false, value: this.#first };
      this.#first = undefined;
    } else {
      try {
        chunk = await this.o.reader.read();
      } catch {
        return this.#stop(this.o.classify());
      }
    }
    if (chunk.done) {
      const rest = this.#partial + this.#decoder.decode();
      this.#partial = "";
      if (rest !== "") this.#line(rest);
      return this.#stop("upstream_closed");
    }
    const lines = (this.#partial + this.#decoder.decode(chunk.value, { stream: true })).split("\n");
    this.#partial = lines.pop()!;
    for (const line of lines) this.#line(line);
    if (this.#partial.length > MAX_LINE_CHARS) this.#stop("malformed");
  }

  #line(raw: string): void {
    if (this.#end) return;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") return;
    if (line.startsWith(":")) return void this.#queue.push({ type: "keepalive" });
    // llama.cpp's server reports a failure as an `error:` line.
    if (line.startsWith("error:")) return this.#stop("upstream_error");
    if (!line.startsWith("data:")) return; // event/id/retry and unknown fields: the framing is ours
    const payload = line.slice(line.startsWith("data: ") ? 6 : 5);
    if (payload.trim() === "[DONE]") return this.#stop("done");
    let chunk: unknown;
    try {
      chunk = JSON.parse(payload);
    } catch {
      return this.#stop("malformed");
    }
    if (!isObject(chunk)) return this.#stop("malformed");
    if ("error" in chunk) return this.#stop("upstream_error");
    this.#queue.push(...chunkEvents(chunk, this.o.kind, this.#started));
  }

  /** The first end wins; events already queued are still delivered before it. */
  #stop(end: UpstreamEnd, reason?: unknown): void {
    if (this.#end) return;
    this.#end = STREAM_ENDS[end];
    if (end === "client_gone") this.#queue.length = 0;
    this.o.onEnd(end, reason);
  }
}

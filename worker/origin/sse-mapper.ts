/**
 * The streaming half of the proxy. `guardUpstream` turns the origin's body into a stream that never errors: a read
 * failure (origin gone, deadline, client gone) is recorded in `StreamState` and ends the stream normally, so that
 * `sseModelMapper` — a TransformStream working line by line, one upstream chunk in, that chunk's complete lines out —
 * can finish the client's stream properly: an OpenAI-style error event and `data: [DONE]` instead of a torn socket.
 */
import { streamErrorBody } from "./errors.js";

export type StreamEnd = "done" | "upstream_closed" | "upstream_failed" | "timeout" | "malformed" | "client_gone";

export interface StreamState {
  /** Set once, by whoever first learns how the stream ends. */
  end?: StreamEnd;
}

/** A single SSE line longer than this is not a token chunk; refuse it rather than buffer without bound. */
const MAX_LINE_CHARS = 1 << 20;
const encoder = new TextEncoder();

export interface GuardOptions {
  /** The first chunk, already read by the caller (it ran the first-byte timeout before committing to a 200). */
  first: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  state: StreamState;
  /** Why a failing read failed: the deadline fired, the client left, or (otherwise) the origin broke the stream. */
  classify: () => StreamEnd;
  /** The client cancelled the body (disconnect): stop the upstream request. */
  onCancel: (reason: unknown) => void;
}

export function guardUpstream(o: GuardOptions): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(o.first);
    },
    async pull(controller) {
      try {
        const { done, value } = await o.reader.read();
        if (done) {
          o.state.end ??= "upstream_closed";
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch {
        o.state.end ??= o.classify();
        controller.close();
      }
    },
    cancel(reason) {
      o.state.end ??= "client_gone";
      o.onCancel(reason);
      return o.reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

export interface MapperOptions {
  upstreamModel: string;
  ourModel: string;
  state: StreamState;
  /**
   * Called once when the client's stream is complete: "done" ([DONE] passed through), "malformed" (a `data:` line was
   * not a JSON object; the caller stops the upstream request), or whatever the guard recorded.
   */
  onFinish: (end: StreamEnd) => void;
}

export function sseModelMapper(o: MapperOptions): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let partial = "";
  let sawDone = false;
  /** An error event already went out: a stream that then just ends needs only [DONE]. */
  let sawError = false;
  let stopped = false;
  let lastLineBlank = true;

  /** Maps one complete line; returns the text to emit (with its newline), or undefined once the stream must stop. */
  const mapLine = (rawLine: string): string | undefined => {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    lastLineBlank = line.length === 0;
    if (line.length === 0) return "\n";
    // Comments keep a slow stream alive; their text is the origin's business, so only the keep-alive goes through.
    if (line.startsWith(":")) return ": ping\n";
    if (/^(event|id|retry):/.test(line)) return `${line}\n`;
    if (line.startsWith("error:")) {
      // llama.cpp's server reports a failure as an `error:` line; the client gets our error event instead.
      sawError = true;
      return `data: ${JSON.stringify(streamErrorBody("upstream_error", "The model server failed while generating."))}\n`;
    }
    if (!line.startsWith("data:")) return ""; // SSE says to ignore unknown fields; they must not reach the client
    const payload = line.slice(line.startsWith("data: ") ? 6 : 5);
    if (payload.trim() === "[DONE]") {
      sawDone = true;
      return "data: [DONE]\n";
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(payload);
    } catch {
      return undefined;
    }
    if (typeof chunk !== "object" || chunk === null || Array.isArray(chunk)) return undefined;
    const c = chunk as Record<string, unknown>;
    if ("error" in c) {
      // The origin's own error text may name its internals; the client learns that generation failed, not why.
      sawError = true;
      return `data: ${JSON.stringify(streamErrorBody("upstream_error", "The model server failed while generating."))}\n`;
    }
    if (typeof c.model === "string") c.model = o.ourModel;
    return `data: ${JSON.stringify(c)}\n`;
  };

  const terminal = (code: "upstream_error" | "upstream_timeout", message: string) =>
    `${lastLineBlank ? "" : "\n"}data: ${JSON.stringify(streamErrorBody(code, message))}\n\ndata: [DONE]\n\n`;

  const malformed = (controller: TransformStreamDefaultController<Uint8Array>, out: string) => {
    stopped = true;
    o.state.end = "malformed";
    o.onFinish("malformed");
    controller.enqueue(encoder.encode(out + terminal("upstream_error", "The model server sent a malformed event.")));
    controller.terminate();
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    transform(bytes, controller) {
      if (stopped) return;
      partial += decoder.decode(bytes, { stream: true });
      const lines = partial.split("\n");
      partial = lines.pop()!;
      let out = "";
      for (const line of lines) {
        const mapped = mapLine(line);
        if (mapped === undefined) return malformed(controller, out);
        out += mapped;
      }
      if (partial.length > MAX_LINE_CHARS) return malformed(controller, out);
      if (out.length > 0) controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      if (stopped) return;
      let out = "";
      partial += decoder.decode();
      if (partial.length > 0) {
        const mapped = mapLine(partial);
        if (mapped === undefined) return malformed(controller, out);
        out += mapped;
      }
      const end: StreamEnd = sawDone ? "done" : (o.state.end ?? "upstream_closed");
      o.state.end = end;
      o.onFinish(end);
      if (end === "timeout") out += terminal("upstream_timeout", "The model server did not finish in time.");
      else if (end !== "done" && end !== "client_gone" && sawError) out += `${lastLineBlank ? "" : "\n"}data: [DONE]\n\n`;
      else if (end !== "done" && end !== "client_gone") {
        out += terminal("upstream_error", "The model server ended the stream before it was complete.");
      }
      if (out.length > 0) controller.enqueue(encoder.encode(out));
    },
  });
}

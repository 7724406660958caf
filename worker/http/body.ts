/**
 * Request bodies: Hono's bodyLimit (it holds when Content-Length is absent or lies) answering our 413 only after the
 * rest of an oversized body was read and dropped, and the JSON read with our 400s.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Env } from "../env.js";
import { HttpError, invalidRequest } from "./errors.js";

/** How much more than the limit an oversized body is read (and dropped) before the connection is given up. */
const DRAIN_FACTOR = 8;

/**
 * Cancelling a body mid-upload makes workerd reset the connection, and the client's next request on its keep-alive
 * connection fails; so the 413 goes out after the client finished sending (up to DRAIN_FACTOR × the limit more). A
 * body declared larger still is cancelled unread: the connection is lost either way. Hono's bodyLimit reads through
 * a stream in front of the body, so the rest stays ours to drain once it refuses.
 */
export function limitBody(maxBytes: (env: Env) => number): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const max = maxBytes(c.env);
    const declared = Number(raw.headers.get("content-length") ?? NaN);
    const source = raw.body.getReader();
    const front = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await source.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => source.cancel(reason),
    }, { highWaterMark: 0 });
    c.req.raw = new Request(raw, { body: front, duplex: "half" } as RequestInit);
    return bodyLimit({
      maxSize: max,
      onError: async () => {
        await discard(source, declared > (DRAIN_FACTOR + 1) * max ? 0 : DRAIN_FACTOR * max);
        throw new HttpError(413, "invalid_request_error", `Request body exceeds ${max} bytes.`, null, "request_too_large");
      },
    })(c, next);
  };
}

/** Reads and drops up to `budget` more bytes; a body longer still is cancelled. */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number): Promise<void> {
  let left = budget;
  try {
    while (left > 0) {
      const { done, value } = await reader.read();
      if (done) return;
      left -= value.byteLength;
    }
  } catch {
    return;
  }
  await reader.cancel().catch(() => undefined);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The body (limited by limitBody) as JSON; invalid UTF-8 or JSON is a 400 `invalid_json`. */
export async function readJson(c: Context): Promise<unknown> {
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength === 0) throw invalidRequest("Request body is empty; expected a JSON object.", null, "invalid_json");
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw invalidRequest("Request body is not valid UTF-8.", null, "invalid_json");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidRequest(`Request body is not valid JSON: ${(e as Error).message}`, null, "invalid_json");
  }
}

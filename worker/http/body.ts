/** Reads a JSON request body with a byte limit that holds even when Content-Length is absent or lies. */
import { HttpError, invalidRequest } from "./errors.js";

/** How much more than MAX_BODY_BYTES an oversized body is read (and dropped) before the connection is given up. */
const DRAIN_FACTOR = 8;

export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  // Far too large: refuse without reading (the connection is lost either way). Otherwise the read below drains it.
  if (Number.isFinite(declared) && declared > (DRAIN_FACTOR + 1) * maxBytes) {
    await req.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  if (!req.body) throw invalidRequest("Request body is empty; expected a JSON object.", null, "invalid_json");
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await discardRest(reader, maxBytes);
      throw tooLarge(maxBytes);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidRequest("Request body is not valid UTF-8.", null, "invalid_json");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidRequest(`Request body is not valid JSON: ${(e as Error).message}`, null, "invalid_json");
  }
}

/**
 * Reads and drops what is left of an oversized body (up to DRAIN_FACTOR × the limit more), so the 413 goes out after
 * the client finished sending and its keep-alive connection stays usable; cancelling mid-upload makes workerd
 * reset the connection, and the client's next request on it fails. A body larger still is cancelled.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  let left = DRAIN_FACTOR * maxBytes;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      left -= value.byteLength;
      if (left < 0) break;
    }
  } catch {
    return;
  }
  await reader.cancel().catch(() => undefined);
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "invalid_request_error", `Request body exceeds ${maxBytes} bytes.`, null, "request_too_large");
}

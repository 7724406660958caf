/** Reads a JSON request body with a byte limit that holds even when Content-Length is absent or lies. */
import { HttpError, invalidRequest } from "./errors.js";

export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!req.body) throw invalidRequest("Request body is empty; expected a JSON object.", null, "invalid_json");
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
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

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "invalid_request_error", `Request body exceeds ${maxBytes} bytes.`, null, "request_too_large");
}

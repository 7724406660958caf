/** Server-Sent Events framing for OpenAI streams: `data: <json>\n\n` … `data: [DONE]\n\n`. */
const encoder = new TextEncoder();

export function sseData(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

export const SSE_DONE = encoder.encode("data: [DONE]\n\n");

/** A keep-alive comment (an origin's own comment text is its business and is not passed on). */
export const SSE_PING = encoder.encode(": ping\n\n");

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
} as const;

/**
 * The request the origin receives: the validated request written back as OpenAI JSON, with `model` replaced by the
 * origin's name for it. Rebuilding (instead of forwarding the client's bytes) means the origin only ever sees fields
 * our validator accepted — the same contract as the edge — and nothing the client smuggled in; tool fields (checked
 * by the validator) and legacy function-calling fields (which only an origin serves) go as the client sent them.
 */
import { SAMPLING_FIELDS, type CompletionRequest } from "../openai/request.js";
import type { OriginConfig } from "./config.js";

export type OriginRoute = "/v1/chat/completions" | "/v1/completions";

export function routeFor(req: CompletionRequest): OriginRoute {
  return req.kind === "chat" ? "/v1/chat/completions" : "/v1/completions";
}

export function upstreamBody(req: CompletionRequest, upstreamModel: string): Record<string, unknown> {
  const body: Record<string, unknown> = { model: upstreamModel };
  if (req.kind === "chat") {
    body.messages = req.messages;
    const rf = req.responseFormat;
    if (rf?.type === "json_object") body.response_format = { type: "json_object" };
    else if (rf?.type === "json_schema") body.response_format = { type: "json_schema", json_schema: { name: rf.name, schema: rf.schema, strict: true } };
  } else body.prompt = req.prompt;
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;

  const s = req.sampling;
  const put = (field: string, value: unknown) => {
    if (value !== undefined) body[field] = value;
  };
  for (const [field, option] of SAMPLING_FIELDS) put(field, s[option]); // repetition_penalty: vLLM's name
  put("repeat_penalty", s.repetitionPenalty); // llama.cpp's name; each server ignores the other's
  put("stop", req.stop);
  put("user", req.user);

  if (req.logprobs !== undefined) {
    // Chat: a flag plus a count; text completions: the count itself (OpenAI's two shapes).
    if (req.kind === "chat") {
      body.logprobs = true;
      body.top_logprobs = req.logprobs;
    } else {
      body.logprobs = req.logprobs;
    }
  }
  if (req.n > 1) body.n = req.n;
  if (req.kind === "chat" && req.tools) Object.assign(body, req.tools.sent);
  if (req.kind === "chat" && req.originOnly) Object.assign(body, req.originOnly.fields);
  body.stream = req.stream;
  if (req.stream && req.includeUsage) body.stream_options = { include_usage: true };
  return body;
}

/** Headers sent upstream: built from scratch so no client header (its Authorization above all) can leak through. */
export function upstreamHeaders(config: OriginConfig, stream: boolean, requestId: string): Headers {
  const h = new Headers({
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    "x-request-id": requestId,
  });
  if (config.apiKey !== undefined) h.set("authorization", `Bearer ${config.apiKey}`);
  return h;
}

/**
 * Hand-written validators for POST /v1/chat/completions and /v1/completions. Every accepted field is mapped onto the
 * library's options; every field we cannot honour is refused with a 400 naming it — never silently ignored.
 */
import { toolSetup } from "../../lib/chat/tools.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import type { ChatMessage, ChatRole, ResponseFormat, SamplingOptions } from "../../lib/types.js";
import { invalidRequest, unsupportedParameter } from "../http/errors.js";
import { isObject, optBoolean, optInteger, optNumber, optString, requiredString, type Json } from "./fields.js";
import type { ChatCompletionRequest, TextCompletionRequest } from "./request.js";

/** Fields both endpoints accept. */
const COMMON_FIELDS = [
  "model", "max_tokens", "temperature", "top_p", "top_k", "min_p", "stop", "seed", "presence_penalty",
  "frequency_penalty", "repetition_penalty", "logit_bias", "logprobs", "n", "stream", "stream_options", "user",
  "cache_prompt",
];
const CHAT_FIELDS = new Set([...COMMON_FIELDS, "messages", "max_completion_tokens", "top_logprobs", "response_format", "tools", "tool_choice", "parallel_tool_calls"]);
const TEXT_FIELDS = new Set([...COMMON_FIELDS, "prompt", "echo", "best_of"]);

/** Known OpenAI/vLLM parameters we do not implement: named explicitly so the error says why. */
const UNSUPPORTED: Record<string, string> = {
  functions: "is not supported on the edge (deprecated): use tools",
  function_call: "is not supported on the edge (deprecated): use tool_choice",
  suffix: "is not supported (no fill-in-the-middle)",
  modalities: "is not supported (text only)",
  audio: "is not supported (text only)",
  prediction: "is not supported",
  reasoning_effort: "is not supported",
  guided_json: "is not supported: use response_format {\"type\":\"json_schema\"}",
  guided_regex: "is not supported: use response_format {\"type\":\"json_schema\"} with a string pattern",
  grammar: "is not supported: use response_format {\"type\":\"json_schema\"}",
};

const MAX_STOP = 4;
const MAX_TOP_LOGPROBS = 20;
const ROLES: readonly ChatRole[] = ["system", "user", "assistant", "tool"];

/** Legacy function calling: the edge refuses it, a GPU origin may serve it (fields forwarded as the client sent them). */
const LEGACY_FUNCTION_FIELDS = ["functions", "function_call"];

export function validateChatRequest(body: unknown): ChatCompletionRequest {
  const b = requireObject(body);
  const originOnly = takeLegacyFunctionFields(b);
  rejectUnknown(b, CHAT_FIELDS);
  const tools = readTools(b);
  const maxTokens = optInteger(b, "max_tokens", 1, Number.MAX_SAFE_INTEGER);
  const maxCompletion = optInteger(b, "max_completion_tokens", 1, Number.MAX_SAFE_INTEGER);
  const wantLogprobs = optBoolean(b, "logprobs") ?? false;
  const top = optInteger(b, "top_logprobs", 0, MAX_TOP_LOGPROBS);
  if (top !== undefined && !wantLogprobs) throw invalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
  return {
    kind: "chat",
    ...common(b),
    ...(originOnly ? { originOnly } : {}),
    ...(tools ? { tools } : {}),
    messages: originOnly ? readToolMessages(b.messages) : readMessages(b.messages),
    maxTokens: maxCompletion ?? maxTokens,
    logprobs: wantLogprobs ? (top ?? 0) : undefined,
    responseFormat: readResponseFormat(b.response_format),
  };
}

const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `{"type":"text"}`, `{"type":"json_object"}` or `{"type":"json_schema","json_schema":{name, schema, strict?,
 * description?}}`. The schema's keywords are checked by the grammar engine (edge) or the origin, not here.
 */
function readResponseFormat(v: unknown): ResponseFormat | undefined {
  if (v === undefined || v === null) return undefined;
  const at = "response_format";
  if (!isObject(v)) throw invalidRequest(`'${at}' must be an object.`, at, "invalid_type");
  for (const key of Object.keys(v)) {
    if (key !== "type" && key !== "json_schema") throw invalidRequest(`Unrecognized field '${at}.${key}'.`, `${at}.${key}`, "unknown_parameter");
  }
  if (v.type === "text" || v.type === "json_object") {
    if (v.json_schema !== undefined) throw invalidRequest(`'${at}.json_schema' is only allowed with type "json_schema".`, `${at}.json_schema`);
    return v.type === "text" ? undefined : { type: "json_object" };
  }
  if (v.type !== "json_schema") {
    throw invalidRequest(`'${at}.type' must be one of text, json_object, json_schema.`, `${at}.type`);
  }
  const js = v.json_schema;
  if (!isObject(js)) throw invalidRequest(`'${at}.json_schema' is required and must be an object.`, `${at}.json_schema`, "invalid_type");
  for (const key of Object.keys(js)) {
    if (!["name", "schema", "strict", "description"].includes(key)) {
      throw invalidRequest(`Unrecognized field '${at}.json_schema.${key}'.`, `${at}.json_schema.${key}`, "unknown_parameter");
    }
  }
  if (typeof js.name !== "string" || !SCHEMA_NAME.test(js.name)) {
    throw invalidRequest(`'${at}.json_schema.name' must be 1-64 letters, digits, underscores or dashes.`, `${at}.json_schema.name`);
  }
  optBoolean(js, "strict");
  optString(js, "description");
  // OpenAI defaults a missing schema to "any JSON"; strict or not, the edge always enforces the schema it gets.
  const schema = js.schema ?? {};
  if (!isObject(schema)) throw invalidRequest(`'${at}.json_schema.schema' must be a JSON Schema object.`, `${at}.json_schema.schema`, "invalid_type");
  return { type: "json_schema", name: js.name, schema };
}

export function validateTextRequest(body: unknown): TextCompletionRequest {
  const b = requireObject(body);
  rejectUnknown(b, TEXT_FIELDS);
  if (optBoolean(b, "echo")) throw unsupportedParameter("echo", "is only supported as false");
  const bestOf = optInteger(b, "best_of", 1, 1_000);
  if (bestOf !== undefined && bestOf !== 1) throw unsupportedParameter("best_of", "must be 1 (one completion per request)");
  const logprobs = optInteger(b, "logprobs", 0, MAX_TOP_LOGPROBS);
  return {
    kind: "text",
    ...common(b),
    prompt: readPrompt(b.prompt),
    maxTokens: optInteger(b, "max_tokens", 1, Number.MAX_SAFE_INTEGER),
    logprobs,
  };
}

/**
 * `tools`, `tool_choice`, `parallel_tool_calls`: checked here (a bad definition is a 400 naming its field) and kept
 * as sent for an origin. The parameters schemas' keywords are checked by the grammar engine on the edge.
 */
function readTools(b: Json): ChatCompletionRequest["tools"] {
  const sent: Record<string, unknown> = {};
  for (const key of ["tools", "tool_choice", "parallel_tool_calls"]) if (b[key] !== undefined && b[key] !== null) sent[key] = b[key];
  if (Object.keys(sent).length === 0) return undefined;
  let setup;
  try {
    setup = toolSetup(sent.tools, sent.tool_choice, sent.parallel_tool_calls);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw invalidRequest(e.message, e.param ?? "tools");
    throw e;
  }
  return { setup, sent };
}

/**
 * Removes the legacy function-calling fields from `b` and returns them with the refusal the edge gives them;
 * undefined when the request has none. Their shape is checked only as far as JSON goes: the origin validates them.
 */
function takeLegacyFunctionFields(b: Json): ChatCompletionRequest["originOnly"] {
  const fields: Record<string, unknown> = {};
  for (const key of LEGACY_FUNCTION_FIELDS) {
    if (!(key in b)) continue;
    fields[key] = b[key];
    delete b[key];
  }
  const first = Object.keys(fields)[0];
  if (first === undefined) return undefined;
  return { fields, refusal: unsupportedParameter(first, UNSUPPORTED[first]) };
}

/**
 * Messages of a tool-calling conversation (assistant `tool_calls`, `tool` results): forwarded as sent, after the
 * checks every message gets (an object with a known role).
 */
function readToolMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw invalidRequest("'messages' must be a non-empty array.", "messages", "invalid_type");
  return v.map((m, i) => {
    const role = isObject(m) && m.role === "developer" ? "system" : isObject(m) ? m.role : undefined;
    if (typeof role !== "string" || !ROLES.includes(role as ChatRole)) {
      throw invalidRequest(`'messages[${i}].role' must be one of ${[...ROLES, "developer"].join(", ")}.`, `messages[${i}].role`);
    }
    return m as unknown as ChatMessage;
  });
}

function requireObject(body: unknown): Json {
  if (!isObject(body)) throw invalidRequest("Request body must be a JSON object.", null, "invalid_type");
  return body;
}

function rejectUnknown(b: Json, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(b)) {
    if (allowed.has(key)) continue;
    const why = UNSUPPORTED[key];
    if (why !== undefined) throw unsupportedParameter(key, why);
    throw invalidRequest(`Unrecognized request argument supplied: ${key}`, key, "unknown_parameter");
  }
}

/** The fields both endpoints share (max tokens and logprobs differ in shape and are read by each endpoint). */
function common(b: Json) {
  const model = requiredString(b, "model");
  const stream = optBoolean(b, "stream") ?? false;
  return {
    model,
    // The backend checks n against its own maximum (MAX_N on the edge).
    n: optInteger(b, "n", 1, 128) ?? 1,
    // llama.cpp server's switch for prompt (KV) prefix reuse.
    cachePrompt: optBoolean(b, "cache_prompt") ?? true,
    sampling: readSampling(b),
    stop: readStop(b.stop),
    stream,
    includeUsage: readStreamOptions(b.stream_options, stream),
    user: optString(b, "user"),
  };
}

function readSampling(b: Json): SamplingOptions {
  const s: SamplingOptions = {};
  const set = <K extends keyof SamplingOptions>(k: K, v: SamplingOptions[K] | undefined) => {
    if (v !== undefined) s[k] = v;
  };
  set("temperature", optNumber(b, "temperature", 0, 2));
  set("topP", optNumber(b, "top_p", 0, 1));
  // -1 and 0 both mean "no top-k" (vLLM uses -1, llama.cpp 0).
  const topK = optInteger(b, "top_k", -1, 1_000_000);
  if (topK !== undefined && topK > 0) s.topK = topK;
  set("minP", optNumber(b, "min_p", 0, 1));
  set("presencePenalty", optNumber(b, "presence_penalty", -2, 2));
  set("frequencyPenalty", optNumber(b, "frequency_penalty", -2, 2));
  const rep = optNumber(b, "repetition_penalty", 0, 10);
  if (rep === 0) throw invalidRequest("'repetition_penalty' must be greater than 0 (1 = off).", "repetition_penalty");
  set("repetitionPenalty", rep);
  set("seed", optInteger(b, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  set("logitBias", readLogitBias(b.logit_bias));
  return s;
}

function readStop(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) {
    throw invalidRequest("'stop' must be a string or an array of strings.", "stop", "invalid_type");
  }
  if (list.length > MAX_STOP) throw invalidRequest(`'stop' accepts at most ${MAX_STOP} sequences.`, "stop");
  if (list.some((s) => s.length === 0)) throw invalidRequest("'stop' sequences must not be empty.", "stop");
  return list.length > 0 ? (list as string[]) : undefined;
}

function readStreamOptions(v: unknown, stream: boolean): boolean {
  if (v === undefined || v === null) return false;
  if (!stream) throw invalidRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options");
  if (!isObject(v)) throw invalidRequest("'stream_options' must be an object.", "stream_options", "invalid_type");
  for (const key of Object.keys(v)) {
    if (key !== "include_usage") throw unsupportedParameter(`stream_options.${key}`);
  }
  const inc = v.include_usage;
  if (inc === undefined || inc === null) return false;
  if (typeof inc !== "boolean") throw invalidRequest("'stream_options.include_usage' must be a boolean.", "stream_options.include_usage", "invalid_type");
  return inc;
}

/** `{"<token id>": bias}`; ids are checked against the vocabulary once the model is known. */
function readLogitBias(v: unknown): Record<number, number> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidRequest("'logit_bias' must be an object mapping token ids to biases.", "logit_bias", "invalid_type");
  const out: Record<number, number> = {};
  for (const [key, bias] of Object.entries(v)) {
    if (!/^\d+$/.test(key)) throw invalidRequest(`'logit_bias' key "${key}" is not a token id.`, "logit_bias");
    if (typeof bias !== "number" || !Number.isFinite(bias) || bias < -100 || bias > 100) {
      throw invalidRequest(`'logit_bias' value for token ${key} must be a number between -100 and 100.`, "logit_bias");
    }
    out[Number(key)] = bias;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function readMessages(v: unknown): ChatMessage[] {
  if (v === undefined || v === null) throw invalidRequest("'messages' is required.", "messages", "missing_required_parameter");
  if (!Array.isArray(v) || v.length === 0) throw invalidRequest("'messages' must be a non-empty array.", "messages", "invalid_type");
  return v.map((m, i) => readMessage(m, `messages[${i}]`));
}

function readMessage(m: unknown, at: string): ChatMessage {
  if (!isObject(m)) throw invalidRequest(`'${at}' must be an object.`, at, "invalid_type");
  for (const key of Object.keys(m)) {
    if (key === "function_call" || key === "audio") throw unsupportedParameter(`${at}.${key}`);
    if (key !== "role" && key !== "content" && key !== "name" && key !== "tool_call_id" && key !== "tool_calls") {
      throw invalidRequest(`Unrecognized field '${at}.${key}'.`, `${at}.${key}`, "unknown_parameter");
    }
  }
  const role = m.role === "developer" ? "system" : m.role; // OpenAI's newer name for the system role
  if (typeof role !== "string" || !ROLES.includes(role as ChatRole)) {
    throw invalidRequest(`'${at}.role' must be one of ${[...ROLES, "developer"].join(", ")}.`, `${at}.role`);
  }
  const msg: ChatMessage = { role: role as ChatRole, content: readContent(m.content, `${at}.content`, role === "assistant") };
  if (m.name !== undefined && m.name !== null) {
    if (typeof m.name !== "string") throw invalidRequest(`'${at}.name' must be a string.`, `${at}.name`, "invalid_type");
    msg.name = m.name;
  }
  if (m.tool_calls !== undefined && m.tool_calls !== null) {
    if (role !== "assistant") throw invalidRequest(`'${at}.tool_calls' is only allowed on assistant messages.`, `${at}.tool_calls`);
    msg.tool_calls = readToolCalls(m.tool_calls, `${at}.tool_calls`);
    if (m.content === null || m.content === undefined) msg.content = null;
  }
  if (role === "tool") {
    if (typeof m.tool_call_id !== "string" || m.tool_call_id === "") {
      throw invalidRequest(`'${at}.tool_call_id' is required on tool messages (the id of the call this answers).`, `${at}.tool_call_id`);
    }
    msg.tool_call_id = m.tool_call_id;
  } else if (m.tool_call_id !== undefined && m.tool_call_id !== null) {
    throw invalidRequest(`'${at}.tool_call_id' is only allowed on tool messages.`, `${at}.tool_call_id`);
  }
  return msg;
}

/** An earlier answer's calls: `[{id, type: "function", function: {name, arguments}}]`, arguments as JSON text. */
function readToolCalls(v: unknown, at: string): NonNullable<ChatMessage["tool_calls"]> {
  if (!Array.isArray(v)) throw invalidRequest(`'${at}' must be an array.`, at, "invalid_type");
  return v.map((c, i) => {
    const here = `${at}[${i}]`;
    if (!isObject(c)) throw invalidRequest(`'${here}' must be an object.`, here, "invalid_type");
    if (typeof c.id !== "string") throw invalidRequest(`'${here}.id' must be a string.`, `${here}.id`, "invalid_type");
    if (c.type !== "function") throw invalidRequest(`'${here}.type' must be "function".`, `${here}.type`);
    const f = c.function;
    if (!isObject(f) || typeof f.name !== "string" || typeof f.arguments !== "string") {
      throw invalidRequest(`'${here}.function' must be {name, arguments} with arguments as a JSON string.`, `${here}.function`, "invalid_type");
    }
    return { id: c.id, type: "function" as const, function: { name: f.name, arguments: f.arguments } };
  });
}

function readContent(v: unknown, at: string, nullable: boolean): ChatMessage["content"] {
  if (typeof v === "string") return v;
  if ((v === null || v === undefined) && nullable) return "";
  if (!Array.isArray(v)) throw invalidRequest(`'${at}' must be a string or an array of text parts.`, at, "invalid_type");
  return v.map((part, i) => {
    if (!isObject(part) || typeof part.type !== "string") throw invalidRequest(`'${at}[${i}]' must be a content part object.`, `${at}[${i}]`);
    if (part.type !== "text") throw unsupportedParameter(`${at}[${i}].type`, `"${part.type}" is not supported (text only)`);
    if (typeof part.text !== "string") throw invalidRequest(`'${at}[${i}].text' must be a string.`, `${at}[${i}].text`, "invalid_type");
    return { type: "text" as const, text: part.text };
  });
}

function readPrompt(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) throw invalidRequest("'prompt' is required.", "prompt", "missing_required_parameter");
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") return v[0];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
    throw unsupportedParameter("prompt", "must be a single string (batched prompts are not supported)");
  }
  throw invalidRequest("'prompt' must be a string (token-id prompts are not supported).", "prompt", "invalid_type");
}

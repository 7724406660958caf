/**
 * POST /v1/chat/completions and /v1/completions: the request schemas (valibot; fields.ts maps the first issue to a
 * 400 naming the field) and the mapping of a parsed body to a CompletionRequest. Every accepted field is mapped onto
 * the library's options; every field we cannot honour is refused with a 400 naming it — never silently ignored.
 * Wire shape and OpenAI's ranges are checked here, once; what needs the model (token ids against its vocabulary,
 * schema keywords against the grammar engine) is checked where the model is known.
 */
import * as v from "valibot";
import { toolSetup } from "../../lib/chat/tools.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { MAX_TOP_LOGPROBS } from "../../lib/sampling/params.js";
import type { ChatMessage, ChatRole, ResponseFormat, SamplingOptions } from "../../lib/types.js";
import { invalidRequest, unsupportedParameter } from "../http/errors.js";
import { bool, checkAs, integer, isObject, number, object, optional, parseOr400, refused, requiredString, str, type Json } from "./fields.js";
import { SAMPLING_FIELDS, type ChatCompletionRequest, type TextCompletionRequest } from "./request.js";

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
const unsupportedFields = Object.fromEntries(Object.entries(UNSUPPORTED).map(([k, why]) => [k, v.optional(refused(why))]));

const MAX_STOP = 4;
const ROLES: readonly ChatRole[] = ["system", "user", "assistant", "tool"];
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SAFE = Number.MAX_SAFE_INTEGER;

/** Legacy function calling: the edge refuses it, a GPU origin may serve it (fields forwarded as the client sent them). */
const LEGACY_FUNCTION_FIELDS = ["functions", "function_call"];

const stop = v.pipe(
  v.custom<string | string[]>(
    (x) => typeof x === "string" || (Array.isArray(x) && x.every((s) => typeof s === "string")),
    "must be a string or an array of strings.",
  ),
  v.transform((x) => (typeof x === "string" ? [x] : x)),
  v.maxLength(MAX_STOP, `accepts at most ${MAX_STOP} sequences.`),
  v.check((list) => list.every((s) => s.length > 0), "sequences must not be empty."),
  v.transform((list) => (list.length > 0 ? list : undefined)),
);

/** `{"<token id>": bias}`; the ids are checked against the vocabulary by the library once the model is known. */
const logitBias = v.pipe(
  object("must be an object mapping token ids to biases."),
  v.rawCheck<Json>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [key, bias] of Object.entries(dataset.value)) {
      if (!/^\d+$/.test(key)) return addIssue({ message: `key "${key}" is not a token id.` });
      if (typeof bias !== "number" || !Number.isFinite(bias) || bias < -100 || bias > 100) {
        return addIssue({ message: `value for token ${key} must be a number between -100 and 100.` });
      }
    }
  }),
  v.transform((map) => (Object.keys(map).length > 0 ? (map as Record<number, number>) : undefined)),
);

const streamOptions = v.objectWithRest(
  { include_usage: optional(v.boolean("must be a boolean.")) },
  refused("is not supported by this server"),
  "must be an object.",
);

/** The fields both endpoints accept (max tokens and logprobs differ in shape and are read per endpoint). */
const commonFields = {
  model: requiredString(),
  max_tokens: optional(integer(1, SAFE)),
  temperature: optional(number(0, 2)),
  top_p: optional(number(0, 1)),
  top_k: optional(integer(-1, 1_000_000)),
  min_p: optional(number(0, 1)),
  presence_penalty: optional(number(-2, 2)),
  frequency_penalty: optional(number(-2, 2)),
  repetition_penalty: optional(v.pipe(number(0, 10), v.check((r) => r > 0, "must be greater than 0 (1 = off)."))),
  seed: optional(integer(-SAFE, SAFE)),
  stop: optional(stop),
  logit_bias: optional(logitBias),
  // The backend checks n against its own maximum (MAX_N on the edge).
  n: optional(integer(1, 128)),
  stream: optional(bool()),
  stream_options: optional(streamOptions),
  user: optional(str()),
  // llama.cpp server's switch for prompt (KV) prefix reuse.
  cache_prompt: optional(bool()),
  ...unsupportedFields,
};

/** A role, OpenAI's newer "developer" read as "system". */
const role = v.pipe(
  v.unknown(),
  checkAs("invalid_value", (r) => r === "developer" || ROLES.includes(r as ChatRole), `must be one of ${[...ROLES, "developer"].join(", ")}.`),
  v.transform((r) => (r === "developer" ? "system" : r) as ChatRole),
);

const textPart = v.object(
  {
    type: v.pipe(
      v.string("must be a content part object."),
      checkAs("unsupported_parameter", (t: string) => t === "text", (t) => `"${t}" is not supported (text only)`),
      v.transform(() => "text" as const),
    ),
    text: v.string("must be a string."),
  },
  "must be a content part object.",
);

const content = v.lazy((x) =>
  typeof x === "string" ? v.string() : x === null || x === undefined ? v.nullish(v.string()) : v.array(textPart, "must be a string or an array of text parts."),
);

/** An earlier answer's calls: `[{id, type: "function", function: {name, arguments}}]`, arguments as JSON text. */
const toolCalls = v.array(
  v.object(
    {
      id: v.string("must be a string."),
      type: v.pipe(v.unknown(), checkAs("invalid_value", (t) => t === "function", 'must be "function".')),
      function: v.pipe(
        object("must be {name, arguments} with arguments as a JSON string."),
        checkAs("invalid_type", (f) => typeof f.name === "string" && typeof f.arguments === "string", "must be {name, arguments} with arguments as a JSON string."),
        v.transform((f) => ({ name: f.name as string, arguments: f.arguments as string })),
      ),
    },
    "must be an object.",
  ),
  "must be an array.",
);

const message = v.pipe(
  v.strictObject(
    {
      role,
      content: v.optional(content),
      name: optional(str()),
      tool_calls: optional(toolCalls),
      tool_call_id: optional(str()),
      function_call: v.optional(refused("is not supported by this server")),
      audio: v.optional(refused("is not supported by this server")),
    },
    "must be an object.",
  ),
  v.forward(
    v.rawCheck(({ dataset, addIssue }) => {
      if (dataset.typed && dataset.value.role !== "assistant" && (dataset.value.content === null || dataset.value.content === undefined)) {
        addIssue({ expected: "invalid_type", message: "must be a string or an array of text parts." });
      }
    }),
    ["content"],
  ),
  v.forward(v.check((m) => m.tool_calls === undefined || m.role === "assistant", "is only allowed on assistant messages."), ["tool_calls"]),
  v.forward(v.check((m) => m.role !== "tool" || (m.tool_call_id !== undefined && m.tool_call_id !== ""), "is required on tool messages (the id of the call this answers)."), ["tool_call_id"]),
  v.forward(v.check((m) => m.role === "tool" || m.tool_call_id === undefined, "is only allowed on tool messages."), ["tool_call_id"]),
  v.transform((m): ChatMessage => {
    const msg: ChatMessage = { role: m.role, content: m.content ?? (m.tool_calls ? null : "") };
    if (m.name !== undefined) msg.name = m.name;
    if (m.tool_calls !== undefined) msg.tool_calls = m.tool_calls.map((c) => ({ id: c.id, type: "function" as const, function: c.function }));
    if (m.tool_call_id !== undefined) msg.tool_call_id = m.tool_call_id;
    return msg;
  }),
);

const messageList = <S extends v.GenericSchema>(item: S) =>
  v.pipe(v.array(item, (issue) => (issue.input === undefined || issue.input === null ? "is required." : "must be a non-empty array.")),
    checkAs("invalid_type", (list: v.InferOutput<S>[]) => list.length > 0, "must be a non-empty array."));

/**
 * Messages of a legacy function-calling conversation, forwarded to an origin as sent after the checks every message
 * gets (an object with a known role).
 */
const forwardedMessage = v.pipe(v.looseObject({ role }, "must be an object."), v.transform((m) => m as unknown as ChatMessage));

/**
 * `{"type":"text"}`, `{"type":"json_object"}` or `{"type":"json_schema","json_schema":{name, schema, strict?,
 * description?}}`. The schema's keywords are checked by the grammar engine (edge) or the origin, not here.
 */
const responseFormat = v.pipe(
  object(),
  v.strictObject({
    type: v.pipe(v.unknown(), checkAs("invalid_value", (t) => t === "text" || t === "json_object" || t === "json_schema", "must be one of text, json_object, json_schema.")),
    json_schema: v.optional(v.strictObject(
      {
        name: v.pipe(v.unknown(), checkAs("invalid_value", (n) => typeof n === "string" && SCHEMA_NAME.test(n), "must be 1-64 letters, digits, underscores or dashes.")),
        // OpenAI defaults a missing schema to "any JSON"; strict or not, the edge always enforces the schema it gets.
        schema: optional(object("must be a JSON Schema object.")),
        strict: optional(bool()),
        description: optional(str()),
      },
      "is required and must be an object.",
    )),
  }),
  v.forward(v.check((f) => f.type === "json_schema" || f.json_schema === undefined, 'is only allowed with type "json_schema".'), ["json_schema"]),
  v.forward(
    v.rawCheck(({ dataset, addIssue }) => {
      if (dataset.typed && dataset.value.type === "json_schema" && dataset.value.json_schema === undefined) {
        addIssue({ expected: "invalid_type", message: "is required and must be an object." });
      }
    }),
    ["json_schema"],
  ),
  v.transform((f): ResponseFormat | undefined =>
    f.type === "json_object" ? { type: "json_object" }
    : f.type === "json_schema" ? { type: "json_schema", name: f.json_schema!.name as string, schema: f.json_schema!.schema ?? {} }
    : undefined),
);

const chatFields = {
  ...commonFields,
  max_completion_tokens: optional(integer(1, SAFE)),
  logprobs: optional(bool()),
  top_logprobs: optional(integer(0, MAX_TOP_LOGPROBS)),
  response_format: optional(responseFormat),
  // Checked by the library's toolSetup (the rule it applies to its own callers), below.
  tools: v.optional(v.unknown()),
  tool_choice: v.optional(v.unknown()),
  parallel_tool_calls: v.optional(v.unknown()),
};

const bodyObject = object("Request body must be a JSON object.");
const STREAM_OPTIONS_NEED_STREAM = "is only allowed when 'stream' is true.";

const chatSchema = <S extends v.GenericSchema<unknown, ChatMessage>>(messages: S) =>
  v.pipe(
    bodyObject,
    v.strictObject({ ...chatFields, messages: messageList(messages) }),
    v.forward(v.check((b) => b.stream_options === undefined || b.stream === true, STREAM_OPTIONS_NEED_STREAM), ["stream_options"]),
    v.forward(v.check((b) => b.top_logprobs === undefined || b.logprobs === true, "requires 'logprobs' to be true."), ["top_logprobs"]),
  );
const strictChat = chatSchema(message);
const forwardedChat = chatSchema(forwardedMessage);

const textSchema = v.pipe(
  bodyObject,
  v.strictObject({
    ...commonFields,
    prompt: v.pipe(
      v.unknown(),
      checkAs("missing_required_parameter", (p) => p !== undefined && p !== null, "is required."),
      checkAs("unsupported_parameter", (p) => !(Array.isArray(p) && p.length !== 1 && p.every((x) => typeof x === "string")), "must be a single string (batched prompts are not supported)"),
      checkAs("invalid_type", (p) => typeof p === "string" || (Array.isArray(p) && typeof p[0] === "string"), "must be a string (token-id prompts are not supported)."),
      v.transform((p) => (typeof p === "string" ? p : (p as string[])[0]!)),
    ),
    logprobs: optional(integer(0, MAX_TOP_LOGPROBS)),
    echo: optional(v.pipe(bool(), checkAs("unsupported_parameter", (e: boolean) => !e, "is only supported as false"))),
    best_of: optional(v.pipe(integer(1, 1_000), checkAs("unsupported_parameter", (n: number) => n === 1, "must be 1 (one completion per request)"))),
  }),
  v.forward(v.check((b) => b.stream_options === undefined || b.stream === true, STREAM_OPTIONS_NEED_STREAM), ["stream_options"]),
);

type CommonOutput = v.InferOutput<v.StrictObjectSchema<typeof commonFields, undefined>>;

export function validateChatRequest(body: unknown): ChatCompletionRequest {
  const originOnly = isObject(body) ? takeLegacyFunctionFields(body) : undefined;
  const b = parseOr400(originOnly ? forwardedChat : strictChat, body);
  const tools = readTools(b);
  return {
    kind: "chat",
    ...common(b),
    ...(originOnly ? { originOnly } : {}),
    ...(tools ? { tools } : {}),
    messages: b.messages,
    maxTokens: b.max_completion_tokens ?? b.max_tokens,
    logprobs: b.logprobs ? (b.top_logprobs ?? 0) : undefined,
    responseFormat: b.response_format,
  };
}

export function validateTextRequest(body: unknown): TextCompletionRequest {
  const b = parseOr400(textSchema, body);
  return { kind: "text", ...common(b), prompt: b.prompt, maxTokens: b.max_tokens, logprobs: b.logprobs };
}

function common(b: CommonOutput) {
  const stream = b.stream ?? false;
  return {
    model: b.model,
    n: b.n ?? 1,
    cachePrompt: b.cache_prompt ?? true,
    sampling: sampling(b),
    stop: b.stop,
    stream,
    includeUsage: b.stream_options?.include_usage ?? false,
    user: b.user,
  };
}

function sampling(b: CommonOutput): SamplingOptions {
  const s: Record<string, unknown> = {};
  for (const [field, option] of SAMPLING_FIELDS) if (b[field] !== undefined) s[option] = b[field];
  // -1 and 0 both mean "no top-k" (vLLM uses -1, llama.cpp 0).
  if (b.top_k !== undefined && b.top_k <= 0) delete s.topK;
  return s as SamplingOptions;
}

/**
 * `tools`, `tool_choice`, `parallel_tool_calls`: checked by the library (a bad definition is a 400 naming its field)
 * and kept as sent for an origin. The parameters schemas' keywords are checked by the grammar engine on the edge.
 */
function readTools(b: { tools?: unknown; tool_choice?: unknown; parallel_tool_calls?: unknown }): ChatCompletionRequest["tools"] {
  const sent: Record<string, unknown> = {};
  for (const key of ["tools", "tool_choice", "parallel_tool_calls"] as const) if (b[key] !== undefined && b[key] !== null) sent[key] = b[key];
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

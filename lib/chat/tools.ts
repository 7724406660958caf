/**
 * Tool calling, prompt side: OpenAI tool definitions and `tool_choice` checked into one `ToolSetup`, and the chat
 * rendered with them. A template that knows `tools` (Qwen2.5/3, Hermes, Llama 3.1 …: its source uses the variable)
 * gets them as Hugging Face's apply_chat_template passes them; any other template (SmolLM2's, ChatML) gets the
 * generic Hermes-style prompt below, and earlier calls and results rewritten as the text that prompt describes.
 * Either way the model calls a tool by writing `<tool_call>{"name":…,"arguments":…}</tool_call>` (Hermes / Qwen's
 * format), which the grammar (lib/grammar/tools.ts) enforces.
 */
import { InvalidArgumentError } from "../errors.js";
import type { ChatMessageInput } from "./messages.js";

export interface ToolFunction {
  /** 1–64 letters, digits, underscores or dashes (OpenAI's rule). */
  name: string;
  description?: string;
  /** JSON Schema of the arguments object; absent = no arguments. */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

export interface ToolDefinition {
  type: "function";
  function: ToolFunction;
}

/** `none`: answer in text; `auto`: text or calls, the model decides; `required`: at least one call; or one named tool. */
export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

/** A call the model made, as OpenAI returns it (`arguments` is JSON text). */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** The tools a generation may call, checked. */
export interface ToolSetup {
  tools: ToolDefinition[];
  /** "auto": text or calls; "required": calls only (from `callable`). */
  mode: "auto" | "required";
  /** The tools a call may name (one, for a named tool_choice). */
  callable: ToolDefinition[];
  /** More than one call per answer (OpenAI's parallel_tool_calls, default true). */
  parallel: boolean;
}

export const TOOL_CALL_OPEN = "<tool_call>";
export const TOOL_CALL_CLOSE = "</tool_call>";
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const NO_ARGUMENTS = { type: "object", properties: {}, additionalProperties: false };

function fail(message: string, param: string): never {
  throw new InvalidArgumentError(message, param);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks tools / toolChoice / parallelToolCalls; undefined when no tool may be called (none given, or "none"). */
export function toolSetup(tools: unknown, toolChoice: unknown, parallelToolCalls: unknown): ToolSetup | undefined {
  if (parallelToolCalls !== undefined && typeof parallelToolCalls !== "boolean") fail("parallel_tool_calls must be a boolean", "parallel_tool_calls");
  if (tools === undefined || tools === null) {
    if (toolChoice !== undefined && toolChoice !== null && toolChoice !== "none") fail("tool_choice needs tools", "tool_choice");
    return undefined;
  }
  if (!Array.isArray(tools)) fail("tools must be an array of function definitions", "tools");
  if (tools.length === 0) fail("tools must not be empty (omit it instead)", "tools");
  if (tools.length > 128) fail("tools accepts at most 128 functions", "tools");
  const defs = tools.map(readTool);
  const seen = new Set<string>();
  defs.forEach((d, i) => {
    if (seen.has(d.function.name)) fail(`tools[${i}].function.name "${d.function.name}" is defined twice`, `tools[${i}].function.name`);
    seen.add(d.function.name);
  });
  const choice = toolChoice ?? "auto";
  const parallel = parallelToolCalls !== false;
  if (choice === "none") return undefined;
  if (choice === "auto" || choice === "required") return { tools: defs, mode: choice, callable: defs, parallel };
  if (!isObject(choice) || choice.type !== "function" || !isObject(choice.function) || typeof choice.function.name !== "string") {
    fail('tool_choice must be "none", "auto", "required" or {"type":"function","function":{"name":…}}', "tool_choice");
  }
  const named = defs.find((d) => d.function.name === (choice.function as { name: string }).name);
  if (!named) fail(`tool_choice names "${choice.function.name}", which is not in tools`, "tool_choice.function.name");
  return { tools: defs, mode: "required", callable: [named], parallel: false };
}

function readTool(t: unknown, i: number): ToolDefinition {
  const at = `tools[${i}]`;
  if (!isObject(t)) fail(`${at} must be an object`, at);
  if (t.type !== "function") fail(`${at}.type must be "function"`, `${at}.type`);
  const f = t.function;
  if (!isObject(f)) fail(`${at}.function must be an object`, `${at}.function`);
  for (const key of Object.keys(f)) {
    if (!["name", "description", "parameters", "strict"].includes(key)) fail(`${at}.function.${key} is not a known field`, `${at}.function.${key}`);
  }
  if (typeof f.name !== "string" || !NAME.test(f.name)) fail(`${at}.function.name must be 1-64 letters, digits, underscores or dashes`, `${at}.function.name`);
  if (f.description !== undefined && typeof f.description !== "string") fail(`${at}.function.description must be a string`, `${at}.function.description`);
  if (f.parameters !== undefined && !isObject(f.parameters)) fail(`${at}.function.parameters must be a JSON Schema object`, `${at}.function.parameters`);
  if (f.strict !== undefined && f.strict !== null && typeof f.strict !== "boolean") fail(`${at}.function.strict must be a boolean`, `${at}.function.strict`);
  const fn: ToolFunction = { name: f.name };
  if (f.description !== undefined) fn.description = f.description;
  if (f.parameters !== undefined) fn.parameters = f.parameters;
  if (typeof f.strict === "boolean") fn.strict = f.strict;
  return { type: "function", function: fn };
}

/** The JSON Schema a call's arguments must match (no parameters: an empty object). */
export function argumentsSchema(tool: ToolDefinition): Record<string, unknown> {
  return tool.function.parameters ?? NO_ARGUMENTS;
}

/** Does this Jinja template render tool definitions itself? (As transformers decides: it reads `tools`.) */
export function templateKnowsTools(source: string): boolean {
  return /\btools\b/.test(source);
}

/**
 * The generic tool prompt (Hermes / Qwen2.5's wording), for templates without tools: it goes at the end of the
 * system message (one is added when the chat has none).
 */
export function genericToolPrompt(setup: ToolSetup): string {
  const lines = setup.tools.map((t) => JSON.stringify(t));
  const how =
    setup.mode === "required"
      ? setup.callable.length === 1
        ? `You must call the function "${setup.callable[0]!.function.name}".`
        : "You must call one or more of these functions."
      : "You may call one or more functions to assist with the user query.";
  return (
    "# Tools\n\n" + how + "\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" + lines.join("\n") +
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
  );
}

/** How one call is written in the transcript (what the model is asked to write, and what the grammar allows). */
export function callText(name: string, args: string): string {
  return `${TOOL_CALL_OPEN}\n{"name":${JSON.stringify(name)},"arguments":${args}}\n${TOOL_CALL_CLOSE}`;
}

function argumentsText(args: unknown): string {
  if (typeof args === "string") return args;
  return JSON.stringify(args ?? {});
}

/**
 * The chat for a template without tools: the generic tool prompt in the system message, earlier assistant calls
 * as the `<tool_call>` text they were, and tool results as user turns in `<tool_response>` tags (consecutive
 * results in one turn, as Qwen's template does). `setup` undefined: only the history is rewritten.
 */
export function genericToolChat(messages: readonly ChatMessageInput[], setup: ToolSetup | undefined): ChatMessageInput[] {
  const out: ChatMessageInput[] = [];
  for (const m of messages) {
    if (m?.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      const calls = m.tool_calls.map((c) => callText(c.function?.name ?? "", argumentsText(c.function?.arguments)));
      const content = typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join("");
      out.push({ role: "assistant", content: [content, ...calls].filter((s) => s !== "").join("\n") });
    } else if (m?.role === "tool") {
      const content = typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join("");
      const response = `<tool_response>\n${content}\n</tool_response>`;
      const prev = out.at(-1);
      if (prev?.role === "user" && typeof prev.content === "string" && prev.content.endsWith("</tool_response>")) prev.content += "\n" + response;
      else out.push({ role: "user", content: response });
    } else out.push(m);
  }
  if (!setup) return out;
  const prompt = genericToolPrompt(setup);
  const first = out[0];
  if (first?.role === "system") {
    const text = typeof first.content === "string" ? first.content : (first.content ?? []).map((p) => p.text).join("");
    out[0] = { ...first, content: text === "" ? prompt : `${text}\n\n${prompt}` };
  } else out.unshift({ role: "system", content: prompt });
  return out;
}

/** A fresh call id (`call_` + 24 hex digits, OpenAI's look). */
export function toolCallId(): string {
  return "call_" + crypto.randomUUID().replace(/-/g, "").slice(0, 24);
}

/**
 * Chat messages as the OpenAI API sends them, validated and normalized for templates: content arrays of text parts
 * are joined into one string (templates call string methods on `content`), null assistant content becomes "".
 */
import { InvalidArgumentError } from "../errors.js";

export type ChatRole = "system" | "user" | "assistant" | "tool";
export const CHAT_ROLES: readonly ChatRole[] = ["system", "user", "assistant", "tool"];

export interface ChatTextPart {
  type: "text";
  text: string;
}

export interface ChatToolCall {
  id?: string;
  type?: "function";
  function: { name: string; arguments: string | Record<string, unknown> };
}

/** What callers pass in. */
export interface ChatMessageInput {
  role: ChatRole;
  content: string | ChatTextPart[] | null;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  /** Qwen3-style separate reasoning text of an earlier assistant turn. */
  reasoning_content?: string;
}

/** What templates see. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  reasoning_content?: string;
}

function fail(message: string, param: string): never {
  throw new InvalidArgumentError(message, param);
}

function normalizeContent(content: unknown, i: number, role: ChatRole, hasToolCalls: boolean): string {
  const param = `messages[${i}].content`;
  if (typeof content === "string") return content;
  if (content === null || content === undefined) {
    if (role === "assistant" && hasToolCalls) return "";
    return fail(`${param} is required for a ${role} message`, param);
  }
  if (!Array.isArray(content)) return fail(`${param} must be a string or an array of text parts`, param);
  let text = "";
  content.forEach((part: unknown, j) => {
    const p = part as { type?: unknown; text?: unknown } | null;
    if (typeof p !== "object" || p === null) fail(`${param}[${j}] must be an object`, `${param}[${j}]`);
    if (p.type !== "text") fail(`${param}[${j}].type "${String(p.type)}" is not supported (only "text" parts)`, `${param}[${j}].type`);
    if (typeof p.text !== "string") fail(`${param}[${j}].text must be a string`, `${param}[${j}].text`);
    text += p.text;
  });
  return text;
}

/** Validates `messages` and returns the normalized copies templates render. */
export function normalizeMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages)) fail("messages must be an array", "messages");
  if (messages.length === 0) fail("messages must hold at least one message", "messages");
  return messages.map((raw: unknown, i): ChatMessage => {
    const m = raw as Partial<ChatMessageInput> | null;
    if (typeof m !== "object" || m === null || Array.isArray(m)) fail(`messages[${i}] must be an object`, `messages[${i}]`);
    if (!CHAT_ROLES.includes(m.role as ChatRole)) {
      fail(`messages[${i}].role "${String(m.role)}" is not one of ${CHAT_ROLES.join(", ")}`, `messages[${i}].role`);
    }
    const role = m.role as ChatRole;
    if (m.tool_calls !== undefined && (!Array.isArray(m.tool_calls) || role !== "assistant")) {
      fail(`messages[${i}].tool_calls must be an array on an assistant message`, `messages[${i}].tool_calls`);
    }
    const out: ChatMessage = { role, content: normalizeContent(m.content, i, role, (m.tool_calls?.length ?? 0) > 0) };
    if (m.name !== undefined) {
      if (typeof m.name !== "string") fail(`messages[${i}].name must be a string`, `messages[${i}].name`);
      out.name = m.name;
    }
    if (m.tool_calls !== undefined) out.tool_calls = m.tool_calls;
    if (m.tool_call_id !== undefined) {
      if (typeof m.tool_call_id !== "string") fail(`messages[${i}].tool_call_id must be a string`, `messages[${i}].tool_call_id`);
      out.tool_call_id = m.tool_call_id;
    }
    if (m.reasoning_content !== undefined) {
      if (typeof m.reasoning_content !== "string") fail(`messages[${i}].reasoning_content must be a string`, `messages[${i}].reasoning_content`);
      out.reasoning_content = m.reasoning_content;
    }
    return out;
  });
}

export { ChatTemplate, CHATML_TEMPLATE, type RenderChatOptions } from "./template.js";
export { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from "./budget.js";
export { normalizeMessages, CHAT_ROLES, type ChatMessage, type ChatMessageInput, type ChatRole, type ChatTextPart, type ChatToolCall } from "./messages.js";
export { chatTemplateFor, renderChatPrompt } from "./for-tokenizer.js";
export { toolSetup, templateKnowsTools, genericToolChat, genericToolPrompt, toolCallId, type ToolCall, type ToolChoice, type ToolDefinition, type ToolFunction, type ToolSetup } from "./tools.js";
export { ToolCallStream, type ToolCallDelta } from "./tool-stream.js";

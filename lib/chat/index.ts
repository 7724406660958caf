export { ChatTemplate, CHATML_TEMPLATE, type RenderChatOptions } from "./template.js";
export { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from "./budget.js";
export { normalizeMessages, CHAT_ROLES, type ChatMessage, type ChatMessageInput, type ChatRole, type ChatTextPart, type ChatToolCall } from "./messages.js";
export { chatTemplateFor, renderChatPrompt } from "./for-tokenizer.js";

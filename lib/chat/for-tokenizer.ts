/** Glue between a tokenizer and its chat template: the template text, BOS/EOS strings, and the prompt's ids. */
import type { Tokenizer } from "../tokenizer/types.js";
import type { ChatMessageInput } from "./messages.js";
import { ChatTemplate, type RenderChatOptions } from "./template.js";

/** The model's own template, or the ChatML fallback when it has none. */
export function chatTemplateFor(tokenizer: Tokenizer): ChatTemplate {
  return new ChatTemplate(tokenizer.chatTemplate);
}

/**
 * Renders the chat and tokenizes it with special tokens parsed (the template writes them as text). BOS is not added
 * by the tokenizer when the template already starts with it, so it never appears twice.
 */
export function renderChatPrompt(
  tokenizer: Tokenizer,
  messages: readonly ChatMessageInput[],
  opts: Omit<RenderChatOptions, "bosToken" | "eosToken"> & {
    /** Jinja source to use instead of the tokenizer's own template (undefined = the tokenizer's, then ChatML). */
    template?: string | undefined;
  } = {},
): { text: string; ids: number[] } {
  const bosToken = tokenizer.bosId !== undefined ? tokenizer.tokenToPiece(tokenizer.bosId) : "";
  const eosToken = tokenizer.eosId !== undefined ? tokenizer.tokenToPiece(tokenizer.eosId) : "";
  const { template, ...renderOpts } = opts;
  const chat = template !== undefined ? new ChatTemplate(template) : chatTemplateFor(tokenizer);
  const text = chat.render(messages, { ...renderOpts, bosToken, eosToken });
  const templateHasBos = bosToken !== "" && text.startsWith(bosToken);
  const ids = tokenizer.encode(text, { addBos: tokenizer.addBosByDefault && !templateHasBos, parseSpecial: true });
  return { text, ids };
}

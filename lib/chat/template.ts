/**
 * Renders a model's Jinja chat template with @huggingface/jinja, inside a step/character/list budget (budget.ts):
 * a template that loops forever or builds gigabytes ends in a TemplateError, not a hung or killed isolate. Parse
 * failures and runtime failures become TemplateError; a template's own `raise_exception("…")` becomes a
 * TemplateError carrying that message.
 */
import { Template } from "@huggingface/jinja";
import { TemplateError } from "../errors.js";
import { DEFAULT_TEMPLATE_LIMITS, renderBounded, TemplateBudgetError, type TemplateLimits } from "./budget.js";
import { normalizeMessages, type ChatMessageInput } from "./messages.js";

/**
 * The fallback when a model ships no template: ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), as llama.cpp falls
 * back to. Models that were not trained on it still get a well-formed prompt.
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface RenderChatOptions {
  /** Append the assistant-turn opener. Default true. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** OpenAI-style tool definitions, for templates that render them. */
  tools?: unknown[];
  /** Other template variables (e.g. Qwen3's `enable_thinking`). */
  variables?: Record<string, unknown>;
  /** Rendering budget (default DEFAULT_TEMPLATE_LIMITS). */
  limits?: Partial<TemplateLimits>;
}

const parsedCache = new Map<string, Template>();
const CACHE_LIMIT = 16;

function parse(source: string): Template {
  const hit = parsedCache.get(source);
  if (hit !== undefined) return hit;
  let template: Template;
  try {
    template = new Template(source);
  } catch (err) {
    throw new TemplateError(`chat template does not parse: ${(err as Error).message}`, { cause: err });
  }
  if (parsedCache.size >= CACHE_LIMIT) parsedCache.delete(parsedCache.keys().next().value!);
  parsedCache.set(source, template);
  return template;
}

export class ChatTemplate {
  readonly source: string;
  private readonly template: Template;

  /** @param source Jinja source; undefined or empty uses the ChatML fallback. */
  constructor(source?: string) {
    this.source = source && source.trim().length > 0 ? source : CHATML_TEMPLATE;
    this.template = parse(this.source);
  }

  get isFallback(): boolean {
    return this.source === CHATML_TEMPLATE;
  }

  render(messages: readonly ChatMessageInput[] | unknown, opts: RenderChatOptions = {}): string {
    const normalized = normalizeMessages(messages);
    const vars: Record<string, unknown> = {
      ...opts.variables,
      messages: normalized,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: opts.bosToken ?? "",
      eos_token: opts.eosToken ?? "",
    };
    if (opts.tools !== undefined) vars.tools = opts.tools;
    try {
      return renderBounded(this.template, vars, { ...DEFAULT_TEMPLATE_LIMITS, ...opts.limits });
    } catch (err) {
      if (err instanceof TemplateBudgetError) {
        throw new TemplateError(`chat template exceeded its rendering budget: ${err.message}`, { cause: err });
      }
      // A template recursing past the JavaScript stack (in the parser or a builtin) is a RangeError like any other.
      throw new TemplateError(`chat template failed to render: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * Hostile chat templates (endless loops, recursion, huge strings and lists) end in a TemplateError within the
 * rendering budget — through ChatTemplate, the `chatTemplate` load option and a GGUF's own template — and real
 * templates render exactly as @huggingface/jinja renders them unbounded.
 */
import { readFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import { describe, expect, it } from "vitest";
import { ChatTemplate, CHATML_TEMPLATE, Llama, TemplateError, type ChatMessage } from "../../lib/node/index.js";
import { buildFixture } from "../../scripts/make-fixtures.mjs";
import { HOSTILE_TEMPLATES as HOSTILE } from "../helpers/hostile-templates.js";
import { hasShared, sharedModel } from "../helpers/shared.js";

const messages: ChatMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Hello there" },
  { role: "assistant", content: "Hi." },
  { role: "user", content: "Tell me a story" },
];

describe("hostile chat templates", () => {
  for (const [name, source] of Object.entries(HOSTILE)) {
    it(`${name}: a TemplateError, not a hang or a crash`, { timeout: 30_000 }, () => {
      let err: unknown;
      try {
        new ChatTemplate(source).render(messages);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).code).toBe("template_error");
    });
  }

  it("names the budget that ran out", () => {
    expect(() => new ChatTemplate(HOSTILE["range(10**9)"]).render(messages)).toThrow(/rendering budget: .*lists of more than \d+ elements/);
    expect(() => new ChatTemplate(HOSTILE["endless macro recursion"]).render(messages)).toThrow(/nested more than \d+ deep/);
    expect(() => new ChatTemplate(HOSTILE["exponential macro recursion"]).render(messages)).toThrow(/more than \d+ steps/);
    expect(() => new ChatTemplate(HOSTILE["huge join"]).render(messages)).toThrow(/more than \d+ characters/);
  });

  it("counts real work: a real template fails under tiny limits and renders under the defaults", () => {
    const t = new ChatTemplate(CHATML_TEMPLATE);
    expect(() => t.render(messages, { limits: { maxSteps: 20 } })).toThrow(/more than 20 steps/);
    expect(() => t.render(messages, { limits: { maxChars: 50 } })).toThrow(/more than 50 characters/);
    expect(t.render(messages)).toBe(new Template(CHATML_TEMPLATE).render({ messages, add_generation_prompt: true, bos_token: "", eos_token: "" }));
  });

  it("keeps raise_exception's message and ordinary runtime errors", () => {
    expect(() => new ChatTemplate("{{ raise_exception('roles must alternate') }}").render(messages)).toThrow(/roles must alternate/);
    expect(() => new ChatTemplate("{{ range(1, 2, 0) }}").render(messages)).toThrow(TemplateError);
    expect(new ChatTemplate("{% for i in range(3) %}{{ i }}{% endfor %}{{ range(5, 0, -2) | join(',') }}").render(messages)).toBe("0125,3,1");
  });
});

describe.skipIf(!hasShared)("real templates render as the unbounded interpreter renders them", () => {
  const long: ChatMessage[] = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `turn ${i}: ${"word ".repeat(40)}` }));
  const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
  for (const name of ["qwen3", "llama3"]) {
    it(`${name}, 200 messages and a tool`, () => {
      const source = (JSON.parse(readFileSync(sharedModel(`${name}-tokenizer_config.json`), "utf8")) as { chat_template: string }).chat_template;
      const vars = { messages: long, tools, add_generation_prompt: true, bos_token: "<s>", eos_token: "</s>" };
      const ours = new ChatTemplate(source).render(long, { tools, bosToken: "<s>", eosToken: "</s>" });
      expect(ours).toBe(new Template(source).render(vars));
    });
  }
});

describe("hostile templates through Llama", () => {
  const hostile = HOSTILE["exponential macro recursion"];

  it("the chatTemplate option: TemplateError, and the model still answers", { timeout: 60_000 }, async () => {
    const llama = await Llama.load({ model: await buildFixture("tiny-llama").toBytes(), chatTemplate: hostile });
    try {
      await expect(llama.chatCompletion(messages, { maxTokens: 2 })).rejects.toBeInstanceOf(TemplateError);
      await expect(llama.chatCompletion(messages, { maxTokens: 2 })).rejects.toBeInstanceOf(TemplateError);
      const after = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 3 });
      expect(after.usage.completionTokens).toBe(3);
    } finally {
      llama.dispose();
    }
  });

  it("a GGUF's own tokenizer.chat_template: TemplateError, and a good template on the same weights answers", { timeout: 60_000 }, async () => {
    const bytes = await buildFixture("tiny-llama", { metadata: { "tokenizer.chat_template": [HOSTILE["range(10**9)"], "string"] } }).toBytes();
    const llama = await Llama.load({ model: bytes });
    try {
      expect(llama.info.chatTemplate).toBe(HOSTILE["range(10**9)"]);
      await expect(llama.chatCompletion(messages, { maxTokens: 2 })).rejects.toBeInstanceOf(TemplateError);
    } finally {
      llama.dispose();
    }
    const good = await Llama.load({ model: bytes, chatTemplate: CHATML_TEMPLATE });
    try {
      const result = await good.chatCompletion(messages, { temperature: 0, maxTokens: 3 });
      expect(result.usage.completionTokens).toBe(3);
    } finally {
      good.dispose();
    }
  });
});

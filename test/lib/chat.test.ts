/** Chat templates: the real Qwen3 and Llama 3 templates, the ChatML fallback, validation and template errors. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ChatTemplate, CHATML_TEMPLATE, renderChatPrompt } from "../../lib/chat/index.js";
import { InvalidArgumentError, TemplateError } from "../../lib/errors.js";
import { tokenizerFromHfJson, tokenizerFromSentencePieceModel } from "../../lib/tokenizer/index.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const readJson = (name: string): any => JSON.parse(readFileSync(new URL(name, MODELS), "utf8"));
const qwenConfig = readJson("qwen3-tokenizer_config.json");
const llama3Config = readJson("llama3-tokenizer_config.json");

const chat = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Hi!" },
];

describe("real chat templates", () => {
  it("Qwen3 renders ChatML turns and the assistant opener", () => {
    const t = new ChatTemplate(qwenConfig.chat_template);
    expect(t.render(chat)).toBe("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    expect(t.render(chat, { addGenerationPrompt: false })).toBe("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n");
  });

  it("Qwen3's enable_thinking=false adds the empty think block", () => {
    const t = new ChatTemplate(qwenConfig.chat_template);
    expect(t.render(chat, { variables: { enable_thinking: false } })).toMatch(/<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/);
  });

  it("Qwen3 strips earlier reasoning from assistant history", () => {
    const t = new ChatTemplate(qwenConfig.chat_template);
    const text = t.render([
      { role: "user", content: "1+1?" },
      { role: "assistant", content: "<think>\nadd\n</think>\n\n2" },
      { role: "user", content: "2+2?" },
    ]);
    expect(text).toContain("<|im_start|>assistant\n2<|im_end|>");
    expect(text).not.toContain("add");
  });

  it("Llama 3 renders header blocks with BOS from the caller", () => {
    const t = new ChatTemplate(llama3Config.chat_template);
    expect(t.render(chat, { bosToken: "<|begin_of_text|>" })).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it("renderChatPrompt tokenizes special tokens and adds BOS exactly once", () => {
    const tok = tokenizerFromHfJson(readJson("llama3-tokenizer.json"), llama3Config);
    const { text, ids } = renderChatPrompt(tok, [{ role: "user", content: "Hi" }]);
    expect(text.startsWith("<|begin_of_text|>")).toBe(true);
    expect(ids.filter((id) => id === 128000)).toHaveLength(1);
    expect(ids[0]).toBe(128000);
    expect(ids).toContain(tok.pieceToId("<|eot_id|>"));
    expect(tok.decode(ids)).toBe(text);
  });
});

describe("template override", () => {
  it("renderChatPrompt uses a caller's template instead of the model's", () => {
    const tok = tokenizerFromSentencePieceModel(new Uint8Array(readFileSync(new URL("llama2-tokenizer.model", MODELS))));
    const { text } = renderChatPrompt(tok, [{ role: "user", content: "Hi" }], {
      template: "{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}",
    });
    expect(text).toBe("[user] Hi[assistant]");
  });
});

describe("ChatML fallback", () => {
  it("is used when the model has no template (Llama 2 .model)", () => {
    const tok = tokenizerFromSentencePieceModel(new Uint8Array(readFileSync(new URL("llama2-tokenizer.model", MODELS))));
    expect(tok.chatTemplate).toBeUndefined();
    const { text, ids } = renderChatPrompt(tok, chat);
    expect(text).toBe("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    expect(ids[0]).toBe(1); // SentencePiece model adds BOS
    expect(new ChatTemplate(undefined).isFallback).toBe(true);
    expect(new ChatTemplate("").source).toBe(CHATML_TEMPLATE);
  });
});

describe("message validation", () => {
  const t = new ChatTemplate();
  it("joins arrays of text parts", () => {
    expect(t.render([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }], { addGenerationPrompt: false })).toBe(
      "<|im_start|>user\nab<|im_end|>\n",
    );
  });
  it("rejects bad roles, content and shapes with the parameter named", () => {
    const bad: [unknown, RegExp][] = [
      ["nope", /messages must be an array/],
      [[], /at least one/],
      [[{ role: "robot", content: "x" }], /messages\[0\]\.role "robot"/],
      [[{ role: "user", content: 42 }], /messages\[0\]\.content must be a string or an array/],
      [[{ role: "user", content: null }], /messages\[0\]\.content is required/],
      [[{ role: "user", content: [{ type: "image_url", image_url: {} }] }], /messages\[0\]\.content\[0\]\.type "image_url"/],
      [[{ role: "user", content: "x" }, null], /messages\[1\] must be an object/],
    ];
    for (const [messages, msg] of bad) {
      expect(() => t.render(messages)).toThrow(InvalidArgumentError);
      expect(() => t.render(messages)).toThrow(msg);
    }
  });
  it("allows null assistant content with tool calls", () => {
    const text = t.render(
      [
        { role: "user", content: "x" },
        { role: "assistant", content: null, tool_calls: [{ function: { name: "f", arguments: "{}" } }] },
      ],
      { addGenerationPrompt: false },
    );
    expect(text).toContain("<|im_start|>assistant\n<|im_end|>");
  });
});

describe("template errors", () => {
  it("raise_exception becomes a TemplateError with the template's message", () => {
    const t = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with a user message') }}{% endif %}ok");
    expect(t.render([{ role: "user", content: "x" }])).toBe("ok");
    expect(() => t.render([{ role: "system", content: "x" }])).toThrow(TemplateError);
    expect(() => t.render([{ role: "system", content: "x" }])).toThrow(/Conversation must start with a user message/);
  });
  it("syntax errors and runtime errors are TemplateError", () => {
    expect(() => new ChatTemplate("{% for m in messages %}")).toThrow(TemplateError);
    expect(() => new ChatTemplate("{{ messages[0].content.nosuchmethod() }}").render([{ role: "user", content: "x" }])).toThrow(TemplateError);
  });
});

/**
 * Llama: the friendly high-level API. Text and chat messages in, text out (whole or streamed), over one loaded
 * GGUF model. Mirrors the seed design's `Llama` (`generate(text)`, `chatCompletion(messages)`).
 */
import { CHATML_TEMPLATE, genericToolChat, renderChatPrompt, templateKnowsTools, toolSetup, ToolCallStream, type ToolSetup } from "./chat/index.js";
import { EngineModel } from "./engine/model.js";
import { InvalidArgumentError, ModelFormatError } from "./errors.js";
import { GenerationSession } from "./session.js";
import type { ModelTurn } from "./turn.js";
import { GrammarVocabulary, toolCallGrammar, type GrammarSpec } from "./grammar/index.js";
import { resolveEngine, openModelSource } from "./source.js";
import { tokenizerFromGguf, tokenizerFromHfJson, type Tokenizer } from "./tokenizer/index.js";
import type {
  ChatMessage,
  GenerateOptions,
  GenerationResult,
  LoadOptions,
  ModelInfo,
  TextDelta,
} from "./types.js";

export class Llama {
  readonly tokenizer: Tokenizer;
  readonly #model: EngineModel;
  readonly #chatTemplate: string | undefined;
  /** The vocabulary for response formats, built on the first constrained generation. */
  readonly #grammar: GrammarVocabulary;
  /** The model's turn, KV cache (sequence 0, reused across calls by prompt prefix) and cancellation. */
  readonly session: GenerationSession;

  private constructor(model: EngineModel, tokenizer: Tokenizer, chatTemplate: string | undefined, turn: ModelTurn | undefined) {
    this.#model = model;
    this.tokenizer = tokenizer;
    this.#chatTemplate = chatTemplate;
    this.session = new GenerationSession(model, turn);
    this.#grammar = new GrammarVocabulary(tokenizer, model.vocabSize);
  }

  /** Loads a GGUF from a path (Node), URL, bytes or stream; weights stream straight into WASM memory. */
  static async load(options: LoadOptions): Promise<Llama> {
    if (!options || options.model === undefined) throw new InvalidArgumentError("load() needs options.model", "model");
    const bindings = await resolveEngine();
    const source = await openModelSource(options.model);
    // The GGUF's tokenizer is built as soon as the header is in, while the weights still stream.
    const fromGguf: { tokenizer?: Tokenizer } = {};
    const model = await EngineModel.load(bindings, source.chunks, {
      // Unset: the engine allocates min(the model's trained context, 2048) positions.
      ...(options.contextLength !== undefined ? { contextLength: options.contextLength } : {}),
      // Unset kvType: f16, or q8_0 where f16 would exceed memoryBudget (the engine decides, knowing every size).
      kvType: options.kvType ?? "f16",
      ...(options.memoryBudget !== undefined && options.kvType === undefined ? { memoryBudget: options.memoryBudget } : {}),
      sequences: options.sequences ?? 1,
      ...((options.size ?? source.size) !== undefined ? { sizeHint: options.size ?? source.size } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.tokenizer ? {} : { onHeader: ({ metadata, vocabulary }) => void (fromGguf.tokenizer = tokenizerFromGguf(metadata, vocabulary)) }),
    });
    try {
      // onHeader has run by now (during the stream, or with the file's last chunk).
      const tokenizer = options.tokenizer ? tokenizerFromHfJson(options.tokenizer.json, options.tokenizer.config) : fromGguf.tokenizer!;
      model.releaseMetadata((key) => key.startsWith("tokenizer.ggml."));
      if (options.tokenizer && tokenizer.vocabSize > model.vocabSize) {
        throw new InvalidArgumentError(
          `tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.vocabSize}`,
          "tokenizer",
        );
      }
      // The GGUF's own vocabulary names every embedding row (llama.cpp refuses a mismatch too): fewer tokens would
      // sample ids that decode to nothing, more would index past the logits.
      if (!options.tokenizer && tokenizer.vocabSize !== model.vocabSize) {
        throw new ModelFormatError(
          `the GGUF's tokenizer has ${tokenizer.vocabSize} tokens but token_embd.weight has ${model.vocabSize} rows`,
        );
      }
      return new Llama(model, tokenizer, options.chatTemplate ?? tokenizer.chatTemplate, options.turn);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  get info(): ModelInfo {
    const c = this.#model.config;
    const name = this.#model.metadata["general.name"];
    return {
      architecture: c.architecture,
      name: typeof name === "string" ? name : c.architecture,
      vocabSize: c.vocabSize,
      trainedContextLength: c.trainedContextLength,
      contextLength: c.contextLength,
      memory: this.#model.memory(),
      chatTemplate: this.#chatTemplate,
    };
  }

  /** Generations run one at a time (the KV cache is shared state): the session's turn orders them. */
  get turn(): ModelTurn {
    return this.session.turn;
  }

  /** The engine-level model, for callers that drive forward passes themselves. */
  get model(): EngineModel {
    return this.#model;
  }

  tokenize(text: string, opts: { addBos?: boolean } = {}): number[] {
    if (typeof text !== "string") throw new InvalidArgumentError("text must be a string", "text");
    return this.tokenizer.encode(text, { addBos: opts.addBos ?? this.tokenizer.addBosByDefault, parseSpecial: false });
  }

  /**
   * The chat template's rendering of `messages` (with the assistant turn opened), as token ids. With tools, a
   * template that renders them gets them; any other gets the generic tool prompt (lib/chat/tools.ts).
   */
  chatPromptTokens(messages: ChatMessage[], tools?: Pick<GenerateOptions, "tools" | "toolChoice" | "parallelToolCalls">): number[] {
    return this.#chatPrompt(messages, toolSetup(tools?.tools, tools?.toolChoice, tools?.parallelToolCalls));
  }

  #chatPrompt(messages: ChatMessage[], setup: ToolSetup | undefined): number[] {
    const template = this.#chatTemplate;
    if (templateKnowsTools(template ?? CHATML_TEMPLATE)) {
      return renderChatPrompt(this.tokenizer, messages, { template, ...(setup ? { tools: setup.tools } : {}) }).ids;
    }
    return renderChatPrompt(this.tokenizer, genericToolChat(messages, setup), { template }).ids;
  }

  async generate(prompt: string, options: GenerateOptions = {}): Promise<GenerationResult> {
    return drain(this.generateStream(prompt, options));
  }

  generateStream(prompt: string, options: GenerateOptions = {}): AsyncGenerator<TextDelta, GenerationResult> {
    const ids = this.tokenize(prompt, { addBos: options.addBos ?? this.tokenizer.addBosByDefault });
    return this.#inTurn(ids, options);
  }

  async chatCompletion(messages: ChatMessage[], options: GenerateOptions = {}): Promise<GenerationResult> {
    return drain(this.chatCompletionStream(messages, options));
  }

  /**
   * With `tools`, the output is split into content and calls: deltas carry `toolCalls` pieces, the result
   * `toolCalls` and finish reason "tool_calls" (calls are grammar-constrained: see lib/grammar/tools.ts).
   */
  chatCompletionStream(messages: ChatMessage[], options: GenerateOptions = {}): AsyncGenerator<TextDelta, GenerationResult> {
    const setup = toolSetup(options.tools, options.toolChoice, options.parallelToolCalls);
    if (setup && options.responseFormat !== undefined && options.responseFormat.type !== "text") {
      throw new InvalidArgumentError("responseFormat cannot be combined with tools (the calls have their own grammar)", "responseFormat");
    }
    const ids = this.#chatPrompt(messages, setup);
    if (!setup) return this.#inTurn(ids, options);
    return withToolCalls(this.#inTurn(ids, options, toolCallGrammar(setup, this.tokenizer)));
  }

  /** Frees the model's WASM memory. */
  dispose(): void {
    this.#grammar.dispose();
    this.#model.dispose();
  }

  /** Runs one generation in the model's turn (the session takes it unless the caller holds it). */
  #inTurn(promptIds: number[], options: GenerateOptions, toolGrammar?: GrammarSpec): AsyncGenerator<TextDelta, GenerationResult> {
    return this.session.generate(0, promptIds, options, { vocabulary: this.tokenizer, grammar: this.#grammar, toolGrammar });
  }
}

/** Splits a tool-constrained generation's text into content and calls (the grammar fixed their layout). */
async function* withToolCalls(gen: AsyncGenerator<TextDelta, GenerationResult>): AsyncGenerator<TextDelta, GenerationResult> {
  const calls = new ToolCallStream();
  try {
    for (;;) {
      const step = await gen.next();
      const piece = step.done ? calls.finish() : calls.push(step.value.text);
      const logprobs = step.done ? undefined : step.value.logprobs;
      if (piece.text !== "" || piece.toolCalls.length > 0 || logprobs) {
        yield { text: piece.text, ...(piece.toolCalls.length > 0 ? { toolCalls: piece.toolCalls } : {}), ...(logprobs ? { logprobs } : {}) };
      }
      if (step.done) {
        const r = step.value;
        if (calls.calls.length === 0) return { ...r, text: calls.content };
        return { ...r, text: calls.content, toolCalls: calls.calls, finishReason: r.finishReason === "stop" ? "tool_calls" : r.finishReason };
      }
    }
  } finally {
    await gen.return(undefined as unknown as GenerationResult);
  }
}

async function drain(stream: AsyncGenerator<TextDelta, GenerationResult>): Promise<GenerationResult> {
  for (;;) {
    const step = await stream.next();
    if (step.done) return step.value;
  }
}

/**
 * Grammar-constrained generation (response formats): a corpus of JSON Schemas × seeds × temperatures on a real
 * model and on generated random-weight fixtures; every output that finished must parse and validate (ajv), and
 * an output cut by maxTokens says so with finish reason "length".
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, Llama, type GenerateOptions, type ResponseFormat } from "../../lib/node/index.js";
import { tokenTable } from "../../lib/grammar/index.js";
import { fixturePath } from "../helpers/fixtures.js";
import { hasShared, sharedModel } from "../helpers/shared.js";
import { SCHEMAS } from "../fixtures/json-schemas.js";

const RUNS: Pick<GenerateOptions, "temperature" | "seed" | "topP">[] = [
  { temperature: 0 },
  { temperature: 0.7, seed: 1, topP: 0.9 },
  { temperature: 1, seed: 2 },
  { temperature: 1.3, seed: 3 },
];
const MAX_TOKENS = 200;

function makeValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
  const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule }).default ?? addFormatsModule;
  addFormats(ajv);
  return ajv;
}

/** Runs the corpus; returns counts and the failures (an output that finished but does not validate). */
async function runCorpus(llama: Llama, prompt: string, chat: boolean) {
  const ajv = makeValidator();
  let stopped = 0;
  let cut = 0;
  const invalid: string[] = [];
  for (const c of SCHEMAS) {
    const validate = ajv.compile(c.schema);
    for (const run of RUNS) {
      const options: GenerateOptions = { ...run, maxTokens: MAX_TOKENS, responseFormat: { type: "json_schema", schema: c.schema } };
      const r = chat
        ? await llama.chatCompletion([{ role: "user", content: prompt }], options)
        : await llama.generate(prompt, options);
      if (r.finishReason === "length") {
        cut++;
        if (process.env.GRAMMAR_DEBUG) console.log("cut", c.name, JSON.stringify(run), r.text.slice(0, 120));
        expect(r.usage.completionTokens).toBe(MAX_TOKENS);
        continue;
      }
      stopped++;
      let value: unknown;
      try {
        value = JSON.parse(r.text);
      } catch {
        invalid.push(`${c.name} ${JSON.stringify(run)}: not JSON: ${r.text}`);
        continue;
      }
      if (!validate(value)) invalid.push(`${c.name} ${JSON.stringify(run)}: ${ajv.errorsText(validate.errors)}: ${r.text}`);
    }
  }
  return { stopped, cut, invalid, total: SCHEMAS.length * RUNS.length };
}

function report(label: string, r: Awaited<ReturnType<typeof runCorpus>>) {
  console.log(`[grammar] ${label}: ${r.stopped}/${r.total} finished, all validated: ${r.invalid.length === 0}; ${r.cut} cut at ${MAX_TOKENS} tokens`);
}

it("has a corpus of at least 30 schemas", () => {
  expect(SCHEMAS.length).toBeGreaterThanOrEqual(30);
});

describe.skipIf(!hasShared)("response formats on the real TinyStories 260K model", () => {
  let llama: Llama;
  beforeAll(async () => {
    llama = await Llama.load({ model: sharedModel("stories260K.gguf"), contextLength: 512 });
  });

  it("every finished output of the schema corpus validates", async () => {
    const r = await runCorpus(llama, "Once upon a time", false);
    report("stories260K", r);
    expect(r.invalid).toEqual([]);
    // The rest ran into maxTokens: a story model writes unbounded integers digit after digit (valid JSON, never done).
    expect(r.stopped).toBeGreaterThan(r.total * 0.6);
  });

  it("json_object gives a JSON object; streamed deltas add up to the returned text", async () => {
    const format: ResponseFormat = { type: "json_object" };
    const stream = llama.generateStream("Once upon a time", { temperature: 0.9, seed: 5, maxTokens: 300, responseFormat: format });
    let text = "";
    let step = await stream.next();
    while (!step.done) {
      text += step.value.text;
      step = await stream.next();
    }
    expect(step.value.text).toBe(text);
    if (step.value.finishReason === "stop") {
      const v: unknown = JSON.parse(text);
      expect(typeof v === "object" && v !== null && !Array.isArray(v)).toBe(true);
    } else expect(step.value.usage.completionTokens).toBe(300);
  });

  it("a free-text generation after a constrained one is unconstrained again (same as a fresh load)", async () => {
    const before = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 30 });
    await llama.generate("Once upon a time", { temperature: 0, maxTokens: 30, responseFormat: { type: "json_object" } });
    const after = await llama.generate("Once upon a time", { temperature: 0, maxTokens: 30 });
    expect(after.text).toBe(before.text);
  });
});

const SMOLLM2 = sharedModel("SmolLM2-135M-Instruct.Q4_1.gguf");

describe.skipIf(!existsSync(SMOLLM2))("response formats on the real SmolLM2-135M-Instruct (Q4_1), chat", () => {
  it("answers a few schemas of the corpus with valid JSON, greedy and sampled", { timeout: 300_000 }, async () => {
    const llama = await Llama.load({ model: SMOLLM2, contextLength: 512 });
    try {
      const ajv = makeValidator();
      const picked = ["nested object", "array of objects", "anyOf objects", "event (realistic)"];
      const runs = [{ temperature: 0 }, { temperature: 0.8, seed: 7, topP: 0.95 }];
      let finished = 0;
      for (const c of SCHEMAS.filter((s) => picked.includes(s.name))) {
        const validate = ajv.compile(c.schema);
        for (const run of runs) {
          const r = await llama.chatCompletion([{ role: "user", content: `Reply with JSON for: ${c.name}.` }], {
            ...run, maxTokens: 160, responseFormat: { type: "json_schema", schema: c.schema },
          });
          if (r.finishReason === "length") continue;
          finished++;
          expect(validate(JSON.parse(r.text)), `${c.name}: ${ajv.errorsText(validate.errors)}: ${r.text}`).toBe(true);
        }
      }
      console.log(`[grammar] SmolLM2-135M Q4_1 chat: ${finished}/${picked.length * runs.length} finished, all validated`);
      expect(finished).toBeGreaterThanOrEqual(picked.length);
    } finally {
      llama.dispose();
    }
  });
});

describe("response formats on generated random-weight models", () => {
  const models: [string, boolean][] = [["tiny-llama", false], ["tiny-qwen2", true]];
  for (const [fixture, chat] of models) {
    it(`${fixture}${chat ? " (chat)" : ""}: every finished output of the schema corpus validates`, async () => {
      const llama = await Llama.load({ model: await fixturePath(fixture), contextLength: 256 });
      try {
        const r = await runCorpus(llama, "Give me JSON.", chat);
        report(fixture, r);
        expect(r.invalid).toEqual([]);
        expect(r.stopped).toBeGreaterThan(r.total * 0.5);
      } finally {
        llama.dispose();
      }
    });
  }

  it("maxTokens cuts a constrained output with finish reason length", async () => {
    const llama = await Llama.load({ model: await fixturePath("tiny-llama"), contextLength: 256 });
    try {
      const schema = { type: "object", properties: { s: { type: "string", minLength: 50 } }, required: ["s"] };
      const r = await llama.generate("x", { temperature: 0, maxTokens: 10, responseFormat: { type: "json_schema", schema } });
      expect(r.finishReason).toBe("length");
      expect(r.text.startsWith('{"s":"')).toBe(true);
    } finally {
      llama.dispose();
    }
  });

  it("refuses unsupported keywords and malformed schemas with a typed error naming the problem", async () => {
    const llama = await Llama.load({ model: await fixturePath("tiny-llama"), contextLength: 256 });
    try {
      const bad = (schema: unknown) =>
        llama.generate("x", { maxTokens: 5, responseFormat: { type: "json_schema", schema } as ResponseFormat });
      await expect(bad({ type: "object", not: { type: "string" } })).rejects.toThrow(/Unimplemented keys: \["not"\]/);
      await expect(bad({ type: "object", not: { type: "string" } })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(bad({ $ref: "#/$defs/missing" })).rejects.toThrow(InvalidArgumentError);
      await expect(bad("nope")).rejects.toThrow(/must be a JSON Schema/);
      await expect(
        llama.generate("x", { maxTokens: 5, responseFormat: { type: "yaml" } as unknown as ResponseFormat }),
      ).rejects.toThrow(/responseFormat.type/);
      // The model is still usable afterwards.
      const ok = await llama.generate("x", { maxTokens: 40, temperature: 0, responseFormat: { type: "json_schema", schema: { enum: ["yes", "no"] } } });
      expect(["\"yes\"", "\"no\""]).toContain(ok.text);
      expect(ok.finishReason).toBe("stop");
    } finally {
      llama.dispose();
    }
  });

  it("the token table marks control tokens and keeps every other token's bytes", async () => {
    const llama = await Llama.load({ model: await fixturePath("tiny-qwen2"), contextLength: 64 });
    try {
      const tok = llama.tokenizer;
      const t = tokenTable(tok, llama.info.vocabSize);
      expect(t.ends.length).toBe(llama.info.vocabSize);
      const bytesOf = (id: number) => t.bytes.subarray(id === 0 ? 0 : t.ends[id - 1]!, t.ends[id]!);
      let special = 0;
      for (let id = 0; id < tok.vocabSize; id++) {
        if (tok.isSpecial(id)) {
          special++;
          expect(bytesOf(id)[0]).toBe(0xff);
        } else expect(Array.from(bytesOf(id))).toEqual(Array.from(tok.tokenToBytes(id)));
      }
      expect(special).toBeGreaterThan(0);
      expect(Array.from(t.eos)).toEqual(tok.endOfGenerationIds());
    } finally {
      llama.dispose();
    }
  });
});

/**
 * Tool calls from the deploy bundle in real workerd on a real port, with the real default model (SmolLM2-135M-
 * Instruct Q4_1 from ../shared; skipped, saying so, without it). The official openai client streams a tool call
 * and accumulates it into a valid `tool_calls` entry; the next request carries the call and the tool's result.
 * At 512 positions the grammar fits beside the model (110.2 MiB engine + 11.8 MiB grammar + the JS heap); at the
 * default 2048 it would not (122.8 MiB engine), which test/worker/tools.test.ts covers without a second load.
 */
import { existsSync } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, startBundle, type Bundle, type BundleServer } from "../../scripts/workerd/bundle-server.js";
import { sharedModel } from "../helpers/shared.js";

const SMOLLM2 = sharedModel("SmolLM2-135M-Instruct.Q4_1.gguf");
const present = existsSync(SMOLLM2);
if (!present) console.warn("[e2e tools] SmolLM2-135M-Instruct.Q4_1.gguf not in ../shared/models: skipped");

const tools = [
  {
    type: "function" as const,
    function: {
      name: "get_weather", description: "Current weather in a city",
      parameters: { type: "object", properties: { city: { type: "string", maxLength: 24 } }, required: ["city"], additionalProperties: false },
    },
  },
];

let bundle: Bundle;
let server: BundleServer;
let client: OpenAI;

describe.skipIf(!present)("tool calls from the deploy bundle in workerd (SmolLM2-135M)", () => {
  beforeAll(async () => {
    bundle = await buildBundle();
    server = await startBundle(bundle, [{ id: "smol-512", file: SMOLLM2, contextLength: 512 }]);
    client = new OpenAI({ apiKey: "none", baseURL: `${server.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await server?.stop();
    bundle?.remove();
  });

  it("the openai client streams a tool call and accumulates it; the tool's result is accepted next", async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];
    const stream = await client.chat.completions.create({ model: "smol-512", messages, tools, tool_choice: "required", parallel_tool_calls: false, max_tokens: 48, temperature: 0, stream: true });
    const calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }> = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      for (const d of choice.delta.tool_calls ?? []) {
        if (d.id) calls[d.index] = { id: d.id, type: d.type!, function: { name: d.function!.name!, arguments: "" } };
        calls[d.index]!.function.arguments += d.function?.arguments ?? "";
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.id).toMatch(/^call_/);
    expect(calls[0]!.function.name).toBe("get_weather");
    const args = JSON.parse(calls[0]!.function.arguments) as { city: string };
    console.log(`[e2e tools] SmolLM2 in workerd called get_weather(${calls[0]!.function.arguments})`);
    expect(Object.keys(args)).toEqual(["city"]);

    const next = await client.chat.completions.create({
      model: "smol-512", max_tokens: 24, temperature: 0, tools,
      messages: [...messages, { role: "assistant", content: null, tool_calls: calls as OpenAI.Chat.ChatCompletionMessageToolCall[] }, { role: "tool", tool_call_id: calls[0]!.id, content: "18 degrees and sunny" }],
    });
    expect(next.choices[0]!.message.role).toBe("assistant");
    console.log(`[e2e tools] after the result: ${JSON.stringify(next.choices[0]!.message)}`);
  });
});

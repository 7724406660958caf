/**
 * Runs one text completion with the library in Node and prints the result as JSON: the Worker tests compare it with
 * the Worker's answer to the same seeded request (same seed, same output across Node and workerd).
 *   npx tsx test/helpers/node-generate.ts <model.gguf> '<{"prompt", "maxTokens", "temperature", "topP", "seed"}>'
 */
import { Llama } from "../../lib/node/index.js";

const [model, json] = process.argv.slice(2);
const { prompt, contextLength, ...options } = JSON.parse(json!) as { prompt: string; contextLength: number; maxTokens: number };
const llama = await Llama.load({ model: model!, contextLength });
const result = await llama.generate(prompt, options);
console.log(JSON.stringify({ text: result.text, usage: result.usage }));

/**
 * The grammar module's memory for real vocabularies stays under `grammarMemoryEstimate` — the Worker decides from
 * that estimate whether a grammar fits beside the loaded model (worker/backend/grammar-fit.ts), since WASM memory
 * never shrinks once grown. Vocabularies in growing size (memory only grows, so each reading is that vocabulary's
 * own high-water mark or a smaller one's): stories260K's 512, SmolLM2's 49,152, Llama 3's 128,256, Qwen3's 151,669.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { Llama, tokenizerFromHfJson, type Tokenizer } from "../../lib/node/index.js";
import { GrammarVocabulary, grammarMemoryBytes, grammarMemoryEstimate } from "../../lib/grammar/index.js";
import { existsSync } from "node:fs";
import { hasShared, sharedModel } from "../helpers/shared.js";

const MiB = (b: number) => (b / 2 ** 20).toFixed(2);

async function measure(label: string, tokenizer: Tokenizer, vocabSize: number) {
  const vocabulary = new GrammarVocabulary(tokenizer, vocabSize);
  const c = await vocabulary.constraint({ type: "json_object" });
  c?.dispose();
  vocabulary.dispose();
  const used = grammarMemoryBytes();
  console.log(`[grammar-memory] ${label} (${vocabSize} tokens): ${MiB(used)} MiB, estimate ${MiB(grammarMemoryEstimate(vocabSize))} MiB`);
  expect(used).toBeLessThanOrEqual(grammarMemoryEstimate(vocabSize));
}

it.skipIf(!hasShared)("real vocabularies take no more grammar memory than the estimate", async () => {
  const stories = await Llama.load({ model: sharedModel("stories260K.gguf"), contextLength: 64 });
  await measure("stories260K", stories.tokenizer, stories.info.vocabSize);
  stories.dispose();
  const smol = sharedModel("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (existsSync(smol)) {
    const llama = await Llama.load({ model: smol, contextLength: 64 });
    await measure("SmolLM2-135M", llama.tokenizer, llama.info.vocabSize);
    llama.dispose();
  }
  for (const name of ["llama3", "qwen3"]) {
    const json = JSON.parse(readFileSync(sharedModel(`${name}-tokenizer.json`), "utf8")) as unknown;
    const config = JSON.parse(readFileSync(sharedModel(`${name}-tokenizer_config.json`), "utf8")) as unknown;
    const tokenizer = tokenizerFromHfJson(json, config);
    await measure(name, tokenizer, tokenizer.vocabSize);
  }
}, 120_000);

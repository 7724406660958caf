/** Access to ../shared (real models and references). Tests that need it skip, saying so, when it is absent. */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const SHARED_MODELS = fileURLToPath(new URL("../../../shared/models/", import.meta.url));

export const hasShared = existsSync(`${SHARED_MODELS}stories260K.gguf`);

export function sharedModel(name: string): string {
  return `${SHARED_MODELS}${name}`;
}

export function readSharedJson<T>(name: string): T {
  return JSON.parse(readFileSync(sharedModel(name), "utf8")) as T;
}

export interface StoriesCase {
  name: string;
  text?: string;
  prompt: number[];
  last_logits: number[];
  greedy: number[];
  greedy_text: string;
  final_pos?: number;
  final_logits?: number[];
}

export function storiesReference(): { cases: StoriesCase[] } {
  return readSharedJson("stories260K.reference.json");
}

if (!hasShared) console.warn("[tests] ../shared/models not found: tests on real models are skipped");

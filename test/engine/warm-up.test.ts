/**
 * The engine's warm-up (model/warm_up.rs): once the header is parsed, a tiny model of the file's kind runs so that V8
 * compiles the first forward pass's kernels while the weights stream. It must run for every kind of model this build
 * serves (the loader hides its errors, so they are checked here), and must leave nothing behind: a model loaded with
 * it gives the same logits, bit for bit, as one loaded without it.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EngineModel } from "../../lib/engine/model.js";
import { loadEngine, engineMemory } from "../helpers/engine.js";
import { fixturePath } from "../helpers/fixtures.js";

const REAL_Q4_1 = new URL("../../../shared/models/SmolLM2-135M-Instruct.Q4_1.gguf", import.meta.url);

/** A loader fed `bytes` in 64 KiB chunks, as streamIntoLoader does, but without its warm-up. */
async function feed(bytes: Uint8Array, stopAtHeader: boolean, size = bytes.length) {
  const e = await loadEngine();
  const loader = new e.GgufLoader(Number.MAX_SAFE_INTEGER, size, undefined);
  for (let at = 0; at < bytes.length && !(stopAtHeader && loader.headerReady()); ) {
    const ptr = loader.nextRegion(Math.min(64 << 10, bytes.length - at));
    const len = loader.regionLen();
    new Uint8Array(engineMemory().buffer, ptr, len).set(bytes.subarray(at, at + len));
    loader.commit(len);
    at += len;
  }
  return { e, loader };
}

async function* chunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 64 << 10) yield bytes.subarray(at, at + (64 << 10));
}

const FIXTURES = ["tiny-llama", "tiny-llama-F16", "tiny-llama-Q8_0", "tiny-llama-Q4_0", "tiny-qwen2-Q8_0", "stories15M-Q4_0"];

describe("the warm-up model", () => {
  it.each(FIXTURES)("runs for %s", async (name) => {
    const { loader } = await feed(new Uint8Array(readFileSync(await fixturePath(name))), true);
    try {
      expect(loader.headerReady()).toBe(true);
      expect(() => loader.warmUp()).not.toThrow();
    } finally {
      loader.free();
    }
  });

  it.skipIf(!existsSync(REAL_Q4_1))("runs for the real SmolLM2-135M-Instruct Q4_1 file", async () => {
    const file = readFileSync(REAL_Q4_1);
    const { loader } = await feed(new Uint8Array(file.subarray(0, 4 << 20)), true, file.length);
    try {
      expect(() => loader.warmUp()).not.toThrow();
    } finally {
      loader.free();
    }
  });

  it("leaves the model's results unchanged", async () => {
    const bytes = new Uint8Array(readFileSync(await fixturePath("tiny-qwen2-Q8_0")));
    const tokens = [1, 5, 9, 200, 3, 17, 4, 8, 300];
    const { e, loader } = await feed(bytes, false);
    const without = EngineModel.fromLoader(e, loader, { contextLength: 64 });
    const withWarmUp = await EngineModel.load(e, chunks(bytes), { contextLength: 64 });
    try {
      expect(Array.from(withWarmUp.forward(0, tokens, 0))).toEqual(Array.from(without.forward(0, tokens, 0)));
      expect(Array.from(withWarmUp.forward(0, [7], tokens.length))).toEqual(Array.from(without.forward(0, [7], tokens.length)));
    } finally {
      without.dispose();
      withWarmUp.dispose();
    }
  });
});

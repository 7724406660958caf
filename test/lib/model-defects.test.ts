/**
 * Broken or oversized model files end in typed errors — ModelFormatError for a defective file, UnsupportedModelError
 * for types the engine cannot run or a model over the memory budget — refused from the header before the tensor
 * arena is allocated, so WASM memory does not grow; and the load defaults and file errors of Llama.load.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { engineMemory } from "../../lib/engine/wasm.js";
import { EngineFailureError, InvalidArgumentError, Llama, ModelFormatError, Transformer, UnsupportedModelError } from "../../lib/node/index.js";
import { buildFixture } from "../../scripts/make-fixtures.mjs";
import { CLAIMED_ROWS, defectiveModels, type DefectiveModel } from "../helpers/defective-models.js";

let models: Record<string, DefectiveModel>;
let good: Uint8Array;
beforeAll(async () => {
  models = await defectiveModels();
  good = await buildFixture("tiny-llama").toBytes();
  (await Llama.load({ model: good })).dispose(); // the engine instantiated, its memory at its working size
});

const MiB = 1 << 20;
const wasmBytes = () => engineMemory().buffer.byteLength;

/** Runs `load`, expects `type` matching `message`, and that WASM memory grew by less than 4 MiB meanwhile. */
async function expectRefused(load: () => Promise<unknown>, type: new (...a: never[]) => Error, message: RegExp): Promise<void> {
  const before = wasmBytes();
  const err = await load().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(message);
  expect(wasmBytes() - before).toBeLessThan(4 * MiB);
}

async function* asStream(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += 64 << 10) yield bytes.slice(i, i + (64 << 10));
}

describe("a header whose last tensor claims [64, 2^22] F32 (1 GiB) in a ~1 MB file", () => {
  it("is refused before allocating, from bytes, a stream with a size, a stream without, and Transformer.fromGGUF", async () => {
    const { bytes, error } = models["claims 1 GiB"]!;
    expect(bytes.length).toBeLessThan(2 * MiB);
    expect(CLAIMED_ROWS * 64 * 4).toBe(1 << 30);
    await expectRefused(() => Llama.load({ model: bytes }), ModelFormatError, error);
    await expectRefused(() => Llama.load({ model: asStream(bytes), size: bytes.length }), ModelFormatError, error);
    // No size: the plan refuses the shape (output.weight must be [64, vocab]) — still before the arena.
    await expectRefused(() => Llama.load({ model: asStream(bytes) }), ModelFormatError, /output\.weight has shape \[64, 4194304\], expected \[64, 512\]/);
    await expectRefused(() => Transformer.fromGGUF(bytes), ModelFormatError, error);
    expect(wasmBytes()).toBeLessThan(64 * MiB);
  });
});

describe("defective files", () => {
  const cases: [string, new (...a: never[]) => Error][] = [
    ["NaN in a norm", ModelFormatError],
    ["infinite norm", ModelFormatError],
    ["fewer tokens than embedding rows", ModelFormatError],
    ["Q8_1 matrix (no kernel)", UnsupportedModelError],
    ["IQ2_XXS tensor (unknown type)", UnsupportedModelError],
  ];
  for (const [name, type] of cases) {
    it(`${name}: ${type.name} at load`, async () => {
      await expectRefused(() => Llama.load({ model: models[name]!.bytes }), type, models[name]!.error);
    });
  }

  it("NaN embeddings: ModelFormatError when sampling (not <unk>, not a logit_bias error), greedy or sampled", async () => {
    const llama = await Llama.load({ model: models["NaN embeddings"]!.bytes });
    try {
      await expect(llama.generate("Once upon a time", { temperature: 0, maxTokens: 2 })).rejects.toThrow(ModelFormatError);
      await expect(llama.generate("Once upon a time", { temperature: 0.8, maxTokens: 2 })).rejects.toThrow(/no finite logit/);
    } finally {
      llama.dispose();
    }
  });

  it("a good model still loads and answers after all of them", async () => {
    const llama = await Llama.load({ model: good });
    try {
      expect((await llama.generate("Once upon a time", { temperature: 0, maxTokens: 3 })).usage.completionTokens).toBe(3);
    } finally {
      llama.dispose();
    }
  });
});

describe("memory budget", () => {
  it("refuses a model whose weights + KV cache + scratch exceed memoryBudget from its header, before allocating", async () => {
    await expectRefused(
      () => Llama.load({ model: asStream(good), memoryBudget: 512 << 10 }),
      EngineFailureError,
      /weights \+ scratch [\d.]+ MiB and a 256-position f16 KV cache [\d.]+ MiB exceed the memory budget 0\.5 MiB/,
    );
    const llama = await Llama.load({ model: good, memoryBudget: 8 * MiB });
    try {
      expect(llama.info.memory.total).toBeLessThan(8 * MiB);
    } finally {
      llama.dispose();
    }
  });
});

describe("load defaults and sources", () => {
  it("without contextLength, a model trained for 256 positions gets 256 (min(model, 2048))", async () => {
    const llama = await Llama.load({ model: good });
    try {
      expect(llama.info.trainedContextLength).toBe(256);
      expect(llama.info.contextLength).toBe(256);
    } finally {
      llama.dispose();
    }
    const t = await Transformer.fromGGUF(good);
    expect(t.model.contextLength).toBe(256);
    t.dispose();
  });

  it("a nonexistent path or a directory is an InvalidArgumentError naming it", async () => {
    const err = await Llama.load({ model: "/nonexistent/model.gguf" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).param).toBe("model");
    expect((err as Error).message).toBe('model file "/nonexistent/model.gguf" does not exist');
    await expect(Llama.load({ model: "/tmp" })).rejects.toThrow(/is not a regular file/);
    await expect(Transformer.fromGGUF("/nonexistent/x.gguf")).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

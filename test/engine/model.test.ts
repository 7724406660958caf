/**
 * The model binding through the real wasm (SIMD128 kernels): stories260K streamed through the GgufLoader
 * region/commit protocol in odd-sized chunks, then checked against llama2.c reference logits and greedy ids.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { engineCall } from "../../lib/engine/errors.js";
import { toEngineOptions } from "../../lib/engine/loader.js";
import type { EngineOptions, GgufHeaderObject } from "../../lib/engine/model.js";
import { plain } from "../../lib/engine/wasm.js";
import { ContextOverflowError, InvalidArgumentError, ModelFormatError } from "../../lib/errors.js";
import type { KvType } from "../../lib/types.js";
import { engineMemory, loadEngine } from "../helpers/engine.js";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const MODEL = new URL("stories260K.gguf", MODELS);
const REFERENCE = new URL("stories260K.reference.json", MODELS);
const haveData = existsSync(MODEL) && existsSync(REFERENCE);
if (!haveData) console.warn("note: /work/shared/models is absent; skipping the stories260K engine tests");

interface Case {
  name: string;
  prompt: number[];
  last_logits: number[];
  greedy: number[];
  final_pos?: number;
  final_logits?: number[];
}

type Bindings = Awaited<ReturnType<typeof loadEngine>>;
type Engine = InstanceType<Bindings["Engine"]>;

/** Streams `bytes` into a fresh loader, `chunk` bytes per network read, copying straight into the engine's regions. */
function streamLoad(e: Bindings, bytes: Uint8Array, chunk: number) {
  const loader = new e.GgufLoader(0);
  let off = 0;
  while (off < bytes.length) {
    const piece = bytes.subarray(off, Math.min(off + chunk, bytes.length));
    let used = 0;
    while (used < piece.length) {
      const ptr = loader.nextRegion(piece.length - used);
      const len = loader.regionLen();
      expect(len).toBeGreaterThan(0);
      // Fresh view each time: the region call may have grown wasm memory.
      new Uint8Array(engineMemory().buffer, ptr, len).set(piece.subarray(used, used + len));
      loader.commit(len);
      used += len;
    }
    off += piece.length;
  }
  return loader;
}

function logitsOf(engine: Engine, ptr: number): Float32Array {
  return new Float32Array(engineMemory().buffer, ptr, engine.logitsLen());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Lowest index on ties, as the reference's greedy rule. */
function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

describe.skipIf(!haveData)("stories260K through the Engine binding", () => {
  const cases: Case[] = haveData ? JSON.parse(readFileSync(REFERENCE, "utf8")).cases : [];
  const bytes = haveData ? new Uint8Array(readFileSync(MODEL)) : new Uint8Array();

  async function engineFor(options: EngineOptions, chunk = 65_537): Promise<Engine> {
    const e = await loadEngine();
    return new e.Engine(streamLoad(e, bytes, chunk), toEngineOptions(e, options));
  }

  it("reports config, memory and metadata", async () => {
    const engine = await engineFor({ contextLength: 512, kvType: "f32" }, 1000);
    expect(engine.vocabSize()).toBe(512);
    const config = plain(engine.hyperParams());
    expect(config).toMatchObject({ architecture: "llama", dim: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, rmsEps: 1e-5 });
    expect(config).toMatchObject({ ropeStyle: "normal", ropeBase: 10000, trainedContextLength: 2048, vocabSize: 512 });
    expect([engine.contextLength(), engine.kvType(), engine.sequences(), engine.maxBatch()]).toEqual([512, "f32", 1, 32]);
    const mem = plain(engine.memory());
    expect(mem.kvCache).toBe(2 * 5 * 32 * 512 * 4);
    expect(mem.total).toBe(mem.weights + mem.kvCache + mem.scratch);
    const meta = (engine.header() as GgufHeaderObject).metadata;
    expect(meta["general.architecture"]).toBe("llama");
    expect(meta["tokenizer.ggml.tokens"]).toHaveLength(512);
    expect(meta["tokenizer.ggml.scores"]).toBeInstanceOf(Float32Array);
    engine.free();
  });

  it("matches the reference logits and greedy ids, fed token by token (SIMD kernels)", async () => {
    const engine = await engineFor({ contextLength: 512, kvType: "f32" });
    let worst = 0;
    for (const c of cases) {
      engine.resetSequence(0);
      let logits = new Float32Array();
      c.prompt.forEach((t, pos) => (logits = logitsOf(engine, engine.forward(0, Uint32Array.of(t), pos, false)).slice()));
      const d = maxAbsDiff(logits, c.last_logits);
      worst = Math.max(worst, d);
      expect(d, `${c.name} last logits`).toBeLessThanOrEqual(1e-4);
      let pos = c.prompt.length;
      for (const [step, want] of c.greedy.entries()) {
        const next = argmax(logits);
        expect(next, `${c.name} greedy step ${step}`).toBe(want);
        if (pos === 512) break;
        logits = logitsOf(engine, engine.forward(0, Uint32Array.of(next), pos, false)).slice();
        if (c.final_logits && pos === c.final_pos) {
          expect(maxAbsDiff(logits, c.final_logits), `${c.name} final logits`).toBeLessThanOrEqual(1e-4);
        }
        pos++;
      }
    }
    console.log(`stories260K (SIMD, token by token): worst last-logit difference ${worst.toExponential(2)}`);
    engine.free();
  });

  it("matches the reference with batched prefill", async () => {
    const engine = await engineFor({ contextLength: 512, kvType: "f32", maxBatch: 16 }, 4093);
    for (const c of cases) {
      engine.resetSequence(0);
      const logits = logitsOf(engine, engine.forward(0, Uint32Array.from(c.prompt), 0, false));
      expect(maxAbsDiff(logits, c.last_logits), `${c.name} batched`).toBeLessThanOrEqual(1e-4);
      expect(argmax(logits)).toBe(c.greedy[0]);
      expect(engine.sequenceLength(0)).toBe(c.prompt.length);
    }
    engine.free();
  });

  it("maps misuse to typed errors, by code", async () => {
    const engine = await engineFor({ contextLength: 16, kvType: "f16" });
    const call = (fn: () => unknown) => () => engineCall(fn);
    expect(call(() => engine.forward(0, Uint32Array.of(1, 512), 0, false))).toThrow(InvalidArgumentError);
    expect(call(() => engine.forward(0, Uint32Array.of(1, 512), 0, false))).toThrow(/^token id 512/);
    let overflow: unknown;
    try {
      engineCall(() => engine.forward(0, new Uint32Array(17).fill(1), 0, false));
    } catch (err) {
      overflow = err;
    }
    expect(overflow).toBeInstanceOf(ContextOverflowError);
    expect(overflow).toMatchObject({ contextLength: 16, requested: 17, message: "positions 0..17 do not fit the context of 16 positions" });
    expect(call(() => engine.forward(3, Uint32Array.of(1), 0, false))).toThrow(/^sequence slot 3/);
    expect(call(() => engine.truncate(0, 1))).toThrow(InvalidArgumentError);
    engine.forward(0, Uint32Array.of(1, 2, 3), 0, false);
    engine.truncate(0, 1);
    expect(engine.sequenceLength(0)).toBe(1);
    engine.free();
    const e = await loadEngine();
    const badKv = (): unknown => new e.Engine(streamLoad(e, bytes, 1 << 20), toEngineOptions(e, { kvType: "f8" as KvType }));
    expect(call(badKv)).toThrow(InvalidArgumentError);
    expect(call(badKv)).toThrow(/^options: kvType must be/);
    expect(call(() => new e.Engine(streamLoad(e, bytes, 1 << 20), toEngineOptions(e, { contextLength: 1.5 })))).toThrow(/contextLength must be an integer/);
    const partial = new e.GgufLoader(0);
    const ptr = partial.nextRegion(100);
    new Uint8Array(engineMemory().buffer, ptr, partial.regionLen()).set(bytes.subarray(0, partial.regionLen()));
    partial.commit(partial.regionLen());
    expect(call(() => new e.Engine(partial, toEngineOptions(e, {})))).toThrow(ModelFormatError);
  });

  it("decodes at a measurable speed", async () => {
    const engine = await engineFor({ contextLength: 512 });
    const n = 256;
    const t0 = performance.now();
    let next = 1;
    for (let pos = 0; pos < n; pos++) next = argmax(logitsOf(engine, engine.forward(0, Uint32Array.of(next), pos, false)));
    const decode = (n / (performance.now() - t0)) * 1000;
    engine.resetSequence(0);
    const prompt = Uint32Array.from({ length: 256 }, (_, i) => (i * 7 + 1) % 512);
    const t1 = performance.now();
    engine.forward(0, prompt, 0, false);
    const prefill = (prompt.length / (performance.now() - t1)) * 1000;
    console.log(`stories260K f16 KV: decode ${decode.toFixed(0)} tok/s, prefill ${prefill.toFixed(0)} tok/s; memory ${JSON.stringify(plain(engine.memory()))}`);
    expect(decode).toBeGreaterThan(0);
    engine.free();
  });
});

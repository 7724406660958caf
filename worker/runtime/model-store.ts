/**
 * The isolate's loaded model: one at a time (128 MB), loaded from R2 on first use, verified against the catalog's
 * sha256 while it streams, and forgotten after any failure so the next request retries. Callers hold the model's
 * turn while they acquire and use it: concurrent first requests therefore queue behind the one load and find the
 * model ready (no cross-request promise, which workerd would cancel as hung), and swapping models never frees one
 * that is in use. The load beats the turn's lease per chunk; a load whose request died is reclaimed like any
 * silent holder, and stops at its next chunk if it ever wakes.
 */
import { Llama } from "../../lib/llama.js";
import type { ModelTurn, TurnLease } from "../../lib/turn.js";
import { edgeWeights, type CatalogEntry } from "../catalog/schema.js";
import { workerEngine } from "../engine.js";
import { log } from "../http/log.js";
import { EDGE_MODEL_MEMORY } from "./memory-budget.js";
import { hashedChunks } from "./r2-source.js";

/**
 * Why a model could not be loaded; the HTTP layer turns it into a 503 that names the model and the reason. The
 * message goes to clients, so it never carries R2 object keys or hashes: those are in `detail`, for the log.
 */
export class ModelLoadError extends Error {
  readonly detail: string;
  constructor(readonly modelId: string, reason: string, options?: { cause?: unknown; detail?: string }) {
    super(`Model '${modelId}' could not be loaded: ${reason}`, options);
    this.name = "ModelLoadError";
    this.detail = options?.detail ?? reason;
  }
}

export interface LoadedModel {
  id: string;
  llama: Llama;
  loadMs: number;
}

export interface LoadSettings {
  bucket: R2Bucket;
  /** Upper bound on KV cache positions (the catalog's contextLength may be larger than an isolate can hold). */
  maxContext: number;
  /** The caller's hold on the model's turn, and the turn the loaded model's generations take. */
  lease: TurnLease;
  turn: ModelTurn;
}

/** An R2 read may stall this long between chunks before the load counts as dead. */
const LOAD_GRACE_MS = 15_000;

export class ModelStore {
  #current: LoadedModel | undefined;
  readonly stats = { loads: 0, loadFailures: 0, lastLoadMs: 0 };

  get currentId(): string | undefined {
    return this.#current?.id;
  }

  /** The loaded model when it is `id` (reading its tokenizer needs no turn: nothing there awaits). */
  loaded(id: string): LoadedModel | undefined {
    return this.#current?.id === id ? this.#current : undefined;
  }

  /** The loaded model for `entry`; `loaded` says whether this call did the load (for Server-Timing). */
  async acquire(entry: CatalogEntry, settings: LoadSettings): Promise<{ model: LoadedModel; loaded: boolean }> {
    if (this.#current?.id === entry.id) return { model: this.#current, loaded: false };
    this.discard();
    this.#current = await this.#load(entry, settings);
    return { model: this.#current, loaded: true };
  }

  /** Frees the current model (after an engine failure, or to make room for another). */
  discard(): void {
    if (!this.#current) return;
    const old = this.#current;
    this.#current = undefined;
    try {
      old.llama.dispose();
    } catch (e) {
      log("warn", "model_dispose_failed", { model: old.id, error: String(e) });
    }
  }

  async #load(entry: CatalogEntry, settings: LoadSettings): Promise<LoadedModel> {
    const started = Date.now();
    this.stats.loads++;
    try {
      settings.lease.beat(LOAD_GRACE_MS); // R2 may take a while to answer before the first chunk
      workerEngine(); // instantiates the bundled module once; Llama.load then finds the engine ready
      const { r2Key, bytes, sha256 } = edgeWeights(entry);
      const object = await settings.bucket.get(r2Key);
      if (!object) throw new ModelLoadError(entry.id, "its weights are not in storage", { detail: `R2 object '${r2Key}' does not exist` });
      if (object.size !== bytes) {
        await object.body.cancel().catch(() => undefined);
        throw new ModelLoadError(entry.id, `the stored weights are ${object.size} bytes, the catalog says ${bytes}`, {
          detail: `R2 object '${r2Key}' is ${object.size} bytes, the catalog says ${bytes}`,
        });
      }
      const source = hashedChunks(object.body);
      let llama: Llama;
      try {
        llama = await Llama.load({
          model: source.chunks,
          turn: settings.turn,
          onProgress: () => {
            settings.lease.check();
            settings.lease.beat(LOAD_GRACE_MS);
          },
          size: object.size, // a header whose tensors extend past the object is refused before allocating
          contextLength: Math.min(entry.contextLength, settings.maxContext),
          memoryBudget: EDGE_MODEL_MEMORY,
          ...(entry.chatTemplate !== undefined ? { chatTemplate: entry.chatTemplate } : {}),
        });
      } catch (e) {
        const why = `the stored file is not a usable GGUF: ${(e as Error).message}`;
        throw new ModelLoadError(entry.id, why, { cause: e, detail: `R2 object '${r2Key}': ${why}` });
      }
      const got = await source.result().catch((e: Error) => ({ sha256: `unknown (${e.message})`, bytes: -1 }));
      if (got.sha256 !== sha256) {
        llama.dispose();
        throw new ModelLoadError(entry.id, "the stored weights do not match the catalog's sha256", {
          detail: `sha256 mismatch for R2 object '${r2Key}': expected ${sha256}, got ${got.sha256}`,
        });
      }
      const loadMs = Date.now() - started;
      this.stats.lastLoadMs = loadMs;
      log("info", "model_loaded", { model: entry.id, r2Key, bytes, loadMs, memory: llama.info.memory });
      return { id: entry.id, llama, loadMs };
    } catch (e) {
      this.stats.loadFailures++;
      // Anything else (an R2 or runtime error) may quote keys or internals: clients get a generic reason.
      const err = e instanceof ModelLoadError
        ? e
        : new ModelLoadError(entry.id, "reading its weights failed", { cause: e, detail: String((e as Error)?.message ?? e) });
      log("error", "model_load_failed", { model: entry.id, r2Key: entry.r2Key, error: err.detail });
      throw err;
    }
  }
}

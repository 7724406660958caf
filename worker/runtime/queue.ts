/**
 * The isolate's generation slot: one generation computes at a time (they share the CPU, the engine and 128 MB), up
 * to `maxWaiting` requests wait in FIFO order, anything beyond is refused at once so clients can retry elsewhere.
 */
import { AbortError } from "../../lib/errors.js";

export class QueueFullError extends Error {
  constructor(readonly waiting: number, readonly retryAfterSeconds: number) {
    super(`The server is busy: ${waiting} request(s) already waiting for this instance. Retry later.`);
    this.name = "QueueFullError";
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class GenerationQueue {
  #busy = false;
  #waiting: Waiter[] = [];
  /** Moving average of how long a slot is held, for Retry-After. */
  #avgHoldMs = 2_000;

  get running(): number {
    return this.#busy ? 1 : 0;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves with a release function once the slot is ours; rejects with QueueFullError or AbortError. */
  acquire(maxWaiting: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortError("request aborted while queued"));
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= maxWaiting) {
      const seconds = Math.max(1, Math.ceil(((this.#waiting.length + 1) * this.#avgHoldMs) / 1000));
      return Promise.reject(new QueueFullError(this.#waiting.length, seconds));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", waiter.onAbort);
          resolve(release);
        },
        signal,
        onAbort: () => {
          this.#waiting = this.#waiting.filter((w) => w !== waiter);
          reject(new AbortError("request aborted while queued"));
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** A one-shot release: hands the slot to the next waiter or frees it. */
  #releaser(): () => void {
    const since = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#avgHoldMs = 0.8 * this.#avgHoldMs + 0.2 * (Date.now() - since);
      const next = this.#waiting.shift();
      if (next) next.grant(this.#releaser());
      else this.#busy = false;
    };
  }
}

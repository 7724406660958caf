/**
 * The isolate's generation slot: one generation computes at a time (they share the CPU, the engine and 128 MB), up
 * to `maxWaiting` requests wait in FIFO order, anything beyond is refused at once so clients can retry elsewhere.
 *
 * Waiters poll a flag on a short timer instead of awaiting a promise that another request resolves: workerd treats
 * a request whose only pending work is a promise owned by a different request as hung and cancels it. A waiter whose
 * client leaves is removed from the abort event itself, because workerd drops that request's timers (its poll loop
 * may never run again); if the slot had already been handed to it, the handler passes the slot on.
 */
import { AbortError } from "../../lib/errors.js";

export class QueueFullError extends Error {
  constructor(readonly waiting: number, readonly retryAfterSeconds: number) {
    super(`The server is busy: ${waiting} request(s) already waiting for this instance. Retry later.`);
    this.name = "QueueFullError";
  }
}

/** How often a waiting request checks whether the slot was handed to it. */
const POLL_MS = 5;

interface Waiter {
  granted: boolean;
  abandoned: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  async acquire(maxWaiting: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new AbortError("request aborted while queued");
    if (!this.#busy) {
      this.#busy = true;
      return this.#releaser();
    }
    if (this.#waiting.length >= maxWaiting) {
      const seconds = Math.max(1, Math.ceil(((this.#waiting.length + 1) * this.#avgHoldMs) / 1000));
      throw new QueueFullError(this.#waiting.length, seconds);
    }
    const waiter: Waiter = { granted: false, abandoned: false };
    const onAbort = () => {
      waiter.abandoned = true;
      if (waiter.granted) this.#handOff();
      else this.#waiting = this.#waiting.filter((w) => w !== waiter);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiting.push(waiter);
    try {
      while (!waiter.granted && !waiter.abandoned) await sleep(POLL_MS);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (waiter.abandoned) throw new AbortError("request aborted while queued");
    return this.#releaser();
  }

  /** Gives the slot to the next waiter (which then owns it) or frees it. */
  #handOff(): void {
    const next = this.#waiting.shift();
    if (next) next.granted = true;
    else this.#busy = false;
  }

  /** A one-shot release: hands the slot to the next waiter (which stays busy) or frees it. */
  #releaser(): () => void {
    const since = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#avgHoldMs = 0.8 * this.#avgHoldMs + 0.2 * (Date.now() - since);
      this.#handOff();
    };
  }
}

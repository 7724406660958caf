/**
 * The model's turn: one user of an engine model at a time (a generation, or the load that precedes it), the others
 * waiting in ticket order. It is a lease, not a lock, because a holder can die without a word.
 *
 * Why a lease (what workerd does, measured with real sockets against local workerd; see docs/architecture.md):
 * when an HTTP client disconnects, workerd may deliver nothing to the request's JavaScript — no stream cancel(),
 * no request.signal abort unless a promise of that request is pending at that moment — and the dropped request's
 * timers and pending promises may never settle. A holder that would release "in finally" or "on abort" can
 * therefore hold the turn forever. So:
 * - The holder beats at every step it makes (a token, a prefill slice, a loaded chunk) and names how long its next
 *   wait may legitimately last. A newcomer or a waiter that finds it silent for longer reclaims it; with nobody
 *   waiting, a holder is left alone until it has been silent for `abandonMs` (then any look, e.g. /healthz, ends it). Idle time is measured from the first look after the latest beat, never from a
 *   timestamp the holder took: workerd's clock stands still while JavaScript runs, so the holder's own reading of
 *   Date.now() can be a whole forward pass old.
 * - Waiters poll on their own timers (never a promise that another request resolves, which workerd would cancel as
 *   hung). A waiter that stops polling is dropped; a waiter wrongly dropped during a long busy stretch puts itself
 *   back at its ticket's place on its next poll.
 * - A reclaimed holder that wakes up later finds its lease inactive and must stop before touching the model.
 */
import { AbortError, BusyError } from "./errors.js";

export interface TurnSettings {
  /** A holder silent for this long (ms) loses the turn. Default 30 s (library); the Worker uses seconds. */
  staleMs?: number;
  /** How often a waiter checks whether the turn is free (ms). */
  pollMs?: number;
  /** Silent this long, a holder is reclaimed even when nobody waits (ms). Default 30 s. */
  abandonMs?: number;
}

export interface AcquireOptions {
  signal?: AbortSignal | undefined;
  /** Refuse with BusyError when this many are already waiting. Default: no limit. */
  maxWaiting?: number | undefined;
}

interface Waiter {
  ticket: number;
  lastPoll: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ModelTurn {
  readonly staleMs: number;
  readonly pollMs: number;
  readonly abandonMs: number;
  readonly stats = { granted: 0, reclaimed: 0, waitersDropped: 0 };
  #holder: TurnLease | undefined;
  #waiters: Waiter[] = [];
  #nextTicket = 0;
  #lastLook = 0;
  /** Moving average of how long a turn is held, for Retry-After. */
  #avgHoldMs = 2_000;

  constructor(settings: TurnSettings = {}) {
    this.staleMs = settings.staleMs ?? 30_000;
    this.pollMs = settings.pollMs ?? 5;
    this.abandonMs = settings.abandonMs ?? 30_000;
  }

  /** Generations holding the turn (0 or 1), after reclaiming a dead holder. */
  get running(): number {
    this.#reap(Date.now());
    return this.#holder ? 1 : 0;
  }

  /** Requests waiting for the turn, after dropping the ones that stopped polling. */
  get waiting(): number {
    this.#reap(Date.now());
    return this.#waiters.length;
  }

  /** Seconds a newcomer would wait behind the current queue, at the average hold time. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((this.waiting + 1) * this.#avgHoldMs) / 1000));
  }

  /** The turn, once it is ours. Rejects with BusyError (queue full) or AbortError (signal). */
  async acquire(options: AcquireOptions = {}): Promise<TurnLease> {
    const { signal } = options;
    const aborted = () => new AbortError("request aborted while waiting for the model", { cause: signal?.reason });
    if (signal?.aborted) throw aborted();
    const now = Date.now();
    this.#reap(now, true);
    if (!this.#holder && this.#waiters.length === 0) return this.#grant();
    const maxWaiting = options.maxWaiting ?? Infinity;
    if (this.#waiters.length >= maxWaiting) {
      throw new BusyError(
        `The server is busy: ${this.#waiters.length} request(s) already waiting for this instance. Retry later.`,
        this.#waiters.length,
        this.retryAfterSeconds(),
      );
    }
    const me: Waiter = { ticket: this.#nextTicket++, lastPoll: now };
    this.#waiters.push(me);
    try {
      for (;;) {
        await sleep(this.pollMs);
        if (signal?.aborted) throw aborted();
        const t = Date.now();
        me.lastPoll = t;
        if (!this.#waiters.includes(me)) this.#enqueue(me);
        this.#reap(t, true);
        if (!this.#holder && this.#waiters[0] === me) {
          this.#waiters.shift();
          return this.#grant();
        }
      }
    } finally {
      this.#waiters = this.#waiters.filter((w) => w !== me);
    }
  }

  #grant(): TurnLease {
    this.stats.granted++;
    const lease = new TurnLease(this, this.staleMs);
    this.#holder = lease;
    return lease;
  }

  #enqueue(w: Waiter): void {
    const at = this.#waiters.findIndex((o) => o.ticket > w.ticket);
    if (at < 0) this.#waiters.push(w);
    else this.#waiters.splice(at, 0, w);
  }

  /** Reclaims a silent holder (sooner when someone wants the turn) and drops waiters that stopped polling. */
  #reap(now: number, contended = false): void {
    const holder = this.#holder;
    if (holder) {
      const silent = holder.silentFor(now);
      if (silent > this.abandonMs || ((contended || this.#waiters.length > 0) && silent > holder.graceMs)) {
        this.#end(holder, "reclaimed");
      }
    }
    // A waiter is dead only if it missed polls while the event loop was free: compare with the previous look, so a
    // long forward pass (no one could poll) does not condemn anybody.
    const horizon = this.#lastLook - Math.max(50 * this.pollMs, 250);
    const before = this.#waiters.length;
    this.#waiters = this.#waiters.filter((w) => w.lastPoll >= horizon);
    this.stats.waitersDropped += before - this.#waiters.length;
    this.#lastLook = now;
  }

  /** @internal Called by the lease: ends it (released by its holder, or reclaimed from a silent one). */
  end(lease: TurnLease, how: "released" | "reclaimed"): void {
    if (this.#holder === lease) this.#end(lease, how);
  }

  #end(lease: TurnLease, how: "released" | "reclaimed"): void {
    this.#holder = undefined;
    this.#avgHoldMs = 0.8 * this.#avgHoldMs + 0.2 * (Date.now() - lease.grantedAt);
    if (how === "reclaimed") this.stats.reclaimed++;
    lease.ended(how);
  }
}

/** One holder's right to use the model, until it releases it or goes silent for longer than it promised. */
export class TurnLease {
  readonly grantedAt = Date.now();
  #active = true;
  #reclaimed = false;
  #beats = 0;
  #seenBeat = -1;
  #seenAt = 0;
  #grace: number;
  /** What the holder's work must give back when the lease ends, whether released or reclaimed (a grammar matcher). */
  readonly #cleanups = new Set<() => void>();

  constructor(
    private readonly turn: ModelTurn,
    private readonly defaultGraceMs: number,
  ) {
    this.#grace = defaultGraceMs;
  }

  /** Whether the holder may still use the model. */
  get active(): boolean {
    return this.#active;
  }

  /** How long the holder may stay silent after its latest beat. */
  get graceMs(): number {
    return this.#grace;
  }

  /** The holder made progress; its next beat comes within `graceMs` (default: the turn's staleMs). */
  beat(graceMs = this.defaultGraceMs): void {
    this.#beats++;
    this.#grace = graceMs;
  }

  /** Throws AbortError if the turn was taken away (the holder must not touch the model again). */
  check(): void {
    if (this.#reclaimed) throw new AbortError("the model's turn was reclaimed: this generation stopped making progress");
    if (!this.#active) throw new AbortError("the model's turn was already released");
  }

  /**
   * Runs `cleanup` when the lease ends — released, or reclaimed from a holder that may never run again (a dead
   * request's code in workerd) — so nothing it held outlives its turn. At once if it has ended. Returns an unregister.
   */
  onEnd(cleanup: () => void): () => void {
    if (!this.#active) {
      cleanup();
      return () => {};
    }
    this.#cleanups.add(cleanup);
    return () => this.#cleanups.delete(cleanup);
  }

  /** Gives the turn back (idempotent; a no-op once reclaimed). */
  release(): void {
    this.turn.end(this, "released");
  }

  /** @internal How long since an observer first saw the latest beat (0 on first sight). */
  silentFor(now: number): number {
    if (this.#seenBeat !== this.#beats) {
      this.#seenBeat = this.#beats;
      this.#seenAt = now;
      return 0;
    }
    return now - this.#seenAt;
  }

  /** @internal */
  ended(how: "released" | "reclaimed"): void {
    this.#active = false;
    this.#reclaimed = how === "reclaimed";
    for (const cleanup of this.#cleanups) {
      try {
        cleanup();
      } catch {
        // One holder's failed cleanup must not stop the turn from passing on.
      }
    }
    this.#cleanups.clear();
  }
}

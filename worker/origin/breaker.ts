/**
 * A per-isolate circuit breaker. Closed: requests flow, consecutive failures are counted. After `threshold` of them it
 * opens: requests fail fast for `cooldownMs` (the client gets 503 + Retry-After instead of waiting on a dead origin).
 * Then half-open: exactly one trial request goes through; its success closes the breaker, its failure re-opens it.
 */
export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerSettings {
  threshold: number;
  cooldownMs: number;
}

/** One admitted request's obligation to report how it went (exactly once; later calls are ignored). */
export interface BreakerTicket {
  success(): void;
  failure(): void;
  /** Neither outcome is known (the client left first): frees a half-open trial slot without judging the origin. */
  abandon(): void;
}

export class BreakerOpenError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`origin circuit open; retry in ${retryAfterSeconds}s`);
    this.name = "BreakerOpenError";
  }
}

export class CircuitBreaker {
  #state: BreakerState = "closed";
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.#state === "open" && this.now() - this.#openedAt >= this.settings.cooldownMs) return "half-open";
    return this.#state;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** Admits a request or throws BreakerOpenError. */
  admit(): BreakerTicket {
    const state = this.state;
    if (state === "open") throw new BreakerOpenError(this.#retryAfter());
    if (state === "half-open") {
      if (this.#trialInFlight) throw new BreakerOpenError(Math.max(1, Math.ceil(this.settings.cooldownMs / 1000)));
      this.#state = "half-open";
      this.#trialInFlight = true;
      return this.#ticket(true);
    }
    return this.#ticket(false);
  }

  #ticket(trial: boolean): BreakerTicket {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (trial) this.#trialInFlight = false;
      fn();
    };
    return {
      success: () => settle(() => {
        this.#failures = 0;
        this.#state = "closed";
      }),
      failure: () => settle(() => {
        this.#failures++;
        if (trial || this.#failures >= this.settings.threshold) this.#open();
      }),
      abandon: () => settle(() => {}),
    };
  }

  #open(): void {
    this.#state = "open";
    this.#openedAt = this.now();
  }

  #retryAfter(): number {
    const left = this.settings.cooldownMs - (this.now() - this.#openedAt);
    return Math.max(1, Math.ceil(left / 1000));
  }
}

/** One breaker per origin URL and settings, living as long as the isolate. */
const breakers = new Map<string, CircuitBreaker>();

export function breakerFor(baseUrl: string, settings: BreakerSettings): CircuitBreaker {
  const key = `${baseUrl} ${settings.threshold} ${settings.cooldownMs}`;
  let b = breakers.get(key);
  if (!b) {
    b = new CircuitBreaker(settings);
    breakers.set(key, b);
  }
  return b;
}

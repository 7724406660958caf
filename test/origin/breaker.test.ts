/** The circuit breaker's state machine on a fake clock (the fault tests cover it end to end over HTTP). */
import { describe, expect, it } from "vitest";
import { BreakerOpenError, CircuitBreaker } from "../../worker/origin/breaker.js";

function setup(threshold = 3, cooldownMs = 1000) {
  let now = 0;
  const breaker = new CircuitBreaker({ threshold, cooldownMs }, () => now);
  return { breaker, advance: (ms: number) => (now += ms) };
}

describe("CircuitBreaker", () => {
  it("opens after `threshold` consecutive failures, and a success in between resets the count", () => {
    const { breaker } = setup(3);
    breaker.admit().failure();
    breaker.admit().failure();
    breaker.admit().success();
    expect(breaker.consecutiveFailures).toBe(0);
    for (let i = 0; i < 3; i++) breaker.admit().failure();
    expect(breaker.state).toBe("open");
    expect(() => breaker.admit()).toThrow(BreakerOpenError);
  });

  it("reports the remaining cool-down as Retry-After seconds, rounded up", () => {
    const { breaker, advance } = setup(1, 2500);
    breaker.admit().failure();
    try {
      breaker.admit();
      expect.unreachable();
    } catch (e) {
      expect((e as BreakerOpenError).retryAfterSeconds).toBe(3);
    }
    advance(2000);
    expect(() => breaker.admit()).toThrow(expect.objectContaining({ retryAfterSeconds: 1 }));
  });

  it("half-open admits exactly one trial; its success closes the breaker", () => {
    const { breaker, advance } = setup(1, 1000);
    breaker.admit().failure();
    advance(1000);
    expect(breaker.state).toBe("half-open");
    const trial = breaker.admit();
    expect(() => breaker.admit()).toThrow(BreakerOpenError); // the trial is still running
    trial.success();
    expect(breaker.state).toBe("closed");
    breaker.admit().success();
  });

  it("a failed trial re-opens for a full cool-down", () => {
    const { breaker, advance } = setup(5, 1000);
    for (let i = 0; i < 5; i++) breaker.admit().failure();
    advance(1000);
    breaker.admit().failure();
    expect(breaker.state).toBe("open");
    advance(999);
    expect(breaker.state).toBe("open");
    advance(1);
    expect(breaker.state).toBe("half-open");
  });

  it("an abandoned trial frees the slot without judging the origin", () => {
    const { breaker, advance } = setup(1, 1000);
    breaker.admit().failure();
    advance(1000);
    breaker.admit().abandon();
    expect(breaker.state).toBe("half-open");
    const next = breaker.admit();
    next.success();
    expect(breaker.state).toBe("closed");
  });

  it("a ticket counts once, however often it is settled", () => {
    const { breaker } = setup(2);
    const t = breaker.admit();
    t.failure();
    t.failure();
    expect(breaker.consecutiveFailures).toBe(1);
    expect(breaker.state).toBe("closed");
  });
});

/** The model's turn (lib/turn.ts): order, refusal, cancellation, and reclaiming a holder that went silent. */
import { describe, expect, it } from "vitest";
import { AbortError, BusyError, Llama, ModelTurn } from "../../lib/node/index.js";
import { fixturePath } from "../helpers/fixtures.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ModelTurn", () => {
  it("grants in arrival order, one holder at a time", async () => {
    const turn = new ModelTurn({ pollMs: 1 });
    const first = await turn.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((i) =>
      turn.acquire().then((lease) => {
        order.push(i);
        expect(turn.running).toBe(1);
        return sleep(5).then(() => lease.release());
      }),
    );
    await sleep(10);
    expect(turn.waiting).toBe(3);
    first.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect([turn.running, turn.waiting]).toEqual([0, 0]);
  });

  it("refuses with BusyError beyond maxWaiting, with a Retry-After from the queue", async () => {
    const turn = new ModelTurn({ pollMs: 1 });
    const holder = await turn.acquire();
    const waiting = turn.acquire({ maxWaiting: 1 });
    const refused = await turn.acquire({ maxWaiting: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BusyError);
    expect((refused as BusyError).code).toBe("busy");
    expect((refused as BusyError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    holder.release();
    (await waiting).release();
  });

  it("a waiter whose signal aborts leaves the queue at once", async () => {
    const turn = new ModelTurn({ pollMs: 1 });
    const holder = await turn.acquire();
    const gone = new AbortController();
    const waiter = turn.acquire({ signal: gone.signal });
    await sleep(5);
    expect(turn.waiting).toBe(1);
    gone.abort();
    await expect(waiter).rejects.toBeInstanceOf(AbortError);
    expect(turn.waiting).toBe(0);
    holder.release();
  });

  it("reclaims a silent holder for a waiter; the old holder can no longer use the model", async () => {
    const turn = new ModelTurn({ staleMs: 30, pollMs: 2 });
    const silent = await turn.acquire();
    const next = await turn.acquire();
    expect(silent.active).toBe(false);
    expect(() => silent.check()).toThrow(AbortError);
    silent.release(); // a late release from the dead holder must not free the new one's turn
    expect(turn.running).toBe(1);
    expect(turn.stats.reclaimed).toBe(1);
    next.release();
  });

  it("leaves a beating holder alone however long it runs", async () => {
    const turn = new ModelTurn({ staleMs: 30, pollMs: 2 });
    const busy = await turn.acquire();
    let waiterGot = false;
    const waiter = turn.acquire().then((l) => ((waiterGot = true), l));
    for (let i = 0; i < 10; i++) {
      await sleep(10);
      busy.beat();
    }
    expect(busy.active).toBe(true);
    expect(waiterGot).toBe(false);
    busy.release();
    (await waiter).release();
  });

  it("with nobody waiting, keeps a quiet holder until abandonMs", async () => {
    const turn = new ModelTurn({ staleMs: 10, abandonMs: 60 });
    const quiet = await turn.acquire();
    await sleep(30);
    expect(turn.running).toBe(1); // the first look starts its silence clock
    await sleep(80);
    expect(turn.running).toBe(0);
    expect(quiet.active).toBe(false);
  });
});

describe("Llama generations share the model's turn", () => {
  it("a stream its caller stopped pulling loses the turn to the next generation", async () => {
    const turn = new ModelTurn({ staleMs: 50, pollMs: 2 });
    const llama = await Llama.load({ model: await fixturePath("tiny-llama"), contextLength: 256, turn });
    const abandoned = llama.generateStream("Hello", { temperature: 0, maxTokens: 50 });
    await abandoned.next(); // holds the turn, then is never resumed or returned
    const next = await llama.generate("Hello", { temperature: 0, maxTokens: 5 });
    expect(next.usage.completionTokens).toBe(5);
    expect(turn.stats.reclaimed).toBe(1);
    // Resuming the abandoned stream now fails instead of touching the model under the new holder.
    await expect(abandoned.next()).rejects.toBeInstanceOf(AbortError);
    llama.dispose();
  });
});

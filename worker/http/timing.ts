/**
 * `Server-Timing` (load, prefill, origin phases): Hono's timing middleware renders the header; a backend adds its
 * phases through the ServerTiming it is handed, without knowing Hono's context.
 */
import type { Context, MiddlewareHandler } from "hono";
import { setMetric, timing, type TimingVariables } from "hono/timing";

export interface ServerTiming {
  add(name: string, ms: number, desc?: string): void;
}

/** The header only when a phase was recorded (no total: the phases are what a client compares). */
export const serverTiming = (): MiddlewareHandler<{ Variables: TimingVariables }> =>
  timing({ total: false, enabled: (c) => (c.get("metric")?.headers.length ?? 0) > 0 });

export const timingOf = <E extends { Variables: TimingVariables }>(c: Context<E>): ServerTiming => ({
  add: (name, ms, desc) => setMetric(c, name, ms, desc),
});

import { Hono } from "hono";
import type { Env } from "./env.js";
import { workerEngine } from "./engine.js";

export const app = new Hono<{ Bindings: Env }>();

app.get("/healthz", (c) => {
  const engine = workerEngine();
  return c.json({ status: "ok", engine: { version: engine.engineVersion(), simd128: engine.simdEnabled() } });
});

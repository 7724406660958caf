/**
 * `ellm serve` in a child Node process, for the scripts and test setups that need a real OpenAI server beside the
 * Worker (bench:workerd's Node side, the origin project's upstream), and the child-process helpers they share.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

export interface ServeChild {
  child: ChildProcess;
  /** http://127.0.0.1:<port>, without /v1. */
  url: string;
  /** The id it serves the file as (from the file name). */
  model: string;
}

/** Serves `file` on a free loopback port with `context` KV positions and auth off; resolves once it listens. */
export function spawnEllmServe(file: string, context: number): Promise<ServeChild> {
  // Read through globalThis: the vitest workers pool's Vite config rewrites the `process.env` expression.
  const node = Reflect.get(globalThis, "process") as NodeJS.Process;
  const child = spawn(node.execPath, [resolve("bin/ellm.js"), "serve", file, "--port", "0", "--host", "127.0.0.1", "--context", String(context)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...node.env, API_KEYS: "" },
  });
  return awaitLine(child, /serving (\S+) on (http:\/\/\S+)\/v1/, 120_000, "ellm serve").then((m) => ({ child, model: m[1]!, url: m[2]! }));
}

/** Resolves with the first match of `pattern` in the child's stdout or stderr; later output is not kept. */
export function awaitLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  let stderr = "";
  let out = "";
  let found = false;
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    const scan = (d: Buffer) => {
      if (found) return;
      out += d;
      const m = pattern.exec(out);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolvePromise(m);
      }
    };
    child.stdout?.on("data", scan);
    child.stderr!.on("data", (d: Buffer) => {
      if (!found) stderr = (stderr + d).slice(-4000);
      scan(d);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (code ${code}) before it was ready:\n${stderr}`));
    });
  });
}

/** SIGTERM, then waits for the exit (nothing to do for a child already gone). */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  await exited;
}

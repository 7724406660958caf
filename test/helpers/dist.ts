/**
 * The package as it ships: `npm run build` into dist/, redone only when its inputs changed (a hash stamp), under a
 * lock, since the browser and packaging tests run in parallel workers.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runOk } from "./run.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const INPUTS = ["lib", "worker", "models", "wasm/pkg", "tsconfig.json", "tsconfig.build.json", "package.json"];
// Outside dist/, so the stamp does not ship in the package.
const STAMP = join(ROOT, "node_modules/.ellm-dist-inputs-hash");
const LOCK = join(ROOT, "dist.lock");

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => files(join(path, name)));
}

function inputsHash(): string {
  const h = createHash("sha256");
  for (const input of INPUTS) {
    for (const file of files(join(ROOT, input))) h.update(file).update(readFileSync(file));
  }
  return h.digest("hex");
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run is stale after the deadline's worth of waiting.
      if (Date.now() > deadline) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Builds dist/ unless it is up to date with the sources; returns its path. */
export function ensureDist(): Promise<string> {
  return withLock(async () => {
    const hash = inputsHash();
    if (existsSync(STAMP) && readFileSync(STAMP, "utf8") === hash) return join(ROOT, "dist");
    await runOk("npm", ["run", "build"], { cwd: ROOT });
    writeFileSync(STAMP, hash);
    return join(ROOT, "dist");
  });
}

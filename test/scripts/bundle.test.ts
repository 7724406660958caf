/** `wrangler deploy --dry-run`: the Worker bundles (engine .wasm as a precompiled module) within the free plan's size. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

/** Workers Free: 3 MB after compression (Paid: 10 MB). */
const FREE_PLAN_GZIP_BYTES = 3 * 1024 * 1024;

describe("deploy bundle", () => {
  it("bundles the Worker and its engine module under the free plan's 3 MB (gzip)", () => {
    const out = mkdtempSync(join(tmpdir(), "ellm-bundle-"));
    try {
      const run = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out], {
        encoding: "utf8",
        env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      });
      expect(run.status, run.stderr).toBe(0);
      const files = readdirSync(out);
      const wasm = files.filter((f) => f.endsWith(".wasm"));
      expect(wasm, "the engine is uploaded as a module, not inlined").toHaveLength(1);
      expect(files).toContain("index.js");
      const gzip = [...wasm, "index.js"].reduce((n, f) => n + gzipSync(readFileSync(join(out, f))).byteLength, 0);
      expect(gzip).toBeLessThan(FREE_PLAN_GZIP_BYTES);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

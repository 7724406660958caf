/**
 * `wrangler deploy --dry-run`: the Worker bundles (engine builds and grammar .wasm as precompiled modules) within the free
 * plan's size, and the bundle, served by workerd on a real loopback socket, keeps keep-alive connections usable after a 413.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Workers Free: 3 MB after compression (Paid: 10 MB). */
const FREE_PLAN_GZIP_BYTES = 3 * 1024 * 1024;

let out: string;
let built: ReturnType<typeof spawnSync>;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "ellm-bundle-"));
  built = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out], {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("deploy bundle", () => {
  it("bundles the Worker, its two engine builds, the relaxed-SIMD probe and the grammar module under the free plan's 3 MB (gzip)", () => {
    expect(built.status, String(built.stderr)).toBe(0);
    const files = readdirSync(out);
    const wasm = files.filter((f) => f.endsWith(".wasm"));
    expect(wasm, "the engines (SIMD128, relaxed), the probe and the grammar module are uploaded as modules, not inlined").toHaveLength(4);
    expect(files).toContain("index.js");
    const sizes = [...wasm, "index.js"].map((f) => {
      const bytes = readFileSync(join(out, f));
      return { f, raw: bytes.byteLength, gzip: gzipSync(bytes).byteLength };
    });
    for (const s of sizes) console.log(`[bundle] ${s.f}: ${(s.raw / 1024).toFixed(0)} KiB, ${(s.gzip / 1024).toFixed(0)} KiB gzip`);
    const gzip = sizes.reduce((n, s) => n + s.gzip, 0);
    console.log(`[bundle] total: ${(sizes.reduce((n, s) => n + s.raw, 0) / 1024).toFixed(0)} KiB, ${(gzip / 1024).toFixed(0)} KiB gzip`);
    expect(gzip).toBeLessThan(FREE_PLAN_GZIP_BYTES);
  });

  describe("over a loopback socket (workerd via Miniflare)", () => {
    const MAX_BODY = 65_536;
    let mf: Miniflare;
    let base: URL;
    // One socket: every request reuses the connection the previous one left.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

    beforeAll(async () => {
      expect(built.status, String(built.stderr)).toBe(0);
      const wasm = readdirSync(out).filter((f) => f.endsWith(".wasm"));
      mf = new Miniflare({
        modules: [
          { type: "ESModule", path: join(out, "index.js") },
          ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(out, f) })),
        ],
        modulesRoot: out,
        compatibilityDate: "2025-09-01",
        compatibilityFlags: ["enable_request_signal"],
        r2Buckets: ["MODELS"],
        bindings: { MAX_BODY_BYTES: String(MAX_BODY), CATALOG: "[]" },
      });
      base = await mf.ready;
    });
    afterAll(async () => {
      agent.destroy();
      await mf?.dispose();
    });

    /** POSTs `size` bytes, chunked (no Content-Length) or sized; resolves with the status, or the socket error. */
    const send = (size: number, chunked: boolean) =>
      new Promise<string>((resolve) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (!chunked) headers["content-length"] = String(size);
        const req = http.request(new URL("/v1/chat/completions", base), { method: "POST", agent, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve(String(res.statusCode)));
        });
        req.on("error", (e) => resolve(`socket error: ${e.message}`));
        let sent = 0;
        const pump = (): void => {
          while (sent < size) {
            const n = Math.min(8192, size - sent);
            sent += n;
            if (!req.write("y".repeat(n))) {
              req.once("drain", pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });

    it("answers an oversized chunked or sized body with 413 and serves the next request on the same connection", { timeout: 60_000 }, async () => {
      for (let round = 0; round < 2; round++) {
        expect(await send(4 * MAX_BODY, true)).toBe("413");
        expect(await send(10, false)).toBe("400"); // "yyyyyyyyyy" is not JSON: the request got through
        expect(await send(4 * MAX_BODY, false)).toBe("413");
        expect(await send(10, false)).toBe("400");
      }
    });

    it("drops the connection of a body far over the limit, and a new connection is served", { timeout: 60_000 }, async () => {
      await send(50 * MAX_BODY, true); // 413 or a reset mid-upload: the server stops reading
      await new Promise((r) => setTimeout(r, 50));
      expect(await send(10, false)).toBe("400");
    });
  });
});

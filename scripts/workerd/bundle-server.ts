/**
 * The deploy bundle (exactly what `wrangler deploy` uploads) served by local workerd through Miniflare on a real
 * loopback port, with GGUF files in its local R2. Used by bench:workerd, the soak script, the real-socket tests and
 * the browser tests: a TCP client that vanishes exercises workerd's own disconnect handling, which an in-process
 * fetch never does.
 */
import { runOk } from "../../test/helpers/run.js";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Miniflare } from "miniflare";

export interface BundleModel {
  id: string;
  file: string;
  contextLength: number;
}

export interface BundleServer {
  url: string;
  mf: Miniflare;
  /** Stops workerd; the bundle stays on disk for the next start. */
  stop(): Promise<void>;
}

export interface Bundle {
  dir: string;
  /** The engine's and the grammar module's .wasm files. */
  wasmFiles: string[];
  remove(): void;
}

/**
 * Builds the Worker with `wrangler deploy --dry-run` into a temporary folder (awaited, not spawnSync: a long
 * synchronous child stalls a vitest worker's RPC under load).
 */
export async function buildBundle(): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), "ellm-bundle-"));
  await runOk("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dir], { env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  const wasmFiles = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
  if (wasmFiles.length === 0) throw new Error("the bundle has no .wasm module");
  return { dir, wasmFiles, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh workerd isolate serving `models` from local R2; `port: 0` picks a free port. */
export async function startBundle(
  bundle: Bundle,
  models: BundleModel[],
  options: { port?: number; bindings?: Record<string, string> } = {},
): Promise<BundleServer> {
  const files = models.map((m) => ({ m, bytes: readFileSync(m.file) }));
  const catalog = files.map(({ m, bytes }) => ({
    id: m.id, r2Key: `models/${basename(m.file)}`, bytes: bytes.byteLength,
    sha256: createHash("sha256").update(bytes).digest("hex"), format: "gguf", quantization: "test",
    contextLength: m.contextLength, backend: "edge",
  }));
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: join(bundle.dir, "index.js") },
      ...bundle.wasmFiles.map((f) => ({ type: "CompiledWasm" as const, path: join(bundle.dir, f) })),
    ],
    modulesRoot: bundle.dir,
    compatibilityDate: "2025-09-01",
    compatibilityFlags: ["enable_request_signal"],
    r2Buckets: ["MODELS"],
    host: "127.0.0.1",
    port: options.port ?? 0,
    bindings: { CATALOG: JSON.stringify(catalog), ...options.bindings },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const bucket = await mf.getR2Bucket("MODELS");
  for (const [i, { bytes }] of files.entries()) {
    const body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    // Miniflare's R2 proxy uploads over a loopback socket; on a loaded machine workerd has closed it mid-upload of a
    // 98 MB model once (fetch failed: write EPIPE). Two more tries; a persistent failure still throws.
    for (let attempt = 1; ; attempt++) {
      try {
        await bucket.put(catalog[i]!.r2Key, body);
        break;
      } catch (e) {
        if (attempt === 3) throw e;
      }
    }
  }
  return { url, mf, stop: () => mf.dispose() };
}

/**
 * The deploy bundle (`wrangler deploy --dry-run`, exactly what would be uploaded) in local workerd through Miniflare,
 * listening on a real loopback port, with GGUF files put into its local R2 and a catalog naming them.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Miniflare } from "miniflare";
import { runOk } from "./run.js";

export interface ServedModel {
  id: string;
  path: string;
  contextLength: number;
}

export interface WorkerServer {
  url: string;
  close(): Promise<void>;
}

export async function startWorkerServer(models: ServedModel[], bindings: Record<string, string> = {}): Promise<WorkerServer> {
  const outdir = mkdtempSync(join(tmpdir(), "ellm-workerd-"));
  await runOk("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], { env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  const wasm = readdirSync(outdir).filter((f) => f.endsWith(".wasm")); // the engine and the grammar module
  if (wasm.length === 0) throw new Error("the bundle has no .wasm module");

  const files = models.map((m) => ({ ...m, bytes: readFileSync(m.path), r2Key: `local/${basename(m.path)}` }));
  const catalog = files.map((f) => ({
    id: f.id, r2Key: f.r2Key, bytes: f.bytes.byteLength, sha256: createHash("sha256").update(f.bytes).digest("hex"),
    format: "gguf", quantization: "F32", contextLength: f.contextLength, backend: "edge",
  }));
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: join(outdir, "index.js") },
      ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(outdir, f) })),
    ],
    modulesRoot: outdir,
    compatibilityDate: "2025-09-01",
    compatibilityFlags: ["enable_request_signal"],
    r2Buckets: ["MODELS"],
    bindings: { CATALOG: JSON.stringify(catalog), ...bindings },
    host: "127.0.0.1",
    port: 0,
  });
  const url = await mf.ready;
  const bucket = await mf.getR2Bucket("MODELS");
  for (const f of files) {
    await bucket.put(f.r2Key, f.bytes.buffer.slice(f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.byteLength) as ArrayBuffer);
  }
  return {
    url: url.origin,
    async close() {
      await mf.dispose();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

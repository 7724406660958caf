import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config";
import { buildFixture, makeFixture } from "./scripts/make-fixtures.mjs";
import { COMPACT_TOOLS_TEMPLATE } from "./test/fixtures/tool-template.js";
import { defectiveModels } from "./test/helpers/defective-models.js";
import { HOSTILE_TEMPLATES } from "./test/helpers/hostile-templates.js";

// Worker tests run inside workerd with the bindings of wrangler.toml; R2 is miniflare's local R2 (real, not a mock).
// workerd has no file system, so GGUF fixtures reach it through a test-only service binding (FIXTURES, run in Node)
// that the tests copy into env.MODELS; the test catalog (CATALOG) points at them with their real sizes and hashes.
const FIXTURE_DIR = resolve("test/.fixtures");
const STORIES = resolve("../shared/models/stories260K.gguf");

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export default defineWorkersProject(async () => {
  const tinyPath = await makeFixture("tiny-llama", FIXTURE_DIR);
  const tiny = readFileSync(tinyPath);
  // A GGUF cut in half: the header parses, the tensor data ends early.
  const truncatedPath = resolve(FIXTURE_DIR, "tiny-llama-truncated.gguf");
  const truncated = tiny.subarray(0, Math.floor(tiny.byteLength / 2));
  if (!existsSync(truncatedPath) || sha256(readFileSync(truncatedPath)) !== sha256(truncated)) writeFileSync(truncatedPath, truncated);

  // The same weights with a template that never ends in the GGUF's own tokenizer.chat_template.
  const hostileGgufPath = resolve(FIXTURE_DIR, "tiny-llama-hostile-template.gguf");
  const hostileGguf = await buildFixture("tiny-llama", {
    metadata: { "tokenizer.chat_template": [HOSTILE_TEMPLATES["exponential macro recursion"]!, "string"] },
  }).toBytes();
  if (!existsSync(hostileGgufPath) || sha256(readFileSync(hostileGgufPath)) !== sha256(hostileGguf)) writeFileSync(hostileGgufPath, hostileGguf);

  const files: Record<string, string> = {
    "tiny-llama.gguf": tinyPath,
    "tiny-llama-truncated.gguf": truncatedPath,
    "tiny-llama-hostile-template.gguf": hostileGgufPath,
  };
  // Broken copies of tiny-llama (test/helpers/defective-models.ts), as catalog entries defect-<i>.
  const defects = Object.entries(await defectiveModels()).map(([name, d], i) => {
    const file = `defect-${i}.gguf`;
    const path = resolve(FIXTURE_DIR, file);
    if (!existsSync(path) || sha256(readFileSync(path)) !== sha256(d.bytes)) writeFileSync(path, d.bytes);
    files[file] = path;
    return { name, file, bytes: d.bytes, error: d.error.source, atSampling: d.atSampling === true };
  });
  const entry = (id: string, file: string, bytes: Uint8Array, contextLength: number, extra: object = {}) => ({
    id, r2Key: `test/${file}`, bytes: bytes.byteLength, sha256: sha256(bytes), format: "gguf", quantization: "F32", contextLength,
    backend: "edge", ...extra,
  });
  const catalog: object[] = [
    entry("tiny-llama", "tiny-llama.gguf", tiny, 256, { description: "random-weight llama fixture" }),
    // The same weights with a short template that renders tools (the generic tool prompt needs more positions).
    entry("tiny-tools", "tiny-llama.gguf", tiny, 256, { chatTemplate: COMPACT_TOOLS_TEMPLATE }),
    { ...entry("bad-hash", "tiny-llama.gguf", tiny, 256), sha256: "0".repeat(64) },
    entry("missing-object", "not-uploaded.gguf", tiny, 256),
    entry("truncated", "tiny-llama-truncated.gguf", truncated, 256),
    { ...entry("origin-only", "none.gguf", tiny, 4096), backend: "origin", origin: { model: "big-model" } },
    { ...entry("huge-auto", "none.gguf", tiny, 4096), bytes: 2_000_000_000, backend: "auto" },
    entry("hostile-gguf-template", "tiny-llama-hostile-template.gguf", hostileGguf, 256),
    // One entry per hostile template, as the catalog's chatTemplate over the good weights.
    ...Object.values(HOSTILE_TEMPLATES).map((chatTemplate, i) => entry(`hostile-template-${i}`, "tiny-llama.gguf", tiny, 256, { chatTemplate })),
    ...defects.map((d, i) => entry(`defect-${i}`, d.file, d.bytes, 256)),
  ];
  if (existsSync(STORIES)) {
    const stories = readFileSync(STORIES);
    files["stories260K.gguf"] = STORIES;
    files["stories260K.reference.json"] = resolve("../shared/models/stories260K.reference.json");
    catalog.push(entry("stories", "stories260K.gguf", stories, 512));
  }

  return {
    test: {
      name: "worker",
      include: ["test/worker/**/*.test.ts"],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      poolOptions: {
        workers: {
          singleWorker: true,
          // Streams that a test cancels on purpose would trip isolated storage's "all bodies consumed" check.
          isolatedStorage: false,
          wrangler: { configPath: "./wrangler.toml" },
          miniflare: {
            bindings: {
              API_KEYS: "test-key-1, test-key-2",
              CORS_ORIGINS: "https://app.example",
              MAX_QUEUE: "2",
              MAX_BODY_BYTES: "65536",
              CATALOG: JSON.stringify(catalog),
              HAVE_STORIES: existsSync(STORIES) ? "yes" : "",
              HOSTILE_TEMPLATES: JSON.stringify(Object.keys(HOSTILE_TEMPLATES)),
              DEFECTS: JSON.stringify(defects.map(({ name, file, error, atSampling }) => ({ name, file, error, atSampling }))),
            },
            serviceBindings: {
              FIXTURES: async (req: Request) => {
                const name = new URL(req.url).pathname.slice(1);
                // The same completion computed by the library in Node (a child process), for the cross-runtime test.
                if (name === "node-generate" && existsSync(STORIES)) {
                  const run = spawnSync("npx", ["tsx", "test/helpers/node-generate.ts", STORIES, await req.text()], { encoding: "utf8" });
                  return run.status === 0 ? new Response(run.stdout) : new Response(run.stderr, { status: 500 });
                }
                const path = files[name];
                if (!path) return new Response(`no fixture ${name}`, { status: 404 });
                return new Response(readFileSync(path));
              },
            },
          },
        },
      },
    },
  };
});

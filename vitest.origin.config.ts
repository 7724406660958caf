import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config";
import { makeFixture } from "./scripts/make-fixtures.mjs";
import { upstreamContext } from "./test/origin/upstream-context.js";
import { COMPACT_TOOLS_TEMPLATE } from "./test/fixtures/tool-template.js";

// The origin fallback's tests run inside workerd, like the Worker's: the OriginBackend makes real loopback fetches to
// two Node-side origins started by test/origin/global-setup.ts — a fault-injecting one and a real OpenAI server
// (llama.cpp's where installed, else `ellm serve`).
// The catalog has the same small model once on the edge and once on the origin, so one contract suite runs on both.
const STORIES = resolve("../shared/models/stories260K.gguf");

export default defineWorkersProject(async () => {
  // stories260K from ../shared, else the generated tiny model (the upstream serves the same file).
  const modelPath = existsSync(STORIES) ? STORIES : await makeFixture("tiny-llama", resolve("test/.fixtures"));
  const stories = readFileSync(modelPath);
  const common = {
    r2Key: "test/stories260K.gguf", bytes: stories.byteLength, sha256: createHash("sha256").update(stories).digest("hex"),
    format: "gguf", quantization: "F32", contextLength: upstreamContext(),
  };
  return {
    test: {
      name: "origin",
      include: ["test/origin/**/*.test.ts"],
      globalSetup: ["test/origin/global-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      poolOptions: {
        workers: ({ inject }: { inject: (key: "upstreamModel" | "faultUrl") => string }) => ({
          singleWorker: true,
          isolatedStorage: false,
          wrangler: { configPath: "./wrangler.toml" },
          miniflare: {
            bindings: {
              CATALOG: JSON.stringify([
                { id: "stories", ...common, backend: "edge" },
                { id: "stories-origin", ...common, backend: "origin", origin: { model: inject("upstreamModel") } },
                { id: "stories-huge", ...common, bytes: 2_000_000_000, backend: "auto", origin: { model: inject("upstreamModel") } },
                // Small enough for the edge, but its weights are missing from R2: the edge refuses, the origin answers.
                { id: "stories-auto-missing", ...common, r2Key: "test/not-uploaded.gguf", backend: "auto", origin: { model: inject("upstreamModel") } },
                { id: "stories-edge-missing", ...common, r2Key: "test/not-uploaded.gguf", backend: "edge" },
                // Small enough for the edge, tools included (a short template that renders them: 512 positions
                // cannot hold the generic tool prompt).
                { id: "stories-auto", ...common, backend: "auto", origin: { model: "tool-model" }, chatTemplate: COMPACT_TOOLS_TEMPLATE },
              ]),
              // The Worker's origin is the real upstream behind the fault server's recording relay, so tests can check what
              // the Worker sent (headers, model name) while a real server answers.
              ORIGIN_URL: `${inject("faultUrl")}/relay`,
              ORIGIN_API_KEY: "origin-secret",
              API_KEYS: "client-secret",
            },
            serviceBindings: {
              FIXTURES: (req: Request) =>
                new URL(req.url).pathname === "/stories260K.gguf" ? new Response(readFileSync(modelPath)) : new Response("no such fixture", { status: 404 }),
            },
          },
        }),
      },
    },
  };
});

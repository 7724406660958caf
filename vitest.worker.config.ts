import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config";

// Worker tests run inside workerd with the bindings of wrangler.toml; R2 is miniflare's local R2 (real, not a mock).
export default defineWorkersProject({
  test: {
    name: "worker",
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 120_000,
    poolOptions: {
      workers: {
        singleWorker: true,
        wrangler: { configPath: "./wrangler.toml" },
      },
    },
  },
});

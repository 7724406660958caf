import { defineConfig } from "vitest/config";

// `engine` runs the engine and library in Node; `worker` runs the Worker inside real workerd; `origin` runs the
// Worker's origin fallback inside workerd against Node-side origins (a fault injector and, when available, llama.cpp).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "engine",
          environment: "node",
          include: ["test/engine/**/*.test.ts", "test/lib/**/*.test.ts", "test/scripts/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      "./vitest.worker.config.ts",
      "./vitest.origin.config.ts",
    ],
  },
});

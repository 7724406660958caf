import { defineConfig } from "vitest/config";

// Two projects: `engine` runs the engine and library in Node; `worker` runs the Worker inside real workerd.
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
    ],
  },
});

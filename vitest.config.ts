import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Test files that are reference comparisons against ../shared/models (real tokenizers and their reference outputs)
// from top to bottom. Without ../shared they are left out, saying so; every other test runs on generated fixtures.
const SHARED_REFERENCE_TESTS = [
  "test/lib/chat.test.ts",
  "test/lib/tokenizer.test.ts",
  "test/lib/tokenizer-corpus.test.ts",
  "test/lib/tokenizer-gguf.test.ts",
  "test/lib/tokenizer-reference.test.ts",
  "test/lib/tokenizer-spm-json.test.ts",
  "test/lib/tokenizer-spm-whitespace.test.ts",
];
const hasShared = existsSync("../shared/models/stories260K.gguf");
if (!hasShared) console.warn(`../shared/models is absent: skipping ${SHARED_REFERENCE_TESTS.join(", ")}`);

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
          exclude: hasShared ? [] : SHARED_REFERENCE_TESTS,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // Headless Chromium (the system's, over CDP): the playground page, and the library's browser entry.
        test: {
          name: "browser",
          environment: "node",
          include: ["test/browser/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The deploy bundle in real workerd on a real port, over real sockets (see test/e2e/).
        test: { name: "e2e", environment: "node", include: ["test/e2e/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 300_000 },
      },
      "./vitest.worker.config.ts",
      "./vitest.origin.config.ts",
    ],
  },
});

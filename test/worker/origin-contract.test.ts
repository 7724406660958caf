/**
 * One route contract, two backends: the same suite (test/origin/contract.ts) runs against the stories260K model on
 * the edge (the Worker, through SELF) and against the same model served by llama.cpp's real OpenAI-compatible server
 * as the origin, through the OriginBackend — model id mapped both ways ("stories-origin" ↔ "stories-upstream").
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, inject } from "vitest";
import { loadCatalog } from "../../worker/catalog/catalog.js";
import { OriginBackend } from "../../worker/origin/backend.js";
import { runContractSuite } from "../origin/contract.js";
import { originBaseFetch, seedStories, workerFetch } from "../origin/harness.js";

const llamaUrl = inject("llamaUrl");

// The worker project (vitest.worker.config.ts) also matches this file but has no origin and no such catalog.
describe.skipIf(!llamaUrl)("contract on both backends", () => {
  beforeAll(seedStories);

  runContractSuite("edge (Worker, stories)", workerFetch, "stories");

  if (llamaUrl) { // skipped suites are still collected: only build the origin side where it exists
    const entry = loadCatalog(env.CATALOG).get("stories-origin");
    if (!entry) throw new Error("vitest.origin.config.ts must define the stories-origin catalog entry");
    runContractSuite("origin (OriginBackend → llama.cpp server)", originBaseFetch(new OriginBackend(), entry, { ORIGIN_URL: llamaUrl }), "stories-origin",
      ["stream_usage"]); // llama-cpp-python's server ignores stream_options (vLLM honours it)
  }
});

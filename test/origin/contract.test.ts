/**
 * One route contract, two backends: the same suite (test/origin/contract.ts) runs against the stories model on the
 * edge (the Worker, through SELF) and through the OriginBackend against the real upstream — llama.cpp's
 * OpenAI-compatible server where it is installed, else `ellm serve` (test/origin/global-setup.ts) — model ids mapped
 * both ways ("stories-origin" ↔ "stories-upstream").
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, inject } from "vitest";
import { loadCatalog } from "../../worker/catalog/catalog.js";
import { OriginBackend } from "../../worker/origin/backend.js";
import { runContractSuite, upstreamGaps } from "./contract.js";
import { originBaseFetch, seedStories, workerFetch } from "./harness.js";

const entry = loadCatalog(env.CATALOG).get("stories-origin");
if (!entry) throw new Error("vitest.origin.config.ts must define the stories-origin catalog entry");
const kind = inject("upstreamKind");

describe("contract on both backends", () => {
  beforeAll(seedStories);

  runContractSuite("edge (Worker, stories)", workerFetch, "stories");
  runContractSuite(`origin (OriginBackend → ${kind} server)`, originBaseFetch(new OriginBackend(), entry, { ORIGIN_URL: inject("upstreamUrl") }),
    "stories-origin", upstreamGaps(kind));
});
